#include "authmilter/milter/service_gate.h"

#include <utility>
#include <vector>

namespace authmilter::milter {

ServiceGate::Use::Use(Use&& other) noexcept
    : gate_(std::exchange(other.gate_, nullptr)),
      services_(std::move(other.services_)),
      kind_(other.kind_) {}

ServiceGate::Use& ServiceGate::Use::operator=(Use&& other) noexcept {
  if (this != &other) {
    release();
    gate_ = std::exchange(other.gate_, nullptr);
    services_ = std::move(other.services_);
    kind_ = other.kind_;
  }
  return *this;
}

// The snapshot reference goes before the count: once the count says no use is left, no use
// holds a snapshot either.
void ServiceGate::Use::release() {
  services_.reset();
  if (gate_ != nullptr) std::exchange(gate_, nullptr)->release(kind_);
}

ServiceGate& ServiceGate::process() {
  // Deliberately never destroyed: libmilter's connection threads may still run a callback
  // while the process exits, and they must find the gate (sealed) rather than freed memory.
  static ServiceGate* const gate = new ServiceGate();
  return *gate;
}

void ServiceGate::open(const Services& services) {
  // Not owned: the caller keeps `services` alive (a no-op deleter).
  open(std::shared_ptr<const Services>(&services, [](const Services*) {}));
}

void ServiceGate::open(std::shared_ptr<const Services> services) {
  std::lock_guard lock(mutex_);
  services_ = std::move(services);
  state_ = State::kOpen;
  finished_while_draining_ = 0;
}

std::shared_ptr<const Services> ServiceGate::replace(std::shared_ptr<const Services> services) {
  std::lock_guard lock(mutex_);
  return std::exchange(services_, std::move(services));
}

void ServiceGate::forget_services() {
  std::shared_ptr<const Services> old;
  std::lock_guard lock(mutex_);
  old = std::move(services_);
}

ServiceGate::Use ServiceGate::enter_callback() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kOpen && state_ != State::kDraining) return {};
  ++callbacks_;
  return Use(this, services_, Use::Kind::kCallback);
}

ServiceGate::Use ServiceGate::begin_message() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kOpen) return {};
  ++messages_;
  return Use(this, services_, Use::Kind::kMessage);
}

bool ServiceGate::accepting() {
  std::lock_guard lock(mutex_);
  return state_ == State::kOpen;
}

void ServiceGate::release(Use::Kind kind) {
  {
    std::lock_guard lock(mutex_);
    if (kind == Use::Kind::kCallback) {
      --callbacks_;
    } else {
      --messages_;
      if (state_ == State::kDraining) ++finished_while_draining_;
    }
  }
  changed_.notify_all();
}

void ServiceGate::track(Tracked* connection) {
  std::lock_guard lock(mutex_);
  tracked_.insert(connection);
}

void ServiceGate::untrack(Tracked* connection) {
  std::lock_guard lock(mutex_);
  tracked_.erase(connection);
}

void ServiceGate::close_to_new() {
  std::lock_guard lock(mutex_);
  if (state_ == State::kOpen) state_ = State::kDraining;
}

bool ServiceGate::wait_for_messages(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline, [&] { return messages_ == 0; });
}

bool ServiceGate::seal(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  state_ = State::kSealed;
  return changed_.wait_until(lock, deadline, [&] { return callbacks_ == 0; });
}

std::size_t ServiceGate::cut_remaining() {
  std::vector<Use> dropped;
  {
    std::lock_guard lock(mutex_);
    if (state_ != State::kSealed || callbacks_ != 0) return 0;
    for (Tracked* connection : tracked_) {
      if (Use use = connection->cut()) dropped.push_back(std::move(use));
    }
  }
  return dropped.size();  // released here, outside the lock
}

bool ServiceGate::drained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (state_ != State::kSealed) return false;
  return changed_.wait_until(lock, deadline, [&] { return callbacks_ == 0 && messages_ == 0; });
}

ServiceGate::State ServiceGate::state() {
  std::lock_guard lock(mutex_);
  return state_;
}

std::size_t ServiceGate::messages_in_flight() {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::size_t ServiceGate::connections() {
  std::lock_guard lock(mutex_);
  return tracked_.size();
}

std::size_t ServiceGate::messages_finished_while_draining() {
  std::lock_guard lock(mutex_);
  return finished_while_draining_;
}

}  // namespace authmilter::milter

#include "authmilter/work/future.h"

namespace authmilter::work {
namespace {

const char* describe(NotRun::Reason reason) {
  switch (reason) {
    case NotRun::Reason::kCancelled:
      return "cancelled before it started";
    case NotRun::Reason::kDeadline:
      return "deadline passed before it started";
    case NotRun::Reason::kSaturated:
      return "worker pool queue full";
    case NotRun::Reason::kStopped:
      return "worker pool stopped";
    case NotRun::Reason::kAbandoned:
      return "abandoned by its producer";
  }
  return "not run";
}

}  // namespace

NotRun::NotRun(Reason reason) : std::runtime_error(describe(reason)), reason_(reason) {}

namespace detail {

void StateBase::wake() {
  // Taking the lock orders this wake after a waiter's check of its predicate.
  std::lock_guard lock(mutex_);
  changed_.notify_all();
}

bool StateBase::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

bool StateBase::wait_until(Deadline deadline, const CancelToken* cancel) const {
  // const_cast: a subscription only wakes this state's waiters; it changes no result.
  const CancelToken::Subscription subscription(cancel, const_cast<StateBase&>(*this));
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline,
                      [&] { return ready_ || (cancel != nullptr && cancel->cancelled()); });
  return ready_;
}

void StateBase::wait() const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return ready_; });
}

void StateBase::on_ready(std::function<void()> continuation) {
  {
    std::lock_guard lock(mutex_);
    if (!ready_) {
      continuations_.push_back(std::move(continuation));
      return;
    }
  }
  continuation();
}

bool StateBase::complete(const std::function<void()>& store) {
  std::vector<std::function<void()>> continuations;
  {
    std::lock_guard lock(mutex_);
    if (ready_) return false;
    store();
    ready_ = true;
    continuations.swap(continuations_);
    changed_.notify_all();
  }
  for (auto& continuation : continuations) continuation();
  return true;
}

}  // namespace detail
}  // namespace authmilter::work

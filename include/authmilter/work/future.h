// authmilter::work::Promise / Future — a result that many threads wait for, with a deadline
// and a cancel token, without polling.
//
// What: like std::promise / std::shared_future, but a wait ends at the first of: the result
//   arrives, the deadline passes, or the waiter's CancelToken is cancelled — each wakes the
//   waiter at once (condition variable; the token wakes registered waiters). DNS lookups
//   (dns::PendingAnswer) and the checks queued on the Pool both complete one.
// Also: on_ready() runs a continuation on the thread that completes the result (SenderID
//   queues its PRA check when SPF's result arrives, instead of a thread blocking on it).
// Errors: a promise destroyed without a result completes it with NotRun(kAbandoned); get()
//   rethrows whatever the producer stored (NotRun when a queued task never ran).
// Security: none; values are moved through unchanged.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/work/cancel.h"

namespace authmilter::work {

// Why a result has no value: its task never ran (or its producer went away).
class NotRun : public std::runtime_error {
 public:
  enum class Reason { kCancelled, kDeadline, kSaturated, kStopped, kAbandoned };
  explicit NotRun(Reason reason);
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

namespace detail {

class StateBase : public Wakeable {
 public:
  StateBase() = default;
  virtual ~StateBase() = default;
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;
  void wake() override;
  bool ready() const;
  // True when the result is there; false at `deadline` or when `*cancel` is set first.
  bool wait_until(Deadline deadline, const CancelToken* cancel) const;
  void wait() const;
  void on_ready(std::function<void()> continuation);

 protected:
  // Runs `store` under the lock unless already complete, then wakes waiters and runs the
  // continuations outside the lock. False when the result was already there.
  bool complete(const std::function<void()>& store);

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool ready_ = false;
  std::vector<std::function<void()>> continuations_;
};

template <class T>
class State final : public StateBase {
 public:
  bool set_value(T value) {
    return complete([&] { value_.emplace(std::move(value)); });
  }
  bool set_exception(std::exception_ptr error) {
    return complete([&] { error_ = std::move(error); });
  }
  // Only after ready(): the result no longer changes.
  const T& get() const {
    if (error_) std::rethrow_exception(error_);
    return *value_;
  }

 private:
  std::optional<T> value_;
  std::exception_ptr error_;
};

}  // namespace detail

template <class T>
class Promise;

template <class T>
class Future {
 public:
  Future() = default;

  bool valid() const { return state_ != nullptr; }
  bool ready() const { return state_ && state_->ready(); }
  // True when the result is there; false at `deadline` or on cancel (requires valid()).
  bool wait_until(Deadline deadline, const CancelToken* cancel = nullptr) const {
    return state_->wait_until(deadline, cancel);
  }
  void wait() const { state_->wait(); }
  // Waits without bound, then the value or the producer's exception (NotRun, ...).
  const T& get() const {
    state_->wait();
    return state_->get();
  }
  // Runs `continuation` now when ready, otherwise on the thread that completes the result.
  // It must not throw and must not wait on this future's waiters.
  void on_ready(std::function<void()> continuation) const {
    state_->on_ready(std::move(continuation));
  }

 private:
  friend class Promise<T>;
  explicit Future(std::shared_ptr<detail::State<T>> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::State<T>> state_;
};

template <class T>
class Promise {
 public:
  Promise() : state_(std::make_shared<detail::State<T>>()) {}
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&&) = delete;
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  ~Promise() {
    if (state_ && !state_->ready()) {
      state_->set_exception(std::make_exception_ptr(NotRun(NotRun::Reason::kAbandoned)));
    }
  }

  Future<T> get_future() const { return Future<T>(state_); }
  // The first result wins; later ones are ignored.
  void set_value(T value) { state_->set_value(std::move(value)); }
  void set_exception(std::exception_ptr error) { state_->set_exception(std::move(error)); }

 private:
  std::shared_ptr<detail::State<T>> state_;
};

template <class T>
Future<T> make_ready_future(T value) {
  Promise<T> promise;
  promise.set_value(std::move(value));
  return promise.get_future();
}

}  // namespace authmilter::work

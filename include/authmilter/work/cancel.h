// authmilter::work::CancelToken — one message's "stop now", heard by every wait at once.
//
// What: a Transaction owns one token (shared with the checks it queued on the Pool). cancel()
//   (client gone, MTA abort, end of the Transaction) sets it and wakes every wait registered
//   on it: Future::wait_until() (DNS answers, check results) and the Pool's queue, which then
//   drops the message's tasks that have not started. Nothing polls.
// Use: a wait creates a Subscription for its duration; cancel() calls wake() on every
//   subscriber while holding the token's lock, so a Subscription's destructor returning means
//   the token will not touch its target again (lock order: token, then the target's lock).
// Limits: none beyond one list node per wait in progress.
// Security: none; no input crosses it.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>

namespace authmilter::work {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Something a cancel wakes (a shared state's waiters).
class Wakeable {
 public:
  virtual void wake() = 0;

 protected:
  ~Wakeable() = default;
};

class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Sets the token and wakes every current subscriber. Idempotent; thread-safe.
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // While alive, cancel() calls `target.wake()`. A null token subscribes nothing. Waiters
  // check cancelled() after subscribing, so a cancel just before is not lost.
  class Subscription {
   public:
    Subscription(const CancelToken* token, Wakeable& target);
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    const CancelToken* token_;
    std::list<Wakeable*>::iterator position_;
  };

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  mutable std::list<Wakeable*> subscribers_;
};

}  // namespace authmilter::work

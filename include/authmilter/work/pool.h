// authmilter::work::Pool — the one bounded set of worker threads every check shares.
//
// Why: libspf2 blocks inside its DNS callback, so an SPF evaluation (MAIL FROM, HELO,
//   SenderID's PRA, each OwnDomainSenders include:) needs a thread that may wait. Rather than
//   a thread per check per message, the checks queue here and a fixed number of workers run
//   them; libmilter's thread per connection only queues and, at end of message, waits.
// Deadline and cancel: each task carries its message's deadline and CancelToken. A task whose
//   message is cancelled or past its deadline when a worker takes it is not run: its Future
//   completes with NotRun. Running tasks stop themselves (their DNS waits end at the same
//   deadline or cancel). Waiters use Future::wait_until(), woken by the result or the cancel.
// Limits: `threads` workers (WorkerThreads; 0 = default_threads()), at most `max_queued`
//   waiting tasks (kMaxQueuedPerThread per worker); past that submit() completes the Future
//   at once with NotRun(kSaturated): under overload a check becomes temperror, never a hang
//   and never an unbounded queue.
// Shutdown: the destructor completes queued tasks with NotRun(kStopped), lets running ones
//   finish and joins the workers; it must run before what the tasks use (resolver, checker).
// Security: none; tasks are our own code.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "authmilter/work/cancel.h"
#include "authmilter/work/future.h"

namespace authmilter::work {

// A check stopped by its deadline turns its timed-out lookup into its own temperror just
// after the deadline; collectors wait this much longer for that result (it names the lookup).
inline constexpr std::chrono::milliseconds kSettleGrace{200};

class Pool {
 public:
  static constexpr std::size_t kThreadsPerCore = 4;  // tasks mostly wait on DNS
  static constexpr std::size_t kMinThreads = 4;
  static constexpr std::size_t kMaxThreads = 256;
  static constexpr std::size_t kMaxQueuedPerThread = 256;
  // kThreadsPerCore per core, within [kMinThreads, kMaxThreads].
  static std::size_t default_threads();

  // `threads` 0: default_threads(). `max_queued` 0: threads * kMaxQueuedPerThread.
  explicit Pool(std::size_t threads = 0, std::size_t max_queued = 0);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  std::size_t threads() const { return workers_.size(); }
  std::size_t max_queued() const { return max_queued_; }

  // Queues `task` (a callable returning a value) for a worker; it runs only if `cancel` is
  // not set and `deadline` has not passed when a worker takes it. The task owns what it
  // uses (copies, shared_ptrs): it may run after the submitter is gone.
  template <class F>
  auto submit(Deadline deadline, std::shared_ptr<const CancelToken> cancel, F task)
      -> Future<std::invoke_result_t<F&>> {
    auto job = make_job(deadline, std::move(cancel), std::move(task));
    auto future = job->promise.get_future();
    enqueue(std::move(job));
    return future;
  }

  // As submit(), but queued only once `after` is ready (the task may then read it without
  // waiting): a dependent check holds no worker while it waits. `after` must be a Future
  // this pool completes (a task's result), so it is always completed, at the latest when
  // the pool stops.
  template <class T, class F>
  auto submit_after(const Future<T>& after, Deadline deadline,
                    std::shared_ptr<const CancelToken> cancel, F task)
      -> Future<std::invoke_result_t<F&>> {
    auto job = make_job(deadline, std::move(cancel), std::move(task));
    auto future = job->promise.get_future();
    // std::function needs a copyable callable: the job rides in a shared holder.
    auto held = std::make_shared<std::unique_ptr<Task>>(std::move(job));
    after.on_ready([this, held] { enqueue(std::move(*held)); });
    return future;
  }

 private:
  struct Task {
    Task(Deadline deadline_in, std::shared_ptr<const CancelToken> cancel_in)
        : deadline(deadline_in), cancel(std::move(cancel_in)) {}
    virtual ~Task() = default;
    virtual void run() = 0;
    virtual void skip(NotRun::Reason reason) = 0;
    Deadline deadline;
    std::shared_ptr<const CancelToken> cancel;
  };

  template <class R, class F>
  struct Job final : Task {
    Job(Deadline deadline_in, std::shared_ptr<const CancelToken> cancel_in, F task_in)
        : Task(deadline_in, std::move(cancel_in)), task(std::move(task_in)) {}
    void run() override {
      try {
        promise.set_value(task());
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    }
    void skip(NotRun::Reason reason) override {
      promise.set_exception(std::make_exception_ptr(NotRun(reason)));
    }
    F task;
    Promise<R> promise;
  };

  template <class F>
  static auto make_job(Deadline deadline, std::shared_ptr<const CancelToken> cancel, F task) {
    using R = std::invoke_result_t<F&>;
    static_assert(!std::is_void_v<R>, "a task returns its result");
    return std::make_unique<Job<R, F>>(deadline, std::move(cancel), std::move(task));
  }
  void enqueue(std::unique_ptr<Task> task);
  void work();

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::unique_ptr<Task>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: started once everything above exists
};

}  // namespace authmilter::work

// work::Pool, Future/Promise and CancelToken: results, continuations, cancel waking waiters,
// and the tasks a pool must not run (cancelled, past their deadline, queue full, stopped).
#include "authmilter/work/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace authmilter::work {
namespace {

using namespace std::chrono_literals;

Deadline far() { return Clock::now() + 60s; }

NotRun::Reason not_run_reason(const Future<int>& future) {
  try {
    future.get();
  } catch (const NotRun& e) {
    return e.reason();
  }
  ADD_FAILURE() << "the task ran";
  return NotRun::Reason::kAbandoned;
}

TEST(FutureTest, ValueArrivesAndWaitersSeeIt) {
  Promise<int> promise;
  Future<int> future = promise.get_future();
  EXPECT_TRUE(future.valid());
  EXPECT_FALSE(future.ready());
  std::thread producer([&] { promise.set_value(42); });
  EXPECT_TRUE(future.wait_until(far()));
  producer.join();
  EXPECT_EQ(future.get(), 42);
  promise.set_value(7);  // the first result wins
  EXPECT_EQ(future.get(), 42);
}

TEST(FutureTest, DeadlineEndsTheWait) {
  Promise<int> never;
  EXPECT_FALSE(never.get_future().wait_until(Clock::now() + 5ms));
  // A ready result wins over a deadline already past.
  EXPECT_TRUE(make_ready_future(1).wait_until(Clock::now() - 1s));
}

TEST(FutureTest, CancelWakesEveryWaiterOfTheToken) {
  Promise<int> never;
  const Future<int> future = never.get_future();
  CancelToken cancel;
  std::atomic<int> woken{0};
  std::thread a([&] { woken += future.wait_until(far(), &cancel) ? 0 : 1; });
  std::thread b([&] { woken += future.wait_until(far(), &cancel) ? 0 : 1; });
  std::this_thread::sleep_for(10ms);  // let them wait (not needed for correctness)
  cancel.cancel();                    // both must wake now, long before the 60 s deadline
  a.join();
  b.join();
  EXPECT_EQ(woken.load(), 2);
  EXPECT_TRUE(cancel.cancelled());
  EXPECT_FALSE(future.wait_until(far(), &cancel));  // already cancelled: no wait at all
}

TEST(FutureTest, AnotherTokensCancelDoesNotEndTheWait) {
  Promise<int> promise;
  const Future<int> future = promise.get_future();
  CancelToken mine;
  CancelToken other;
  std::thread producer([&] {
    other.cancel();
    promise.set_value(5);
  });
  EXPECT_TRUE(future.wait_until(far(), &mine));
  producer.join();
  EXPECT_EQ(future.get(), 5);
}

TEST(FutureTest, ContinuationRunsOnCompletionOrAtOnce) {
  Promise<int> promise;
  const Future<int> future = promise.get_future();
  int seen = 0;
  future.on_ready([&] { seen = future.get(); });
  EXPECT_EQ(seen, 0);
  promise.set_value(3);
  EXPECT_EQ(seen, 3);
  int again = 0;
  future.on_ready([&] { again = future.get(); });
  EXPECT_EQ(again, 3);
}

TEST(FutureTest, AbandonedPromiseCompletesWithNotRun) {
  Future<int> future;
  {
    Promise<int> promise;
    future = promise.get_future();
  }
  EXPECT_EQ(not_run_reason(future), NotRun::Reason::kAbandoned);
}

// A pool whose only worker is held by a task until release().
class HeldPool {
 public:
  explicit HeldPool(std::size_t max_queued)
      : pool(1, max_queued), holder(pool.submit(far(), nullptr, [this, future = gate.get_future()] {
          started.set_value(1);
          return future.get();
        })) {
    started.get_future().wait();  // the worker has taken the holder: the queue is empty
  }
  void release() {
    gate.set_value(1);
    holder.wait();
  }
  Promise<int> gate;
  Promise<int> started;
  Pool pool;
  Future<int> holder;
};

TEST(PoolTest, RunsTasksAndCarriesTheirExceptions) {
  Pool pool(2);
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_EQ(pool.max_queued(), 2 * Pool::kMaxQueuedPerThread);
  Future<int> ok = pool.submit(far(), nullptr, [] { return 6 * 7; });
  Future<int> bad = pool.submit(far(), nullptr, []() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(ok.get(), 42);
  EXPECT_THROW(bad.get(), std::runtime_error);
}

TEST(PoolTest, CancelledTaskIsNotRun) {
  HeldPool held(8);
  auto cancel = std::make_shared<CancelToken>();
  std::atomic<bool> ran{false};
  Future<int> queued = held.pool.submit(far(), cancel, [&] {
    ran = true;
    return 1;
  });
  cancel->cancel();
  held.release();
  EXPECT_EQ(not_run_reason(queued), NotRun::Reason::kCancelled);
  EXPECT_FALSE(ran.load());
}

TEST(PoolTest, TaskPastItsDeadlineIsNotRun) {
  HeldPool held(8);
  std::atomic<bool> ran{false};
  Future<int> queued = held.pool.submit(Clock::now() + 1ms, nullptr, [&] {
    ran = true;
    return 1;
  });
  // The waiter gives up at the deadline while the task still waits for the worker.
  EXPECT_FALSE(queued.wait_until(Clock::now() + 20ms));
  held.release();
  EXPECT_EQ(not_run_reason(queued), NotRun::Reason::kDeadline);
  EXPECT_FALSE(ran.load());
}

TEST(PoolTest, FullQueueRefusesAtOnce) {
  HeldPool held(1);
  Future<int> queued = held.pool.submit(far(), nullptr, [] { return 1; });
  Future<int> refused = held.pool.submit(far(), nullptr, [] { return 2; });
  ASSERT_TRUE(refused.ready());  // no wait for a slot: the check becomes temperror now
  EXPECT_EQ(not_run_reason(refused), NotRun::Reason::kSaturated);
  held.release();
  EXPECT_EQ(queued.get(), 1);
}

TEST(PoolTest, StoppingPoolCompletesQueuedTasksUnrun) {
  Future<int> queued;
  {
    HeldPool held(8);
    queued = held.pool.submit(far(), nullptr, [] { return 1; });
    held.gate.set_value(1);  // the held task ends; the pool stops right after
  }
  // Either the worker took it before the stop, or the stop completed it unrun.
  ASSERT_TRUE(queued.ready());
  try {
    EXPECT_EQ(queued.get(), 1);
  } catch (const NotRun& e) {
    EXPECT_EQ(e.reason(), NotRun::Reason::kStopped);
  }
}

TEST(PoolTest, DependentTaskHoldsNoWorkerWhileWaiting) {
  // One worker: if the dependent task took it to wait for its input, the input's task could
  // never run. Queued only once its input is ready, it cannot deadlock.
  Pool pool(1);
  Promise<int> gate;
  Future<int> input = pool.submit(far(), nullptr, [g = gate.get_future()] { return g.get(); });
  Future<int> dependent =
      pool.submit_after(input, far(), nullptr, [input] { return input.get() + 1; });
  Future<int> independent = pool.submit(far(), nullptr, [] { return 9; });
  EXPECT_FALSE(dependent.ready());
  gate.set_value(1);
  EXPECT_EQ(dependent.get(), 2);
  EXPECT_EQ(independent.get(), 9);
}

TEST(PoolTest, DefaultSizeIsSomeThreadsPerCore) {
  const std::size_t n = Pool::default_threads();
  EXPECT_GE(n, Pool::kMinThreads);
  EXPECT_LE(n, Pool::kMaxThreads);
  Pool pool;
  EXPECT_EQ(pool.threads(), n);
}

}  // namespace
}  // namespace authmilter::work

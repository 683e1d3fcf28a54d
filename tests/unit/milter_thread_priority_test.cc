// milter::thread_priority: a thread is lowered only inside a SessionBurst, gets its priority
// back from restore() or when the burst ends (never stays lowered past it), and nothing is
// lowered where the priority could not be given back.
#include "authmilter/milter/thread_priority.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>

namespace authmilter::milter::thread_priority {
namespace {

int nice_now() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); }

// Each test on a thread of its own: its priority changes never touch the test runner's.
template <class Body>
void on_new_thread(Body body) {
  std::thread thread(body);
  thread.join();
}

TEST(ThreadPriority, OutsideASessionBurstNothingIsLowered) {
  on_new_thread([] {
    const int before = nice_now();
    EXPECT_FALSE(lower());
    EXPECT_FALSE(lowered());
    EXPECT_EQ(nice_now(), before);
  });
}

TEST(ThreadPriority, TheEndOfTheBurstGivesThePriorityBack) {
  on_new_thread([] {
    const int before = nice_now();
    {
      const SessionBurst burst;
      if (!can_lower_and_restore()) {
        EXPECT_FALSE(lower());  // it could not be given back: not lowered at all
        EXPECT_EQ(nice_now(), before);
        return;
      }
      ASSERT_TRUE(lower());
      EXPECT_TRUE(lowered());
      EXPECT_EQ(nice_now(), kLoweredNice);
      EXPECT_TRUE(lower());  // already lowered: no change
      EXPECT_EQ(nice_now(), kLoweredNice);
    }
    EXPECT_FALSE(lowered());
    EXPECT_EQ(nice_now(), before);
  });
}

TEST(ThreadPriority, RestoreWithinTheBurstAndNestedBursts) {
  on_new_thread([] {
    if (!can_lower_and_restore()) GTEST_SKIP() << "this process may not restore a priority";
    const int before = nice_now();
    const SessionBurst outer;
    ASSERT_TRUE(lower());
    restore();
    EXPECT_FALSE(lowered());
    EXPECT_EQ(nice_now(), before);
    restore();  // not lowered: nothing
    EXPECT_EQ(nice_now(), before);
    {
      const SessionBurst inner;
      ASSERT_TRUE(lower());
    }
    // Only the outermost burst's end restores: the session's burst goes on.
    EXPECT_TRUE(lowered());
    EXPECT_EQ(nice_now(), kLoweredNice);
    restore();
    EXPECT_EQ(nice_now(), before);
  });
}

// The tests run as root in CI, where giving a priority back is allowed.
TEST(ThreadPriority, RootMayLowerAndRestore) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root";
  EXPECT_TRUE(can_lower_and_restore());
}

}  // namespace
}  // namespace authmilter::milter::thread_priority

#include "authmilter/milter/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <thread>

namespace authmilter::milter::thread_priority {
namespace {

// PRIO_PROCESS with a thread id addresses that one thread on Linux.
id_t this_thread() { return static_cast<id_t>(::gettid()); }

std::optional<int> nice_of_this_thread() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, this_thread());
  if (nice == -1 && errno != 0) return std::nullopt;
  return nice;
}

bool set_nice_of_this_thread(int nice) {
  return ::setpriority(PRIO_PROCESS, this_thread(), nice) == 0;
}

struct ThreadState {
  int bursts = 0;                   // nested SessionBursts on this thread
  std::optional<int> lowered_from;  // the nice value lower() found, while lowered
};

ThreadState& state() {
  thread_local ThreadState this_threads;
  return this_threads;
}

// On a thread of its own, so that a failed give-back leaves no thread of ours lowered.
bool probe() {
  bool answer = false;
  std::thread prober([&answer] {
    const std::optional<int> before = nice_of_this_thread();
    if (!before || *before >= kLoweredNice) return;  // nothing to lower
    if (!set_nice_of_this_thread(kLoweredNice)) return;
    answer = set_nice_of_this_thread(*before);
  });
  prober.join();
  return answer;
}

}  // namespace

bool can_lower_and_restore() {
  static const bool answer = probe();
  return answer;
}

SessionBurst::SessionBurst() { ++state().bursts; }

SessionBurst::~SessionBurst() {
  if (--state().bursts == 0) restore();
}

bool lower() {
  ThreadState& self = state();
  if (self.lowered_from) return true;
  if (self.bursts == 0 || !can_lower_and_restore()) return false;
  const std::optional<int> before = nice_of_this_thread();
  if (!before || *before >= kLoweredNice || !set_nice_of_this_thread(kLoweredNice)) return false;
  self.lowered_from = before;
  return true;
}

void restore() {
  ThreadState& self = state();
  if (!self.lowered_from) return;
  // Cannot fail where the probe succeeded (the same limit allows it); should it, the thread
  // is not lowered again and the next lower() tries once more.
  (void)set_nice_of_this_thread(*self.lowered_from);
  self.lowered_from.reset();
}

bool lowered() { return state().lowered_from.has_value(); }

}  // namespace authmilter::milter::thread_priority

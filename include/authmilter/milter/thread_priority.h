// authmilter::milter::thread_priority — while a large body is read and hashed among other
// messages, the libmilter thread serving its session runs at the lowest CPU priority.
//
// Why: most mail is small, and a small message's verdict should not queue for a core behind
//   the 2 MB body of another. Hashing 2 MB costs 1 ms of SHA-256 and its 32 chunks as many
//   round trips with the MTA; at 16 connections on two cores every thread waits its turn
//   behind them. Lowered to nice 19, the large message's thread gives way to the threads of
//   small messages (and to the MTA), and takes the cores when they are free: a large message
//   takes longer only while the daemon is busy with others (issue 15, docs/PERFORMANCE.md).
// When: the body callbacks (callbacks.cc) lower the thread once a message's body passes
//   kLowPriorityBodyBytes while another message is in flight; the thread gets its priority
//   back at end of message, abort and close.
// Threads: libmilter's worker pool serves a session for a burst of commands (until the MTA is
//   silent for 1 ms), then may give the thread to another session. So lowering works only
//   inside a SessionBurst, which the listener wraps around each burst (listener.cc wraps
//   libmilter's mi_engine), and the thread's priority is restored when the burst ends: no
//   thread goes back to libmilter's pool lowered, and the next burst of the large message
//   lowers its thread again.
// Privilege: lowering needs none; giving the priority back needs RLIMIT_NICE to allow the
//   original nice value (systemd: LimitNICE=+0, which packaging/authmilter.service sets; the
//   daemon raises it itself before dropping root for UserID) or CAP_SYS_NICE. Without it
//   (probed once, on a thread of its own) nothing is lowered.
// State: per thread (what the thread's priority was, whether it is lowered), as the priority
//   itself is; nothing shared between threads beyond the probe's answer.
#pragma once

namespace authmilter::milter::thread_priority {

// The nice value of a lowered thread: the lowest priority of the normal scheduling class.
inline constexpr int kLoweredNice = 19;

// True when this process may lower a thread and give it its priority back. Probed once.
bool can_lower_and_restore();

// The calling thread serves one milter session while this lives: lower() works only then,
// and whatever it lowered is restored when the outermost SessionBurst ends.
class SessionBurst {
 public:
  SessionBurst();
  ~SessionBurst();
  SessionBurst(const SessionBurst&) = delete;
  SessionBurst& operator=(const SessionBurst&) = delete;
};

// Lowers the calling thread until restore() or the end of its SessionBurst. False (and no
// change) outside a SessionBurst or when the priority could not be given back.
bool lower();
// Gives the calling thread the priority it had before lower(); nothing when not lowered.
void restore();
// Whether the calling thread is lowered now.
bool lowered();

}  // namespace authmilter::milter::thread_priority

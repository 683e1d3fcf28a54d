// authmilter::milter listener — libmilter's socket and main loop (smfi_setconn, smfi_opensocket,
// smfi_main, smfi_stop); the callbacks are in callbacks.h.
//
// What: listen() binds the Socket (one parser: config::parse_socket) while privileged, with
//   the UMask for a unix socket; MainLoop runs smfi_main() on its own thread (libmilter then
//   starts one thread per MTA connection) and stop() ends it promptly.
// TCP_NODELAY: libmilter writes two replies in a row at end of message and never sets
//   TCP_NODELAY, so over TCP the second waits for the MTA's delayed ACK (~40 ms a message).
//   libmilter neither takes a socket we made (smfi_setconn takes only a string) nor tells us
//   the descriptor it made, and we see no accepted socket either; but Linux copies TCP_NODELAY
//   from a listening socket to the sockets it accepts. So after smfi_opensocket() we find the
//   listening socket among this process's open descriptors (/proc/self/fd) by what it is: a
//   listening TCP socket bound to our port (at start-up no other exists) and set it there.
// Backlog: kListenBacklog pending connections (the kernel caps it at net.core.somaxconn); a
//   burst of MTA connections beyond the backlog would see its SYNs dropped and retried a
//   second later.
// Stopping: smfi_stop() sets libmilter's stop flag and then waits for the lock its listener
//   holds while it polls (up to 5 s); a connection to our own socket wakes that poll, so
//   stop() connects to it (at most kMaxStopPokes times, 50 ms apart) until smfi_main returns.
// Signals: libmilter's smfi_main starts a thread that sigwait()s for SIGHUP, SIGTERM and
//   SIGINT and stops the milter on any of them (libmilter/signal.c); SIGHUP would stop, not
//   reload, and a SIGTERM taken there would end the listener before the messages in flight
//   had drained. A process-directed signal goes to whichever thread can take it first, so
//   no signal mask of ours kept that thread from winning now and then. So libmilter's
//   sigwait() is wrapped at link time (CMakeLists.txt: libmilter.a, --wrap=sigwait) and waits
//   without kProcessSignals: those are left to the program that runs MainLoop (the daemon's
//   main thread takes them with sigtimedwait).
// Timeouts: libmilter's I/O timeout with the MTA is kMilterIoTimeoutSeconds, longer than
//   Postfix's milter_content_timeout default (300 s), so the MTA, not we, gives up first.
#pragma once

#include <signal.h>

#include <atomic>
#include <string>
#include <thread>

#include "authmilter/config/config.h"

namespace authmilter::milter {

inline constexpr int kMilterIoTimeoutSeconds = 330;
inline constexpr int kListenBacklog = 4096;
inline constexpr int kMaxStopPokes = 200;
// The signals libmilter's signal thread never takes (see Signals above).
inline constexpr int kProcessSignals[] = {SIGHUP, SIGTERM, SIGINT};

// smfi_setconn + smfi_opensocket on `socket`, after register_filter(). Throws
// std::runtime_error naming the socket.
void listen(const config::SocketSpec& socket, unsigned umask_bits);

class MainLoop {
 public:
  explicit MainLoop(config::SocketSpec socket);
  ~MainLoop();  // stop()s
  MainLoop(const MainLoop&) = delete;
  MainLoop& operator=(const MainLoop&) = delete;

  // smfi_main returned (by stop(), or on its own after an error)?
  bool finished() const { return finished_.load(); }
  // Stops accepting and waits for smfi_main to return. Returns 0 when it ended cleanly.
  int stop();

 private:
  config::SocketSpec socket_;
  std::atomic<bool> finished_{false};
  int result_ = 0;
  std::thread thread_;
  bool stopped_ = false;
};

// libmilter's version as "major.minor.patch".
std::string libmilter_version();

}  // namespace authmilter::milter

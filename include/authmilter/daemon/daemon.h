// authmilter::daemon — the milter daemon's life: start-up, serving, and a provable stop.
//
// Start-up order: shutdown signals blocked before any thread; the socket bound (listener.h)
//   while privileged; fork (unless foreground) before any thread; PidFile written and the data
//   files read (ServiceFiles) while privileged; UserID drops privileges; only then the
//   resolver thread, the services (ServiceSet) and libmilter's threads start. The soft limit
//   on open files is raised to the hard limit (each MTA connection holds a descriptor).
// Stop (SIGTERM/SIGINT): log it; the ServiceGate refuses new connections and messages
//   (451 4.3.2); libmilter stops accepting; messages in flight get until MessageTimeout +
//   kDrainGrace to finish; then the gate is sealed, callbacks still running get as long
//   again, messages still open are cut (the MTA gets no verdict and applies its own default);
//   only when no use of the services is left are they destroyed. The stop line logs the
//   messages drained and cut and the connections still open. Exit 0 after a clean stop; if a
//   callback is stuck past its bound the services are left alive and the process exits 1
//   without running destructors (they could still be in use).
// SIGHUP: logged; reloading the configuration is not supported (restart to apply).
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

#include "authmilter/config/config.h"

namespace authmilter::daemon {

inline constexpr std::chrono::seconds kDrainGrace{5};

struct RunOptions {
  bool foreground = false;  // -f: no fork, logs to stderr
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (inherited by threads it starts
// later), so the daemon's main thread receives them with sigtimedwait; ignores SIGPIPE.
void block_shutdown_signals();

// Runs the daemon until SIGTERM/SIGINT. Returns the exit code; errors go to `err` and the log.
int run(const config::Config& config, const RunOptions& options, std::ostream& err);

}  // namespace authmilter::daemon

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
// SIGHUP (systemctl reload): reload. The file is read and checked and the services built
//   from it (ServiceFiles are read again, now as UserID); anything wrong is logged
//   (event=reload result=refused why=...) and the old configuration stays in force. Otherwise
//   the new snapshot serves every message whose MAIL FROM comes after it, while messages in
//   flight finish on the one they began with (milter::ServiceGate); an old snapshot is freed
//   by the main thread once no message holds it. Keys that only a restart can change
//   (kRestartOnlyKeys) keep their running values; those that differ are named in the log
//   (restart_needed=...). LogLevel applies at once; a connection's trust (InternalHosts,
//   TrustedRelays) is decided at its connect.
// Service manager: sd_notify READY/RELOADING/STOPPING and the watchdog (notify.h).
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/config/config.h"

namespace authmilter::daemon {

inline constexpr std::chrono::seconds kDrainGrace{5};

struct RunOptions {
  bool foreground = false;  // -f: no fork, logs to stderr
  std::string config_path;  // read again on SIGHUP
  bool verbose = false;     // -v: LogLevel debug, kept across reloads
};

// The keys a reload cannot change: the socket, the process's identity and files, the logger's
// sink, and the shared resolver (its servers, timeout and cache live as long as the process).
inline constexpr std::string_view kRestartOnlyKeys[] = {
    "Socket",     "UserID",     "UMask",     "PidFile",     "Syslog",
    "DNSServers", "DNSTimeout", "CacheSize", "CacheMaxTTL", "MetricsListen"};

// The restart-only keys whose values differ between `running` and `next`, in table order.
std::vector<std::string> restart_only_changes(const config::Config& running,
                                              const config::Config& next);
// `next` with the restart-only keys set to their `running` values.
config::Config keep_restart_only(const config::Config& running, config::Config next);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (inherited by threads it starts
// later), so the daemon's main thread receives them with sigtimedwait; ignores SIGPIPE.
void block_shutdown_signals();

// Runs the daemon until SIGTERM/SIGINT. Returns the exit code; errors go to `err` and the log.
int run(const config::Config& config, const RunOptions& options, std::ostream& err);

}  // namespace authmilter::daemon

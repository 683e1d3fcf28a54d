// authmilter::daemon::ServiceNotifier — tells the service manager (systemd, sd_notify(3)) how
// the daemon is doing.
//
// What: READY=1 once the milter socket is open and the services serve; RELOADING=1 (with
//   MONOTONIC_USEC, which systemd 253+ wants for Type=notify-reload and 252 ignores) and then
//   READY=1 around a reload (STATUS= says whether the new file was taken); STOPPING=1 when a
//   stop begins; WATCHDOG=1 every half of WATCHDOG_USEC when the unit sets WatchdogSec, sent by
//   the daemon's main thread from its signal loop, so a hung main loop stops the pings.
// Unit: packaging/authmilter.service is Type=notify with ExecReload=kill -HUP $MAINPID. Debian
//   12's systemd 252 does not know Type=notify-reload (added in 253), so Type=notify it is.
// Without a service manager (no NOTIFY_SOCKET) every call is a no-op. libsystemd reads
//   NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; we leave them in the environment.
// Security: the messages carry no input from mail, only fixed words and our counts.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace authmilter::daemon {

class ServiceNotifier {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads WATCHDOG_USEC (via sd_watchdog_enabled) once.
  ServiceNotifier();

  void ready(std::string_view status);
  void reloading();
  void stopping();
  // The interval between watchdog pings (half of WATCHDOG_USEC); nullopt without a watchdog.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_interval_; }
  // Sends WATCHDOG=1 when the interval has passed since the last ping (or never pinged).
  void watchdog_tick(Clock::time_point now);

 private:
  void send(const char* state);

  std::optional<std::chrono::microseconds> watchdog_interval_;
  std::optional<Clock::time_point> last_ping_;
};

}  // namespace authmilter::daemon

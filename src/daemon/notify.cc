#include "authmilter/daemon/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

namespace authmilter::daemon {
namespace {

// CLOCK_MONOTONIC in microseconds, as RELOADING=1's MONOTONIC_USEC wants it.
std::uint64_t monotonic_usec() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
  }
}

void ServiceNotifier::send(const char* state) {
  const int rc = sd_notify(0, state);
  if (rc < 0) spdlog::warn("sd_notify failed: {}", std::strerror(-rc));
}

void ServiceNotifier::ready(std::string_view status) {
  const std::string state = "READY=1\nSTATUS=" + std::string(status);
  send(state.c_str());
}

void ServiceNotifier::reloading() {
  const std::string state = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec());
  send(state.c_str());
}

void ServiceNotifier::stopping() { send("STOPPING=1"); }

void ServiceNotifier::watchdog_tick(Clock::time_point now) {
  if (!watchdog_interval_) return;
  if (last_ping_ && now - *last_ping_ < *watchdog_interval_) return;
  last_ping_ = now;
  send("WATCHDOG=1");
}

}  // namespace authmilter::daemon

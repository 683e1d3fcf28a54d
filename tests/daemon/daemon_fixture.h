// authmilter::testing DaemonProcess — the authmilter binary of this build, started in the
// foreground on a loopback port, for tests that talk the milter protocol to it directly.
//
// What: writes a config (Socket inet on a free loopback port, AuthservID mx.example.net,
//   DNSServers a loopback port where nothing answers, so every lookup fails fast and every
//   check is temperror; short DNSTimeout and MessageTimeout), runs `authmilter -f -c FILE`
//   with its output in a file, and waits until it accepts connections. Sanitizer builds: a
//   report makes the daemon exit 23 (ASAN_OPTIONS exitcode), so tests that require exit 0
//   also require no report.
// Bounds: start-up kDaemonStartTimeout; stop() waits the given grace, then SIGKILL.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "authmilter_daemon.h"
#include "process.h"

namespace authmilter::testing {

class DaemonProcess {
 public:
  // `extra_config`: more "Key value" lines; `extra_env`: "NAME=value" for the daemon.
  explicit DaemonProcess(const std::string& extra_config = "",
                         const std::vector<std::string>& extra_env = {});
  ~DaemonProcess();

  // The config file the daemon reads (again on SIGHUP), and the text it started with.
  std::filesystem::path config_path() const { return dir_ / "authmilter.conf"; }
  const std::string& config_text() const { return config_text_; }
  // A scratch directory removed with the fixture.
  const std::filesystem::path& dir() const { return dir_; }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string log() const;
  // Waits (bounded by `within`) until the log holds `text`.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds within) const;
  // SIGTERM, then up to `grace` for the exit.
  integration::ExitStatus stop(std::chrono::milliseconds grace);

 private:
  std::filesystem::path dir_;
  std::string config_text_;
  std::uint16_t port_ = 0;
  integration::ChildProcess process_;
};

}  // namespace authmilter::testing

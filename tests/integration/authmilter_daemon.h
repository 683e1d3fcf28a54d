// authmilter::integration authmilter_daemon — the daemon under test, as a child process.
//
// What: writes a config file (DESIGN §7) and runs `authmilter -f -c FILE` (foreground, logs
//   to stderr, captured in a file), waits until its milter socket accepts connections, and
//   stops it with SIGTERM, reporting how it exited (tests require exit 0 within
//   kDaemonStopTimeout: a clean shutdown, no crash, no sanitizer report).
// Binary: authmilter_binary() is $AUTHMILTER_BINARY when set, else the path CMake compiled
//   in (AUTHMILTER_BINARY, the authmilter target); empty when neither exists.
// Limits: start-up bounded by kDaemonStartTimeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "process.h"

namespace authmilter::integration {

inline constexpr std::chrono::seconds kDaemonStartTimeout{15};
inline constexpr std::chrono::seconds kDaemonStopTimeout{5};

std::string authmilter_binary();

class AuthmilterDaemon {
 public:
  // Starts the daemon with `config` (the file's full text) written to `config_path`;
  // throws std::runtime_error with the daemon's output when it does not come up.
  static std::unique_ptr<AuthmilterDaemon> start(const std::string& binary,
                                                 const std::filesystem::path& config_path,
                                                 const std::filesystem::path& log_path,
                                                 std::uint16_t port, const std::string& config);
  ~AuthmilterDaemon();

  // SIGTERM; waits kDaemonStopTimeout, then SIGKILL. The status says which happened.
  ExitStatus stop();
  // Still running (not exited, not crashed)?
  bool running();
  std::string log() const;

 private:
  AuthmilterDaemon() = default;
  std::filesystem::path log_path_;
  ChildProcess process_;
};

}  // namespace authmilter::integration

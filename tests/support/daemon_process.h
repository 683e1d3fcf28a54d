// The authmilter daemon of the build as a child process, with what /proc says about it, for
// benchmarks and the soak program (tests/bench, tests/soak).
//
// What: DaemonProcess runs `authmilter -f -c CONFIG` (foreground) with stderr sent to a file
//   (or /dev/null), reports whether it is still running and how it ended, and stops it with
//   SIGTERM (SIGKILL after kStopTimeout) on destruction. The child inherits the caller's
//   resource limits, so raise RLIMIT_NOFILE before starting it when it must hold many
//   connections. ProcStatus reads /proc/PID: VmRSS and VmHWM (status), the number of open
//   file descriptors (fd/) and threads (task/), and user+system CPU time (stat).
// Limits: stop() waits at most kStopTimeout before SIGKILL. Linux only (/proc).
// Security: test code only; the config and paths are the caller's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace authmilter::test_support {

struct ProcStatus {
  std::uint64_t rss_kb = 0;  // VmRSS
  std::uint64_t hwm_kb = 0;  // VmHWM, the peak of VmRSS
  std::size_t fds = 0;       // entries of /proc/PID/fd
  std::size_t threads = 0;   // entries of /proc/PID/task
};

// nullopt when the process is gone.
std::optional<ProcStatus> read_proc_status(pid_t pid);
// User + system CPU seconds so far (/proc/PID/stat fields 14 and 15); 0 when unreadable.
double cpu_seconds(pid_t pid);

class DaemonProcess {
 public:
  static constexpr std::chrono::seconds kStopTimeout{5};

  // `stderr_path` empty: /dev/null. Throws std::runtime_error when the spawn fails.
  DaemonProcess(const std::string& binary, const std::string& config_path,
                const std::string& stderr_path = "");
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Not yet exited (reaps it when it has).
  bool running();
  // SIGTERM, then waits up to kStopTimeout (SIGKILL after that). Returns the wait status
  // (WIFEXITED/WIFSIGNALED...); `killed` says whether SIGKILL was needed.
  int stop(bool* killed = nullptr);
  // The wait status once the process has ended (running() false or stop() called).
  std::optional<int> exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Describes a wait status: "exit 0", "signal 11 (Segmentation fault)".
std::string describe_wait_status(int status);

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick).
std::uint16_t free_loopback_port();

// The smallest daemon configuration a load test needs: the milter `socket`, the loopback DNS
// server `dns` ("127.0.0.1:PORT"), a fixed AuthservID and the log on stderr.
std::string load_test_daemon_config(const std::string& socket, const std::string& dns);

}  // namespace authmilter::test_support

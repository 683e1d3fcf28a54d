// authmilter::integration process — child processes of the integration harness.
//
// What: starts servers (nsd, Postfix's master, the authmilter daemon) as direct children in
//   their own session, so a stop signal reaches only them and a last-resort SIGKILL can take
//   their whole process group; runs short commands (postfix check, postcat) with a time
//   limit and captured output.
// Crash safety: children get PR_SET_PDEATHSIG(SIGKILL), so servers do not outlive a test
//   binary that crashes; Postfix's own daemons exit when their master goes away.
// Limits: every wait is bounded by the caller's timeout; captured output is capped at
//   kMaxCapturedOutput bytes.
// Security: only processes started here are ever signalled, always by their pid/pgid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace authmilter::integration {

inline constexpr std::size_t kMaxCapturedOutput = 4 * 1024 * 1024;

struct ExitStatus {
  bool exited = false;  // normal exit (then `code`), else killed by `signal`
  int code = -1;
  int signal = 0;

  bool success() const { return exited && code == 0; }
  std::string describe() const;  // "exit 0", "killed by signal 9 (Killed)"
};

class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> argv;       // argv[0] is the program path
    std::vector<std::string> extra_env;  // "NAME=value", added to this process's environment
    std::string output_file;             // stdout+stderr go here (appended); empty: /dev/null
    std::string working_directory;       // empty: keep ours
  };

  // Starts the child; throws std::runtime_error when fork or exec fails.
  static ChildProcess spawn(const Options& options);

  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // A child still running is killed (SIGKILL to its process group) and reaped.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // Reaps the child if it has exited; nullopt while it runs.
  std::optional<ExitStatus> poll();
  // Waits at most `timeout` for the child to exit.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // Sends `signal` to the child, waits up to `grace`, then SIGKILLs its process group.
  // The status tells whether it went quietly (exit) or had to be killed.
  ExitStatus stop(int signal, std::chrono::milliseconds grace);
  // SIGKILL to the child's whole process group (its session), then reap.
  void kill_group();

 private:
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

struct CommandResult {
  ExitStatus status;
  std::string output;  // stdout and stderr interleaved, capped at kMaxCapturedOutput
  bool timed_out = false;
  bool ok() const { return !timed_out && status.success(); }
};

// Runs argv (argv[0] a path) to completion, killing it when `timeout` passes first.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Reads a whole file; empty when it does not exist.
std::string read_file(const std::string& path);
// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, std::size_t lines);

}  // namespace authmilter::integration

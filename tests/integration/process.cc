#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "net.h"

extern char** environ;

namespace authmilter::integration {
namespace {

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
  }
  return s;
}

// Everything the child needs is prepared before fork(): after fork in a threaded process
// only async-signal-safe calls are allowed until exec.
struct PreparedExec {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

PreparedExec prepare(const std::vector<std::string>& argv,
                     const std::vector<std::string>& extra_env) {
  if (argv.empty()) throw std::runtime_error("spawn: empty argv");
  PreparedExec p;
  p.argv_storage = argv;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = std::any_of(extra_env.begin(), extra_env.end(), [&](const std::string& x) {
      return std::string_view(x).substr(0, x.find('=')) == name;
    });
    if (!overridden) p.env_storage.emplace_back(entry);
  }
  p.env_storage.insert(p.env_storage.end(), extra_env.begin(), extra_env.end());
  for (auto& a : p.argv_storage) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.env_storage) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  return p;
}

// In the child: own session (so signals to our group never reach the test binary and
// Postfix's master can signal its group), die with the parent, redirect output, exec.
[[noreturn]] void exec_child(const PreparedExec& p, int out_fd, const char* cwd, pid_t parent) {
  ::setsid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  if (out_fd >= 0) {
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
  } else {
    int null_out = ::open("/dev/null", O_WRONLY);
    if (null_out >= 0) {
      ::dup2(null_out, 1);
      ::dup2(null_out, 2);
    }
  }
  if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(126);
  ::execve(p.argv[0], p.argv.data(), p.envp.data());
  static const char kMsg[] = "exec failed\n";
  [[maybe_unused]] auto ignored = ::write(2, kMsg, sizeof kMsg - 1);
  ::_exit(127);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit " + std::to_string(code);
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  return "unknown status";
}

ChildProcess ChildProcess::spawn(const Options& options) {
  PreparedExec p = prepare(options.argv, options.extra_env);
  UniqueFd out;
  if (!options.output_file.empty()) {
    out.reset(::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!out.valid()) {
      throw std::runtime_error("open " + options.output_file + ": " + std::strerror(errno));
    }
  }
  const char* cwd = options.working_directory.empty() ? nullptr : options.working_directory.c_str();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(p, out.get(), cwd, parent);
  ChildProcess child;
  child.pid_ = pid;
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (started() && !status_) kill_group();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (started() && !status_) kill_group();
}

std::optional<ExitStatus> ChildProcess::poll() {
  if (status_ || !started()) return status_;
  int wstatus = 0;
  pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) status_ = decode(wstatus);
  if (r < 0 && errno == ECHILD) status_ = ExitStatus{};  // reaped elsewhere: treat as gone
  return status_;
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  Deadline deadline = deadline_in(timeout);
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (auto s = poll()) return s;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

ExitStatus ChildProcess::stop(int signal, std::chrono::milliseconds grace) {
  if (!started()) return ExitStatus{};
  if (!poll()) ::kill(pid_, signal);
  if (auto s = wait_for(grace)) return *s;
  kill_group();
  return status_.value_or(ExitStatus{});
}

void ChildProcess::kill_group() {
  if (!started() || status_) return;
  ::kill(-pid_, SIGKILL);  // the child is its session's and process group's leader
  ::kill(pid_, SIGKILL);
  wait_for(std::chrono::seconds(5));
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  PreparedExec p = prepare(argv, {});
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(p, write_end.get(), nullptr, parent);
  write_end.reset();

  CommandResult result;
  Deadline deadline = deadline_in(timeout);
  while (true) {
    Readiness r = wait_readable(read_end.get(), deadline);
    if (r == Readiness::kTimeout) {
      result.timed_out = true;
      break;
    }
    char chunk[8192];
    ssize_t n = ::read(read_end.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the command (and anything it forked holding the pipe) is done
    if (result.output.size() < kMaxCapturedOutput) {
      result.output.append(chunk, static_cast<std::size_t>(n));
    }
  }
  int wstatus = 0;
  auto reap = [&](std::chrono::milliseconds within) {
    Deadline until = deadline_in(within);
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
      if (r == pid) return true;
      if (r < 0 || Clock::now() >= until) return false;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
  };
  if (result.timed_out || !reap(std::max(std::chrono::milliseconds(0),
                                         std::chrono::duration_cast<std::chrono::milliseconds>(
                                             deadline - Clock::now())))) {
    result.timed_out = true;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    reap(std::chrono::seconds(5));
  }
  result.status = decode(wstatus);
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  if (lines == 0) return {};
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  std::size_t pos = end;
  std::size_t seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  return text.substr(pos);
}

}  // namespace authmilter::integration

#include "authmilter/daemon/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "authmilter/daemon/service_set.h"
#include "authmilter/log/log.h"
#include "authmilter/milter/callbacks.h"
#include "authmilter/milter/listener.h"
#include "authmilter/milter/service_gate.h"

namespace authmilter::daemon {
namespace {

using Clock = std::chrono::steady_clock;

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// fork once, the parent exits; the child leaves the terminal's session. Called before any
// thread exists.
void daemonize() {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid > 0) _exit(0);
  if (setsid() < 0) throw std::runtime_error(std::string("setsid: ") + std::strerror(errno));
  if (chdir("/") != 0) throw std::runtime_error(std::string("chdir /: ") + std::strerror(errno));
  const int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
}

void write_pid_file(const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out || !(out << getpid() << "\n")) {
    throw std::runtime_error("cannot write PidFile " + path);
  }
}

// UserID: "user" or "user:group". The unix socket is handed to that user first, so the MTA
// (added to the group) can still reach it.
void drop_privileges(const std::string& user_id, const std::string& socket_path) {
  const std::size_t colon = user_id.find(':');
  const std::string user = user_id.substr(0, colon);
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) throw std::runtime_error("UserID: no such user " + user);
  gid_t gid = pw->pw_gid;
  if (colon != std::string::npos) {
    const group* gr = getgrnam(user_id.substr(colon + 1).c_str());
    if (gr == nullptr)
      throw std::runtime_error("UserID: no such group " + user_id.substr(colon + 1));
    gid = gr->gr_gid;
  }
  if (!socket_path.empty() && chown(socket_path.c_str(), pw->pw_uid, gid) != 0) {
    throw std::runtime_error("chown " + socket_path + ": " + std::strerror(errno));
  }
  if (getuid() == pw->pw_uid && getgid() == gid) return;
  if (initgroups(user.c_str(), gid) != 0 || setgid(gid) != 0 || setuid(pw->pw_uid) != 0) {
    throw std::runtime_error("cannot become " + user_id + ": " + std::strerror(errno));
  }
  if (setuid(0) == 0) throw std::runtime_error("privileges were not dropped");
}

// Each MTA connection holds a descriptor: allow as many as the hard limit does.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("could not raise the open-file limit: {}", std::strerror(errno));
  }
}

enum class StopCause { kSignal, kListenerEnded };

// Waits for SIGTERM/SIGINT, or for libmilter's loop to end on its own (its signal thread may
// take the signal, or the listener failed). Linux hands a process-directed signal to a thread
// waiting for it in sigtimedwait, so we usually see it first.
StopCause wait_for_stop(const milter::MainLoop& loop) {
  const sigset_t set = shutdown_signals();
  const timespec tick{0, 200 * 1000 * 1000};
  while (!loop.finished()) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGHUP) {
      spdlog::info("event=sighup note=\"configuration reload is not supported; restart to apply\"");
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}", log::fields({{"event", "signal"},
                                      {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}}));
      return StopCause::kSignal;
    }
  }
  return StopCause::kListenerEnded;
}

// Serves until a stop, then drains as daemon.h says. Returns the exit code, or exits at once
// (1, destructors skipped) when a callback outlives its bound.
int serve(const config::Config& config, const config::SocketSpec& socket,
          std::unique_ptr<ServiceSet> services, std::unique_ptr<dns::CaresResolver> resolver) {
  milter::ServiceGate& gate = milter::ServiceGate::process();
  gate.open(services->services());
  milter::MainLoop loop(socket);
  const StopCause cause = wait_for_stop(loop);
  // Debian's libmilter runs its sessions on a worker pool whose controller stops with the
  // listener: after smfi_stop() no callback runs for an open connection any more. So libmilter
  // keeps serving while the messages in flight finish; meanwhile the gate answers new
  // connections and new messages with 451 4.3.2 (the listener still accepts them).
  gate.close_to_new();
  const std::size_t open_at_stop = gate.messages_in_flight();
  const auto bound = config.message_timeout + kDrainGrace;
  spdlog::info("{}", log::fields({{"event", "draining"},
                                  {"messages_in_flight", std::to_string(open_at_stop)},
                                  {"connections_open", std::to_string(gate.connections())},
                                  {"bound_ms", std::to_string(bound.count())}}));
  const bool all_finished = gate.wait_for_messages(Clock::now() + bound);
  if (!gate.seal(Clock::now() + bound)) {
    spdlog::critical("{}", log::fields({{"event", "stop_forced"},
                                        {"reason", "a callback ran past MessageTimeout"}}));
    spdlog::shutdown();
    std::_Exit(1);
  }
  const int loop_rc = loop.stop();
  const std::size_t drained = gate.messages_finished_while_draining();
  const std::size_t connections = gate.connections();
  const std::size_t cut = all_finished ? 0 : gate.cut_remaining();
  if (!gate.drained(Clock::now() + kDrainGrace)) {
    spdlog::critical(
        "{}", log::fields({{"event", "stop_forced"}, {"reason", "a cut message did not end"}}));
    spdlog::shutdown();
    std::_Exit(1);
  }
  // No callback runs and none can start, no Transaction exists: the services may go.
  services.reset();
  resolver.reset();
  spdlog::info("{}", log::fields({{"event", "stop"},
                                  {"cause", cause == StopCause::kSignal ? "signal" : "listener"},
                                  {"messages_in_flight", std::to_string(open_at_stop)},
                                  {"drained", std::to_string(drained)},
                                  {"cut", std::to_string(cut)},
                                  {"connections_open", std::to_string(connections)}}));
  return loop_rc;
}

}  // namespace

void block_shutdown_signals() {
  const sigset_t set = shutdown_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }
  signal(SIGPIPE, SIG_IGN);
}

int run(const config::Config& config, const RunOptions& options, std::ostream& err) {
  try {
    const std::optional<config::SocketSpec> socket = config::parse_socket(config.socket);
    if (!socket) throw std::runtime_error("invalid Socket: " + config.socket);
    const std::string unix_path =
        socket->kind == config::SocketSpec::Kind::kUnix ? socket->path : std::string();
    block_shutdown_signals();
    log::setup(log::Sink::kStderr, config.log_level);
    milter::register_filter();
    milter::listen(*socket, config.umask);
    if (!options.foreground) daemonize();
    if (!options.foreground && config.syslog) {
      spdlog::drop("authmilter");
      log::setup(log::Sink::kSyslog, config.log_level);
    }
    if (!config.pid_file.empty()) write_pid_file(config.pid_file);
    // Secrets and data files are read while still privileged.
    ServiceFiles files = ServiceFiles::load(config);
    if (!config.user_id.empty()) drop_privileges(config.user_id, unix_path);
    raise_open_file_limit();

    // Threads start only now: after fork and after the privilege drop.
    std::unique_ptr<dns::CaresResolver> resolver = make_resolver(config);
    auto services = std::make_unique<ServiceSet>(config, *resolver, std::move(files));
    spdlog::info("{}", log::fields({{"event", "start"},
                                    {"version", AUTHMILTER_VERSION},
                                    {"socket", config.socket},
                                    {"authserv_id", config.authserv_id},
                                    {"libmilter", milter::libmilter_version()}}));
    const int rc = serve(config, *socket, std::move(services), std::move(resolver));
    if (!config.pid_file.empty()) unlink(config.pid_file.c_str());
    if (!unix_path.empty()) unlink(unix_path.c_str());
    return rc;
  } catch (const std::exception& e) {
    if (spdlog::default_logger()) spdlog::critical("{}", e.what());
    err << "authmilter: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace authmilter::daemon

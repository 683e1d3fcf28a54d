#include "authmilter/daemon/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "authmilter/daemon/metrics_server.h"
#include "authmilter/daemon/notify.h"
#include "authmilter/daemon/service_set.h"
#include "authmilter/log/log.h"
#include "authmilter/milter/callbacks.h"
#include "authmilter/milter/listener.h"
#include "authmilter/milter/service_gate.h"
#include "authmilter/milter/thread_priority.h"

namespace authmilter::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// SIGTERM, SIGINT and SIGHUP: the signals libmilter's signal thread leaves to us.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : milter::kProcessSignals) sigaddset(&set, sig);
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

// A thread lowered for a large body (milter/thread_priority.h) gets its priority back only if
// RLIMIT_NICE allows the process's nice value; root raises the limit before it leaves.
void allow_restoring_thread_priority() {
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, 0);
  if (nice == -1 && errno != 0) return;
  const auto needed = static_cast<rlim_t>(20 - nice);
  rlimit limit{};
  if (getrlimit(RLIMIT_NICE, &limit) != 0 || limit.rlim_cur >= needed) return;
  limit.rlim_cur = needed;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) limit.rlim_max = needed;
  (void)setrlimit(RLIMIT_NICE, &limit);  // not root after all: the daemon logs it (run())
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
  allow_restoring_thread_priority();
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

// The services of one configuration, as the gate hands them out: shares ownership of the
// ServiceSet they live in.
std::shared_ptr<const milter::Services> services_of(const std::shared_ptr<const ServiceSet>& set) {
  return std::shared_ptr<const milter::Services>(set, &set->services());
}

void set_log_level(const std::string& level) {
  spdlog::default_logger()->set_level(
      spdlog::level::from_str(level == "warning" ? std::string("warn") : level));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// What serve() runs on: the configuration in force and its services, the snapshots replaced
// by reloads (freed here once no message holds them), and the service manager.
class Server {
 public:
  Server(const RunOptions& options, std::shared_ptr<const ServiceSet> current,
         dns::Resolver& resolver, metrics::MessageMetrics* metrics)
      : options_(options), current_(std::move(current)), resolver_(resolver), metrics_(metrics) {}

  const config::Config& config() const { return current_->config(); }
  const std::shared_ptr<const ServiceSet>& current() const { return current_; }
  ServiceNotifier& notifier() { return notifier_; }

  // SIGHUP: see daemon.h.
  void reload() {
    notifier_.reloading();
    const config::Config& running = current_->config();
    std::shared_ptr<const ServiceSet> next;
    std::vector<std::string> restart_needed;
    try {
      config::Config loaded = config::load(options_.config_path);
      restart_needed = restart_only_changes(running, loaded);
      loaded = keep_restart_only(running, std::move(loaded));
      if (options_.verbose) loaded.log_level = "debug";
      ServiceFiles files = ServiceFiles::load(loaded);
      next = std::make_shared<const ServiceSet>(std::move(loaded), resolver_, std::move(files),
                                                metrics_);
    } catch (const std::exception& e) {
      spdlog::error("{}", log::fields({{"event", "reload"},
                                       {"result", "refused"},
                                       {"file", options_.config_path},
                                       {"why", e.what()},
                                       {"note", "the running configuration stays in force"}}));
      notifier_.ready("reload refused: " + std::string(e.what()));
      return;
    }
    // The gate's reference to the old snapshot is dropped here; current_ still holds it.
    (void)milter::ServiceGate::process().replace(services_of(next));
    retired_.push_back(std::move(current_));
    current_ = std::move(next);
    set_log_level(current_->config().log_level);
    spdlog::info("{}", log::fields({{"event", "reload"},
                                    {"result", "applied"},
                                    {"file", options_.config_path},
                                    {"authserv_id", current_->config().authserv_id},
                                    {"restart_needed", join(restart_needed)}}));
    if (!restart_needed.empty()) {
      spdlog::warn("{}", log::fields({{"event", "reload"},
                                      {"note",
                                       "these keys changed but apply only after a "
                                       "restart: " +
                                           join(restart_needed)}}));
    }
    notifier_.ready("reloaded");
  }

  // Frees the replaced snapshots no message holds any more (on this thread, never on one of
  // libmilter's).
  void free_retired() {
    std::erase_if(retired_, [](const std::shared_ptr<const ServiceSet>& set) {
      return set.use_count() == 1;
    });
  }
  std::size_t retired() const { return retired_.size(); }

  // After the gate drained: every snapshot goes, before the resolver.
  void release_all() {
    retired_.clear();
    current_.reset();
  }

 private:
  const RunOptions& options_;
  std::shared_ptr<const ServiceSet> current_;
  dns::Resolver& resolver_;
  metrics::MessageMetrics* metrics_;
  std::vector<std::shared_ptr<const ServiceSet>> retired_;
  ServiceNotifier notifier_;
};

// Waits for SIGTERM/SIGINT, or for libmilter's loop to end on its own (the listener failed);
// reloads on SIGHUP, pings the watchdog and frees retired snapshots meanwhile. Every thread
// blocks the three signals and libmilter's signal thread does not wait for them (listener.h,
// Signals), so each one sent to the process is taken here, however late.
StopCause wait_for_stop(const milter::MainLoop& loop, Server& server) {
  const sigset_t set = shutdown_signals();
  std::chrono::nanoseconds tick = std::chrono::milliseconds(200);
  if (const auto interval = server.notifier().watchdog_interval()) {
    tick = std::min<std::chrono::nanoseconds>(tick, *interval);
  }
  const auto tick_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick).count();
  const timespec wait{static_cast<time_t>(tick_ns / 1000000000),
                      static_cast<long>(tick_ns % 1000000000)};
  while (!loop.finished()) {
    server.notifier().watchdog_tick(Clock::now());
    const int sig = sigtimedwait(&set, nullptr, &wait);
    if (sig == SIGHUP) {
      spdlog::info("{}", log::fields({{"event", "signal"}, {"signal", "SIGHUP"}}));
      server.reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}", log::fields({{"event", "signal"},
                                      {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}}));
      return StopCause::kSignal;
    }
    server.free_retired();
  }
  return StopCause::kListenerEnded;
}

// Serves until a stop, then drains as daemon.h says. Returns the exit code, or exits at once
// (1, destructors skipped) when a callback outlives its bound.
int serve(const config::SocketSpec& socket, Server& server,
          std::unique_ptr<dns::CaresResolver> resolver,
          std::unique_ptr<MetricsServer> metrics_server) {
  milter::ServiceGate& gate = milter::ServiceGate::process();
  gate.open(services_of(server.current()));
  milter::MainLoop loop(socket);
  server.notifier().ready("serving on " + socket.to_string());
  // A SIGHUP sent before this point waits, blocked, and is reloaded by wait_for_stop.
  spdlog::info("{}", log::fields({{"event", "ready"}, {"socket", socket.to_string()}}));
  const StopCause cause = wait_for_stop(loop, server);
  server.notifier().stopping();
  // Debian's libmilter runs its sessions on a worker pool whose controller stops with the
  // listener: after smfi_stop() no callback runs for an open connection any more. So libmilter
  // keeps serving while the messages in flight finish; meanwhile the gate answers new
  // connections and new messages with 451 4.3.2 (the listener still accepts them).
  gate.close_to_new();
  const std::size_t open_at_stop = gate.messages_in_flight();
  const auto bound = server.config().message_timeout + kDrainGrace;
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
  metrics_server.reset();  // reads the resolver and the gate's services
  gate.forget_services();
  server.release_all();
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

std::vector<std::string> restart_only_changes(const config::Config& running,
                                              const config::Config& next) {
  std::vector<std::string> changed;
  const auto note = [&](bool differs, std::string_view key) {
    if (differs) changed.emplace_back(key);
  };
  note(running.socket != next.socket, "Socket");
  note(running.user_id != next.user_id, "UserID");
  note(running.umask != next.umask, "UMask");
  note(running.pid_file != next.pid_file, "PidFile");
  note(running.syslog != next.syslog, "Syslog");
  note(running.dns_servers != next.dns_servers, "DNSServers");
  note(running.dns_timeout != next.dns_timeout, "DNSTimeout");
  note(running.cache_size != next.cache_size, "CacheSize");
  note(running.cache_max_ttl != next.cache_max_ttl, "CacheMaxTTL");
  note(running.metrics_listen != next.metrics_listen, "MetricsListen");
  return changed;
}

config::Config keep_restart_only(const config::Config& running, config::Config next) {
  next.socket = running.socket;
  next.user_id = running.user_id;
  next.umask = running.umask;
  next.pid_file = running.pid_file;
  next.syslog = running.syslog;
  next.dns_servers = running.dns_servers;
  next.dns_timeout = running.dns_timeout;
  next.cache_size = running.cache_size;
  next.cache_max_ttl = running.cache_max_ttl;
  next.metrics_listen = running.metrics_listen;
  return next;
}

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
    // Read again on SIGHUP, after daemonize() has changed to "/".
    RunOptions server_options = options;
    if (!server_options.config_path.empty()) {
      server_options.config_path = std::filesystem::absolute(options.config_path).string();
    }
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
    // The probe runs on a thread of its own, so it comes after fork and the privilege drop too.
    if (!milter::thread_priority::can_lower_and_restore()) {
      spdlog::warn("{}", log::fields({{"event", "thread_priority"},
                                      {"large_bodies", "normal priority"},
                                      {"why",
                                       "a lowered thread could not get its priority back "
                                       "(RLIMIT_NICE; systemd: LimitNICE=+0)"}}));
    }

    // Threads start only now: after fork and after the privilege drop.
    // Counted into by every message of every configuration: outlives them all.
    auto message_metrics = std::make_unique<metrics::MessageMetrics>();
    std::unique_ptr<dns::CaresResolver> resolver = make_resolver(config);
    auto services = std::make_shared<const ServiceSet>(
        config, *resolver, std::move(files),
        config.metrics_listen.empty() ? nullptr : message_metrics.get());
    std::unique_ptr<MetricsServer> metrics_server;
    if (!config.metrics_listen.empty()) {
      metrics_server = std::make_unique<MetricsServer>(config.metrics_listen, *message_metrics,
                                                       *resolver, milter::libmilter_version());
      spdlog::info("{}", log::fields({{"event", "metrics"},
                                      {"listen", config.metrics_listen},
                                      {"path", "/metrics"}}));
    }
    spdlog::info("{}", log::fields({{"event", "start"},
                                    {"version", AUTHMILTER_VERSION},
                                    {"socket", config.socket},
                                    {"authserv_id", config.authserv_id},
                                    {"libmilter", milter::libmilter_version()}}));
    Server server(server_options, std::move(services), *resolver,
                  config.metrics_listen.empty() ? nullptr : message_metrics.get());
    const int rc = serve(*socket, server, std::move(resolver), std::move(metrics_server));
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

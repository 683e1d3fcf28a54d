#include "authmilter/cli/cli.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "authmilter/config/config.h"
#include "authmilter/dns/cares_resolver.h"
#include "authmilter/log/log.h"
#include "authmilter/milter/callbacks.h"
#include "authmilter/spf/spf.h"

namespace authmilter::cli {
namespace {

constexpr const char* kUsage =
    "usage: authmilter [-c FILE] [-f] [-p SOCKET] [-v]\n"
    "       authmilter check [-c FILE] --client-ip IP --helo NAME --mail-from ADDR\n"
    "                        [--rcpt ADDR]... [--json] [--zone ZONEFILE] FILE.eml\n"
    "       authmilter --check-config [-c FILE]\n"
    "       authmilter --print-defaults | --version | --help\n"
    "\n"
    "  -c FILE   configuration file (default /etc/authmilter/authmilter.conf)\n"
    "  -f        stay in the foreground and log to stderr\n"
    "  -p SOCKET listen on SOCKET (unix:/path or inet:port@host), overriding Socket\n"
    "  -v        log at debug level\n";

struct DaemonOptions {
  std::string config_path = kDefaultConfigPath;
  bool foreground = false;
  bool verbose = false;
  std::optional<std::string> socket;
};

std::string unix_socket_path(const std::string& socket) {
  for (const char* prefix : {"unix:", "local:"}) {
    if (socket.rfind(prefix, 0) == 0) return socket.substr(std::strlen(prefix));
  }
  return {};
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

int run_daemon(const DaemonOptions& options, std::ostream& err) {
  config::Config cfg;
  try {
    cfg = config::load(options.config_path);
  } catch (const config::ConfigError& e) {
    err << e.what() << "\n";
    return kExitConfig;
  }
  if (options.socket) cfg.socket = *options.socket;
  if (options.verbose) cfg.log_level = "debug";

  try {
    milter::block_shutdown_signals();
    log::setup(log::Sink::kStderr, cfg.log_level);
    milter::bind_socket(cfg.socket, cfg.umask);
    if (!options.foreground) daemonize();
    if (!options.foreground && cfg.syslog) {
      spdlog::drop("authmilter");
      log::setup(log::Sink::kSyslog, cfg.log_level);
    }
    if (!cfg.pid_file.empty()) write_pid_file(cfg.pid_file);
    // Secrets and data files are read while still privileged.
    const std::optional<mail::BatvKey> batv_key =
        cfg.batv_key_file.empty()
            ? std::nullopt
            : std::optional<mail::BatvKey>(mail::BatvKey::load_file(cfg.batv_key_file));
    const std::unique_ptr<dmarc::OrgDomainFinder> org_domains = load_public_suffixes(cfg);
    if (!cfg.user_id.empty()) drop_privileges(cfg.user_id, unix_socket_path(cfg.socket));

    // Threads start only now: after fork and after the privilege drop.
    dns::CaresResolver resolver(
        dns::CaresOptions{cfg.dns_servers, cfg.dns_timeout, 2, cfg.cache_size, cfg.cache_max_ttl});
    spf::Checker spf_checker(resolver, spf::CheckerOptions{cfg.authserv_id});
    const dkim::Library dkim_library(resolver, dkim_options(cfg));
    const dmarc::Evaluator dmarc_evaluator(resolver, *org_domains);
    const milter::Services services{
        cfg,           resolver,         spf_checker,
        &dkim_library, &dmarc_evaluator, batv_key ? &*batv_key : nullptr};
    spdlog::info("{}", log::fields({{"event", "start"},
                                    {"version", AUTHMILTER_VERSION},
                                    {"socket", cfg.socket},
                                    {"authserv_id", cfg.authserv_id},
                                    {"libmilter", milter::libmilter_version()}}));
    const int rc = milter::serve(services);
    spdlog::info("{}", log::fields({{"event", "stop"}}));
    if (!cfg.pid_file.empty()) unlink(cfg.pid_file.c_str());
    if (const std::string path = unix_socket_path(cfg.socket); !path.empty()) {
      unlink(path.c_str());
    }
    return rc;
  } catch (const std::exception& e) {
    if (spdlog::default_logger()) spdlog::critical("{}", e.what());
    err << "authmilter: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

dkim::VerifierOptions dkim_options(const config::Config& config) {
  return {config.max_signatures, config.dkim_allow_sha1, config.dkim_min_key_bits};
}

std::unique_ptr<dmarc::OrgDomainFinder> load_public_suffixes(const config::Config& config) {
  std::string error;
  auto finder = dmarc::OrgDomainFinder::load(config.public_suffix_list, &error);
  if (!finder) {
    throw std::runtime_error("PublicSuffixList " + config.public_suffix_list + ": " + error);
  }
  return finder;
}

int main_with_args(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "check") {
    return run_check(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  }
  DaemonOptions options;
  bool check_config = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out << kUsage;
      return 0;
    }
    if (a == "--version") {
      out << "authmilter " << AUTHMILTER_VERSION << "\n";
      return 0;
    }
    if (a == "--print-defaults") {
      out << config::print_defaults();
      return 0;
    }
    if (a == "--check-config") {
      check_config = true;
    } else if (a == "-f") {
      options.foreground = true;
    } else if (a == "-v") {
      options.verbose = true;
    } else if ((a == "-c" || a == "-p") && i + 1 < args.size()) {
      (a == "-c" ? options.config_path : options.socket.emplace()) = args[++i];
    } else {
      err << "authmilter: bad argument '" << a << "'\n" << kUsage;
      return kExitUsage;
    }
  }
  if (check_config) {
    try {
      config::Config cfg = config::load(options.config_path);
      out << options.config_path << ": OK (authserv-id " << cfg.authserv_id << ", socket "
          << cfg.socket << ")\n";
      return 0;
    } catch (const config::ConfigError& e) {
      err << e.what() << "\n";
      return kExitConfig;
    }
  }
  return run_daemon(options, err);
}

}  // namespace authmilter::cli

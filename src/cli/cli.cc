#include "authmilter/cli/cli.h"

#include <optional>
#include <ostream>

#include "authmilter/config/config.h"
#include "authmilter/daemon/daemon.h"

namespace authmilter::cli {
namespace {

constexpr const char* kUsage =
    "usage: authmilter [-c FILE] [-f] [-p SOCKET] [-v]\n"
    "       authmilter check [-c FILE] --client-ip IP --helo NAME --mail-from ADDR\n"
    "                        [--rcpt ADDR]... [--json] [--zone ZONEFILE] FILE.eml\n"
    "       authmilter report [-c FILE] [--from TIME] [--to TIME] [--out DIR] [--send]\n"
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

}  // namespace

std::optional<config::Config> load_config_or_explain(const std::string& path, std::ostream& err) {
  try {
    return path.empty() ? config::Config::defaults() : config::load(path);
  } catch (const config::ConfigError& e) {
    err << e.what() << "\n";
    return std::nullopt;
  }
}

int main_with_args(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "check") {
    return run_check(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  }
  if (!args.empty() && args[0] == "report") {
    return run_report(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
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
  const std::optional<config::Config> loaded = load_config_or_explain(options.config_path, err);
  if (!loaded) return kExitConfig;
  config::Config cfg = *loaded;
  if (check_config) {
    out << options.config_path << ": OK (authserv-id " << cfg.authserv_id << ", socket "
        << cfg.socket << ")\n";
    return 0;
  }
  if (options.socket) {
    // -p takes the same forms as Socket, read by the same parser.
    std::string why;
    const std::optional<config::SocketSpec> spec = config::parse_socket(*options.socket, &why);
    if (!spec) {
      err << "authmilter: -p " << *options.socket << ": " << why << "\n";
      return kExitUsage;
    }
    cfg.socket = spec->to_string();
  }
  if (options.verbose) cfg.log_level = "debug";
  return daemon::run(
      cfg, daemon::RunOptions{options.foreground, options.config_path, options.verbose}, err);
}

}  // namespace authmilter::cli

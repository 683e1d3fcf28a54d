// DMARC report records in a real PostgreSQL server, written by two authmilter daemons at
// once and reported once (issue 14); the database stopped mid-run: verdicts keep coming,
// records are dropped and counted, nothing committed is lost, the report command fails
// cleanly, and writing resumes when the server is back.
//
// The server: Debian's postgresql binaries (/usr/lib/postgresql/*/bin), run as the
// `postgres` user (initdb and pg_ctl refuse root) on a loopback port from
// free_loopback_port(), with its data directory in a temporary directory owned by that
// user; stopped by the postmaster's PID (this process is a child subreaper, so the
// postmaster becomes our child once pg_ctl exits). Never the package's 5432 cluster.
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "daemon_process.h"
#include "loopback_dns_server.h"
#include "milter_client.h"
#include "process.h"
#include "smtp_sink.h"

namespace authmilter {
namespace {

namespace fs = std::filesystem;
namespace ts = test_support;
using namespace std::chrono_literals;

constexpr std::string_view kZone = R"(
reports.example TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.reports.example TXT "v=DMARC1; p=none; rua=mailto:dmarc-rua@reports.example"
)";
constexpr const char* kClientIp = "192.0.2.10";
constexpr int kMessagesPerDaemon = 20;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time(std::int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buffer[32];
  strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

std::string postgres_bin_dir() {
  glob_t found{};
  std::string dir;
  if (::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &found) == 0 && found.gl_pathc > 0) {
    dir = fs::path(found.gl_pathv[found.gl_pathc - 1]).parent_path().string();
  }
  ::globfree(&found);
  return dir;
}

// Runs argv as `user` with output appended to `log`; the exit code, or -1 on time-out.
int run_as(const passwd& user, const std::vector<std::string>& args, const std::string& log,
           std::chrono::seconds timeout) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (setgroups(0, nullptr) != 0 || setgid(user.pw_gid) != 0 || setuid(user.pw_uid) != 0) {
      _exit(126);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class PostgresServer {
 public:
  PostgresServer(std::string bin, const passwd& user) : bin_(std::move(bin)), user_(user) {
    std::string tmpl = "/tmp/authmilter-pg-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    if (::chown(dir_.c_str(), user_.pw_uid, user_.pw_gid) != 0) throw std::runtime_error("chown");
    port_ = ts::free_loopback_port();
    const int rc = run_as(user_,
                          {bin_ + "/initdb", "-D", (dir_ / "data").string(), "-A", "trust", "-U",
                           "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"},
                          log(), 120s);
    if (rc != 0) throw std::runtime_error("initdb failed: " + ts_log());
  }
  ~PostgresServer() {
    stop();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  bool start() {
    const std::string options =
        "-p " + std::to_string(port_) +
        " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_.string() +
        " -c fsync=off -c max_connections=40";
    const int rc =
        run_as(user_,
               {bin_ + "/pg_ctl", "-D", (dir_ / "data").string(), "-l",
                (dir_ / "server.log").string(), "-o", options, "-w", "-t", "60", "start"},
               log(), 90s);
    if (rc != 0) return false;
    std::ifstream pid_file(dir_ / "data" / "postmaster.pid");
    pid_file >> postmaster_;
    return postmaster_ > 0;
  }

  // Fast shutdown by PID (SIGINT), waiting for the postmaster to exit.
  void stop() {
    if (postmaster_ <= 0) return;
    kill(postmaster_, SIGINT);
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
      if (waitpid(postmaster_, nullptr, WNOHANG) == postmaster_) break;
      if (kill(postmaster_, 0) != 0 && errno == ESRCH) break;
      std::this_thread::sleep_for(20ms);
    }
    if (kill(postmaster_, 0) == 0) {
      kill(postmaster_, SIGKILL);
      waitpid(postmaster_, nullptr, 0);
    }
    postmaster_ = -1;
  }

  std::string uri() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/postgres";
  }
  std::string ts_log() const { return integration::tail_lines(integration::read_file(log()), 20); }

 private:
  std::string log() const { return (dir_ / "commands.log").string(); }

  std::string bin_;
  passwd user_;
  fs::path dir_;
  std::uint16_t port_ = 0;
  pid_t postmaster_ = -1;
};

ts::MilterMessage message(int n) {
  ts::MilterMessage m;
  m.queue_id = "PG" + std::to_string(n);
  m.mail_from = "<bounce@reports.example>";
  m.recipients = {"<bob@test.example>"};
  m.headers = {{"From", " news@reports.example"},
               {"To", " bob@test.example"},
               {"Subject", " report " + std::to_string(n)},
               {"Message-ID", " <" + std::to_string(n) + "@reports.example>"}};
  m.body = "hello\r\n";
  return m;
}

class Daemon {
 public:
  Daemon(const fs::path& dir, const std::string& name, const std::string& dns,
         const std::string& store, std::uint16_t sink_port)
      : port_(ts::free_loopback_port()),
        config_((dir / (name + ".conf")).string()),
        log_((dir / (name + ".log")).string()) {
    std::ofstream(config_) << ts::load_test_daemon_config(
                                  "inet:" + std::to_string(port_) + "@127.0.0.1", dns)
                           << "ReportStore " << store << "\nReportEmail dmarc@mx.example.net\n"
                           << "ReportSMTP 127.0.0.1:" << sink_port << "\n";
    process_.emplace(AUTHMILTER_BINARY, config_, log_);
    for (int i = 0; i < 200; ++i) {
      try {
        ts::MilterClient::tcp(port_);
        return;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
      }
    }
    throw std::runtime_error("daemon did not start: " + integration::read_file(log_));
  }

  // Sends `count` messages on one connection; returns how many got a verdict (accept).
  int send(int first, int count) {
    ts::MilterClient client = ts::MilterClient::tcp(port_);
    client.negotiate();
    client.connect_and_helo("mail.reports.example", kClientIp);
    int accepted = 0;
    for (int i = 0; i < count; ++i) {
      const ts::EomOutcome outcome = client.message(message(first + i));
      if (outcome.verdict == ts::kReplyAccept) ++accepted;
    }
    return accepted;
  }

  const std::string& config() const { return config_; }
  std::string log() const { return integration::read_file(log_); }
  int stop() { return process_->stop(); }

 private:
  std::uint16_t port_;
  std::string config_;
  std::string log_;
  std::optional<ts::DaemonProcess> process_;
};

integration::CommandResult report(const std::string& config, std::vector<std::string> args) {
  std::vector<std::string> argv{AUTHMILTER_BINARY, "report", "-c", config};
  argv.insert(argv.end(), args.begin(), args.end());
  return integration::run_command(argv, 60s);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; ++pos) ++n;
  return n;
}

TEST(ReportPostgresql, TwoDaemonsOneDatabaseReportedOnceAndADatabaseThatGoesAway) {
  const std::string bin = postgres_bin_dir();
  const passwd* user = ::getpwnam("postgres");
  if (::geteuid() != 0 || bin.empty() || user == nullptr) {
    GTEST_SKIP() << "needs root, the postgres user and Debian's postgresql binaries";
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  PostgresServer server(bin, *user);
  ASSERT_TRUE(server.start()) << server.ts_log();

  std::string tmpl = "/tmp/authmilter-pg-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  dns::ZoneResolver zone;
  zone.load(kZone);
  ts::LoopbackDnsServer dns_server(zone);
  integration::SmtpSink sink;

  const std::int64_t from = now_seconds() - 1;
  Daemon one(dir, "one", dns_server.spec(), server.uri(), sink.port());
  Daemon two(dir, "two", dns_server.spec(), server.uri(), sink.port());
  // Both write at once.
  std::atomic<int> accepted{0};
  std::thread a([&] { accepted += one.send(0, kMessagesPerDaemon); });
  std::thread b([&] { accepted += two.send(1000, kMessagesPerDaemon); });
  a.join();
  b.join();
  ASSERT_EQ(accepted.load(), 2 * kMessagesPerDaemon);
  std::this_thread::sleep_for(1100ms);
  const std::int64_t to = now_seconds();
  const std::string total = "messages=" + std::to_string(2 * kMessagesPerDaemon);
  integration::CommandResult listed;
  for (int attempt = 0; attempt < 50; ++attempt) {
    listed = report(one.config(),
                    {"--from", iso_time(from), "--to", iso_time(to), "--out", dir.string()});
    if (listed.output.find(total) != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(listed.ok()) << listed.output;
  ASSERT_NE(listed.output.find("report=reports.example"), std::string::npos) << listed.output;
  ASSERT_NE(listed.output.find(total + " rows=1"), std::string::npos) << listed.output;

  // Two report runs at once (one per gateway): one mail in all.
  integration::CommandResult first, second;
  std::thread r1([&] {
    first = report(one.config(), {"--from", iso_time(from), "--to", iso_time(to), "--send"});
  });
  std::thread r2([&] {
    second = report(two.config(), {"--from", iso_time(from), "--to", iso_time(to), "--send"});
  });
  r1.join();
  r2.join();
  EXPECT_TRUE(first.ok()) << first.output;
  EXPECT_TRUE(second.ok()) << second.output;
  const std::string both = first.output + second.output;
  EXPECT_EQ(count(both, "status=sent"), 1u) << both;
  EXPECT_EQ(count(both, "status=already_sent"), 1u) << both;
  ASSERT_TRUE(sink.wait_for("Report Domain: reports.example", 20s).has_value()) << both;
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(sink.find("Report Domain: reports.example").size(), 1u);

  // The database goes away: verdicts keep coming, records are dropped and logged.
  server.stop();
  EXPECT_EQ(one.send(2000, 10), 10);
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = one.log().find("event=report_store_error") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(logged) << one.log();
  const integration::CommandResult down =
      report(one.config(), {"--from", iso_time(from), "--to", iso_time(to), "--out", dir.string()});
  EXPECT_EQ(down.status.code, 1) << down.output;
  EXPECT_NE(down.output.find("authmilter report: postgresql://127.0.0.1:"), std::string::npos)
      << down.output;
  EXPECT_EQ(down.output.find("postgres@"), std::string::npos) << "user name in the error";

  // Back: what was committed is all there, and new records are written again (the writer
  // reconnects after its back-off; each nudge gives it a record to write).
  ASSERT_TRUE(server.start()) << server.ts_log();
  const integration::CommandResult committed =
      report(one.config(), {"--from", iso_time(from), "--to", iso_time(to), "--out", dir.string()});
  EXPECT_TRUE(committed.ok()) << committed.output;
  EXPECT_NE(committed.output.find(total + " rows=1"), std::string::npos) << committed.output;
  const std::int64_t later_from = now_seconds();
  integration::CommandResult resumed;
  for (int attempt = 0; attempt < 60; ++attempt) {
    EXPECT_EQ(one.send(3000 + attempt, 1), 1);
    std::this_thread::sleep_for(1100ms);
    resumed = report(one.config(), {"--from", iso_time(later_from), "--to", iso_time(now_seconds()),
                                    "--out", dir.string()});
    if (resumed.output.find("report=reports.example") != std::string::npos) break;
  }
  EXPECT_TRUE(resumed.ok()) << resumed.output;
  EXPECT_NE(resumed.output.find("report=reports.example"), std::string::npos)
      << resumed.output << one.log();
  EXPECT_EQ(one.stop(), 0) << one.log();
  EXPECT_EQ(two.stop(), 0) << two.log();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
}  // namespace authmilter

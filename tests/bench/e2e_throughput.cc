// authmilter_e2e_bench: the real daemon, end to end, driven over the milter protocol.
//
//   build-bench/tests/bench/authmilter_e2e_bench [--inet] [--report-store SPEC] [--reuse]
//                                                [--postfix-steps] [MESSAGES [CONNECTIONS]]
//
// What: starts a loopback DNS responder with the benchmark zone (bench_support.h), writes a
//   config (AuthservID mx.example.net, DNSServers that responder, Socket inet on a free
//   loopback port, Syslog no), runs the authmilter binary of this build in the foreground,
//   and plays an MTA (tests/support/milter_client.h): CONNECTIONS client threads (default 2)
//   each open one milter connection
//   (protocol version 6, SMFIP_HDR_LEADSPC offered, so every stage is answered) and send
//   their share of MESSAGES (default 2000) typical messages, each on a new milter connection
//   as Postfix does (negotiation, connect, HELO, the message, QUIT; --reuse: all on one
//   connection per client thread, negotiated once). The client offers SMFIP_HDR_LEADSPC
//   only, so every stage is answered; --postfix-steps offers what Postfix offers (every
//   "no reply" step, SMFIP_NODATA, ...: milter_client.h) and sends DATA when not declined.
//   (transaction_env.h: ~10 kB, one rsa-sha256 2048-bit signature, SPF/DKIM/DMARC pass) one after
//   another on it: connect, HELO, MAIL, RCPT, header fields, end of headers, body, end of message,
//   whose replies must insert an Authentication-Results header saying dmarc=pass and accept. A
//   warm-up round (fills the daemon's DNS cache) is not timed. Prints messages per second (wall
//   clock), the daemon's CPU time per message (/proc/PID/stat) and the verdict latency (end of
//   headers to the end-of-message verdict is what a client waits for; measured here as one whole
//   message, median, 99th percentile and maximum). The environment variable AUTHMILTER_E2E_DAEMON
//   names a program to start instead of the daemon (with its arguments): a wrapper that runs it
//   under perf stat, strace or valgrind.
//   --report-store SPEC adds `ReportStore SPEC` (DMARC report records, issue 14): compare
//   none, an SQLite file and a database that is down (a PostgreSQL URI at a closed port).
// Bounds: every socket read and write times out after 10 s (MilterClient); MESSAGES at most
//   kMaxMessages; the daemon is stopped with SIGTERM (SIGKILL after 5 s) on every exit path.
// What it includes that the Transaction benchmark does not: libmilter's thread per
//   connection and its protocol work, the socket round trips of each stage, CaresResolver
//   cache hits, logging of the per-message summary line (to /dev/null).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "authmilter/cli/cli.h"
#include "bench_support.h"
#include "daemon_process.h"
#include "milter_client.h"

namespace authmilter::bench {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxMessages = 1000000;

using test_support::DaemonProcess;
using test_support::MilterClient;
using test_support::MilterMessage;

MilterClient open_client(const std::string& unix_path, std::uint16_t port) {
  return unix_path.empty() ? MilterClient::tcp(port) : MilterClient::unix_socket(unix_path);
}

// The replies the typical message must get: an inserted A-R saying dmarc=pass, then accept.
bool accepted_with_dmarc_pass(const test_support::EomOutcome& outcome) {
  return outcome.verdict == test_support::kReplyAccept &&
         outcome.authentication_results().find("dmarc=pass") != std::string::npos;
}

std::string daemon_config(const std::string& socket, const std::string& dns,
                          const std::string& report_store) {
  return test_support::load_test_daemon_config(socket, dns) + "PublicSuffixList " +
         public_suffix_list_path() + "\nReportStore " + report_store + "\n";
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

}  // namespace
}  // namespace authmilter::bench

int main(int argc, char** argv) {
  using namespace authmilter::bench;
  int messages = 2000;
  int connections = 2;
  bool inet = false;
  bool reuse = false;          // one milter connection per client thread instead of one per message
  bool postfix_steps = false;  // offer the protocol steps Postfix offers (no-reply steps, ...)
  std::string report_store = "none";
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--inet") {
      inet = true;
    } else if (std::string_view(argv[i]) == "--reuse") {
      reuse = true;
    } else if (std::string_view(argv[i]) == "--postfix-steps") {
      postfix_steps = true;
    } else if (std::string_view(argv[i]) == "--report-store" && i + 1 < argc) {
      report_store = argv[++i];
    } else if (positional++ == 0) {
      messages = std::atoi(argv[i]);
    } else {
      connections = std::atoi(argv[i]);
    }
  }
  if (messages < 1 || messages > kMaxMessages || connections < 1 || connections > 64) {
    std::fprintf(stderr,
                 "usage: %s [--inet] [--report-store SPEC] [--reuse] [--postfix-steps] [MESSAGES "
                 "1..%d [CONNECTIONS 1..64]]\n",
                 argv[0], kMaxMessages);
    return 2;
  }
  try {
    authmilter::dns::ZoneResolver zone;
    load_bench_zone(zone);
    LoopbackDnsServer dns(zone);

    const Message plain = typical_message(10 * 1024);
    const std::string text =
        with_signatures(
            plain, {dkim_sign(plain, "rsa-sha256", kDomain, kRsaSelector, rsa2048_key().get())})
            .text();
    const authmilter::cli::ParsedMessage parsed = authmilter::cli::parse_message(text);
    MilterMessage message;
    message.mail_from = "<alice@example.org>";
    message.recipients = {"<bob@example.net>"};
    // As the MTA sends them with SMFIP_HDR_LEADSPC: the value with its leading space.
    for (const auto& field : parsed.headers)
      message.headers.emplace_back(field.name, field.raw_value);
    message.body = parsed.body;

    char dir_template[] = "/tmp/authmilter-e2e-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    const std::string dir = dir_template;
    const std::string config_path = dir + "/authmilter.conf";
    const std::string unix_path = inet ? "" : dir + "/milter.sock";
    struct Cleanup {
      std::string dir, config, sock;
      ~Cleanup() {
        ::unlink(config.c_str());
        if (!sock.empty()) ::unlink(sock.c_str());
        ::rmdir(dir.c_str());
      }
    } cleanup{dir, config_path, unix_path};
    const std::uint16_t port = inet ? authmilter::test_support::free_loopback_port() : 0;
    const std::string socket_spec =
        inet ? "inet:" + std::to_string(port) + "@127.0.0.1" : "unix:" + unix_path;
    {
      std::ofstream out(config_path);
      out << daemon_config(socket_spec, dns.spec(), report_store);
      if (!out) throw std::runtime_error("cannot write " + config_path);
    }

    // AUTHMILTER_E2E_DAEMON: another program to start in the daemon's place, with the same
    // arguments (a wrapper that runs the daemon under `perf stat`, docs/PERFORMANCE.md).
    const char* wrapper = std::getenv("AUTHMILTER_E2E_DAEMON");
    DaemonProcess daemon(wrapper != nullptr && *wrapper != '\0' ? wrapper : AUTHMILTER_DAEMON_PATH,
                         config_path);
    // Wait (bounded) for the socket.
    bool up = false;
    for (int i = 0; i < 200 && !up && daemon.running(); ++i) {
      try {
        MilterClient probe = open_client(unix_path, port);
        up = true;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
      }
    }
    if (!up) throw std::runtime_error("the daemon did not open its socket (check the config)");

    std::vector<double> latencies_ms;  // of the timed run
    std::mutex latencies_mutex;
    auto run = [&](int count, int threads) {
      std::atomic<int> bad{0};
      latencies_ms.clear();
      std::vector<std::thread> workers;
      std::string error;
      std::atomic<bool> failed{false};
      for (int t = 0; t < threads; ++t) {
        const int share = count / threads + (t < count % threads ? 1 : 0);
        workers.emplace_back([&, share] {
          try {
            std::optional<MilterClient> client;
            std::vector<double> mine;
            mine.reserve(static_cast<std::size_t>(share));
            for (int i = 0; i < share; ++i) {
              const auto sent = std::chrono::steady_clock::now();
              if (!client || !reuse) {
                client.reset();  // closing the socket ends the session, as QUIT does
                client.emplace(open_client(unix_path, port));
                client->negotiate(postfix_steps ? authmilter::test_support::kPostfixSteps
                                                : authmilter::test_support::kProtoHdrLeadspc);
                client->connect_and_helo(kHelo, kClientIp);
              }
              if (!accepted_with_dmarc_pass(client->message(message))) ++bad;
              mine.push_back(
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent)
                      .count());
            }
            std::lock_guard lock(latencies_mutex);
            latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
          } catch (const std::exception& e) {
            if (!failed.exchange(true)) error = e.what();
          }
        });
      }
      for (auto& w : workers) w.join();
      if (failed) throw std::runtime_error(error);
      return bad.load();
    };

    if (const int bad = run(std::min(messages, 100), connections); bad != 0) {
      throw std::runtime_error(std::to_string(bad) +
                               " warm-up messages not accepted with dmarc=pass");
    }
    const double cpu_before = authmilter::test_support::cpu_seconds(daemon.pid());
    const auto started = std::chrono::steady_clock::now();
    const int bad = run(messages, connections);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = authmilter::test_support::cpu_seconds(daemon.pid()) - cpu_before;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    std::printf(
        "%d messages of %zu bytes, %d %s client(s), %s%s, ReportStore %s: %.2f s, "
        "%.0f messages/s, daemon CPU %.0f us/message (%.0f messages per daemon CPU-second), "
        "latency per message p50 %.2f ms p99 %.2f ms max %.2f ms, %d unexpected replies\n",
        messages, text.size(), connections, inet ? "TCP" : "unix-socket",
        reuse ? "one connection each" : "a connection per message",
        postfix_steps ? ", Postfix's protocol steps" : "", report_store.c_str(), wall,
        messages / wall, cpu * 1e6 / messages, cpu > 0 ? messages / cpu : 0.0,
        percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99),
        latencies_ms.empty() ? 0.0 : latencies_ms.back(), bad);
    return bad == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "authmilter_e2e_bench: %s\n", e.what());
    return 1;
  }
}

// MetricsListen (issue 16 "Metrics"): /metrics over HTTP in the Prometheus text format; after
// N messages the counters moved by exactly N, the histograms counted N observations, and the
// connections gauge follows the open MTA connections.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "daemon_fixture.h"
#include "milter_steps.h"
#include "net.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

// "GET /metrics" on 127.0.0.1:port; the whole response, or "" when it could not connect.
std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  const timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[8192];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
        response.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return response;
}

// Sample lines "name{labels} value" of a scrape, keyed by "name{labels}".
std::map<std::string, double> scrape(std::uint16_t port) {
  const std::string response = http_get(port, "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  std::map<std::string, double> samples;
  std::istringstream body(response.substr(response.find("\r\n\r\n") + 4));
  for (std::string line; std::getline(body, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double value(const std::map<std::string, double>& samples, const std::string& key) {
  const auto it = samples.find(key);
  return it == samples.end() ? 0 : it->second;
}

EndOfMessage send_one(std::uint16_t port, const std::string& qid) {
  MilterClient client = MilterClient::tcp(port);
  client.negotiate();
  client.connect_and_helo("mail.example.org", "192.0.2.60");
  EXPECT_EQ(mail_from(client, "alice@example.org", qid), 'c');
  EXPECT_EQ(rcpt_to(client, "bob@example.net"), 'c');
  EXPECT_EQ(header(client, "From", " Alice <alice@example.org>"), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdEoh, ""), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdBody, "Hello.\r\n"), 'c');
  return end_of_message(client);
}

// Waits (bounded) until the connections gauge reads `expected`.
bool connections_become(std::uint16_t port, double expected) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (value(scrape(port), "authmilter_connections_open") == expected) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(DaemonMetrics, CountersMoveByExactlyWhatWasSent) {
  constexpr int kMessages = 5;
  const std::uint16_t metrics_port = integration::pick_free_port();
  DaemonProcess daemon("MetricsListen 127.0.0.1:" + std::to_string(metrics_port) + "\n");
  ASSERT_TRUE(daemon.wait_for_log("event=metrics listen=127.0.0.1:", 10s)) << daemon.log();
  EXPECT_EQ(send_one(daemon.port(), "4MET0000").verdict, 'a');  // every series exists now
  ASSERT_TRUE(connections_become(metrics_port, 0)) << daemon.log();
  const std::map<std::string, double> before = scrape(metrics_port);
  for (int i = 1; i <= kMessages; ++i) {
    EXPECT_EQ(send_one(daemon.port(), "4MET000" + std::to_string(i)).verdict, 'a');
  }
  const std::map<std::string, double> after = scrape(metrics_port);
  const auto delta = [&](const std::string& key) { return value(after, key) - value(before, key); };

  EXPECT_EQ(delta("authmilter_messages_total{verdict=\"accept\",trust=\"untrusted\"}"), kMessages);
  // DNSServers points where nothing answers: every DNS-based result is temperror.
  EXPECT_EQ(delta("authmilter_results_total{method=\"spf\",result=\"temperror\"}"), kMessages);
  EXPECT_EQ(delta("authmilter_results_total{method=\"dmarc\",result=\"temperror\"}"), kMessages);
  EXPECT_EQ(delta("authmilter_results_total{method=\"dkim\",result=\"none\"}"), kMessages);
  EXPECT_EQ(delta("authmilter_message_duration_seconds_count"), kMessages);
  EXPECT_EQ(delta("authmilter_eom_wait_seconds_count"), kMessages);
  EXPECT_EQ(delta("authmilter_message_duration_seconds_bucket{le=\"+Inf\"}"), kMessages);
  // Each message looks up example.org's SPF TXT record: sent, or answered without a query.
  EXPECT_GE(delta("authmilter_dns_queries_total{type=\"TXT\"}") +
                delta("authmilter_dns_cache_hits_total{type=\"TXT\"}"),
            kMessages);
  EXPECT_GE(value(after, "authmilter_dns_query_duration_seconds_count"),
            value(after, "authmilter_dns_queries_total{type=\"TXT\"}"));
  int build_info = 0;
  for (const auto& [key, sample] : after) {
    if (key.rfind("authmilter_build_info{version=\"" AUTHMILTER_VERSION "\",libmilter=\"", 0) ==
            0 &&
        sample == 1) {
      ++build_info;
    }
  }
  EXPECT_EQ(build_info, 1) << http_get(metrics_port, "/metrics");

  // The gauge follows an idle MTA connection.
  {
    MilterClient idle = MilterClient::tcp(daemon.port());
    idle.negotiate();
    idle.connect_and_helo("mail.example.org", "192.0.2.61");
    EXPECT_TRUE(connections_become(metrics_port, 1));
  }
  EXPECT_TRUE(connections_become(metrics_port, 0));
  EXPECT_TRUE(daemon.stop(20s).success()) << daemon.log();
}

TEST(DaemonMetrics, OffByDefault) {
  DaemonProcess daemon;
  EXPECT_EQ(daemon.log().find("event=metrics"), std::string::npos);
  EXPECT_TRUE(daemon.stop(20s).success()) << daemon.log();
}

}  // namespace
}  // namespace authmilter::testing

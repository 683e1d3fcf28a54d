// LogFormat json: the per-message summary line is one JSON object with the same keys, in the
// same order, as the text line; a reload switches the format for the next message.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.h"
#include "json_reader.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

EndOfMessage send_one(std::uint16_t port, const std::string& qid) {
  MilterClient client = MilterClient::tcp(port);
  client.negotiate();
  client.connect_and_helo("mail.example.org", "192.0.2.50");
  EXPECT_EQ(mail_from(client, "alice@example.org", qid), 'c');
  EXPECT_EQ(rcpt_to(client, "bob@example.net"), 'c');
  EXPECT_EQ(rcpt_to(client, "carol@example.net"), 'c');
  EXPECT_EQ(header(client, "From", " Alice <alice@example.org>"), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdEoh, ""), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdBody, "Hello.\r\n"), 'c');
  return end_of_message(client);
}

// The rest of the log line from the first occurrence of `marker`.
std::string line_from(const std::string& log, const std::string& marker) {
  const std::size_t at = log.find(marker);
  if (at == std::string::npos) return {};
  return log.substr(at, log.find('\n', at) - at);
}

TEST(DaemonLogFormat, JsonSummaryHasTheTextLinesKeysAndSwitchesOnReload) {
  DaemonProcess daemon("LogFormat json\n");
  EXPECT_EQ(send_one(daemon.port(), "4JSON0001").verdict, 'a');
  ASSERT_TRUE(daemon.wait_for_log("{\"queue\":\"4JSON0001\"", 10s)) << daemon.log();

  {
    std::ofstream out(daemon.config_path());
    std::string text = daemon.config_text();
    text.replace(text.find("LogFormat json"), 14, "LogFormat text");
    out << text;
  }
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon.wait_for_log("event=reload result=applied", 10s)) << daemon.log();
  EXPECT_EQ(send_one(daemon.port(), "4JSON0002").verdict, 'a');
  ASSERT_TRUE(daemon.wait_for_log("queue=4JSON0002 ", 10s)) << daemon.log();
  EXPECT_TRUE(daemon.stop(20s).success()) << daemon.log();

  const std::string log = daemon.log();
  const std::string json_line = line_from(log, "{\"queue\":\"4JSON0001\"");
  const test_support::JsonValue summary = test_support::parse_json(json_line);
  EXPECT_EQ(summary["client"].string, "192.0.2.50");
  EXPECT_EQ(summary["helo"].string, "mail.example.org");
  EXPECT_EQ(summary["from"].string, "<alice@example.org>");
  EXPECT_EQ(summary["rcpts"].type, test_support::JsonValue::Type::kNumber);
  EXPECT_EQ(summary["rcpts"].string, "2");
  EXPECT_EQ(summary["trust"].string, "untrusted");
  EXPECT_EQ(summary["verdict"].string, "accept");
  EXPECT_EQ(summary["ms"].type, test_support::JsonValue::Type::kNumber);

  // The same keys in the same order as the text line of the next message (whose values have
  // no spaces here, so splitting at spaces finds its fields).
  std::vector<std::string> json_keys;
  for (const auto& [key, value] : summary.object) json_keys.push_back(key);
  std::vector<std::string> text_keys;
  std::istringstream text(line_from(log, "queue=4JSON0002 "));
  for (std::string field; text >> field;) text_keys.push_back(field.substr(0, field.find('=')));
  EXPECT_EQ(json_keys, text_keys) << json_line;
}

}  // namespace
}  // namespace authmilter::testing

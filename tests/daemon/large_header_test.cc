// Header fields larger than libmilter's default packet (65,535 bytes) reach the checks: the
// verdict and the Authentication-Results come back, and the daemon logs what it kept
// (issue: a 70,000-byte folded Cc: or a 100,000-byte field used to drop the connection).
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "daemon_fixture.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

// A folded Cc: of addresses, at least `bytes` long (CRLF TAB folding, as an MTA passes it).
std::string folded_cc(std::size_t bytes) {
  std::string value = " user0000@example.net";
  for (int i = 1; value.size() < bytes; ++i) {
    value += ",\r\n\tuser" + std::to_string(10000 + i) + "@example.net";
  }
  return value;
}

// One message with `name: value` among ordinary fields; returns the end-of-message reply.
EndOfMessage send_message(MilterClient& client, const std::string& name, const std::string& value) {
  client.negotiate();
  client.connect_and_helo("mail.example.org", "192.0.2.10");
  EXPECT_EQ(mail_from(client, "alice@example.org", "4BIG0001"), 'c');
  EXPECT_EQ(rcpt_to(client, "bob@example.net"), 'c');
  EXPECT_EQ(header(client, "From", " Alice <alice@example.org>"), 'c');
  EXPECT_EQ(header(client, name, value), 'c');
  EXPECT_EQ(header(client, "Subject", " big"), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdEoh, ""), 'c');
  EXPECT_EQ(stage(client, test_support::kCmdBody, "Hello.\r\n"), 'c');
  return end_of_message(client);
}

bool has_auth_results(const EndOfMessage& reply) {
  for (const auto& [name, value] : reply.added) {
    if (name == "Authentication-Results" && value.find("mx.example.net") != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(LargeHeader, HundredThousandByteFieldGetsVerdictAndAuthResults) {
  DaemonProcess daemon;
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    const EndOfMessage reply = send_message(client, "X-Big", " " + std::string(99999, 'a'));
    EXPECT_EQ(reply.verdict, 'a');
    EXPECT_TRUE(has_auth_results(reply));
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("event=large_header field_bytes=100005 "), std::string::npos) << log;
  EXPECT_NE(log.find("truncated=no"), std::string::npos) << log;
}

TEST(LargeHeader, SeventyThousandByteFoldedCcGetsVerdictAndAuthResults) {
  DaemonProcess daemon;
  const std::string cc = folded_cc(70000);
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    const EndOfMessage reply = send_message(client, "Cc", cc);
    EXPECT_EQ(reply.verdict, 'a');
    EXPECT_TRUE(has_auth_results(reply));
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("field_bytes=" + std::to_string(2 + cc.size()) + " "), std::string::npos)
      << log;
}

// MaxHeaderBytes still bounds what a message keeps once the packet limit no longer does.
TEST(LargeHeader, MaxHeaderBytesStillBoundsWhatIsKept) {
  DaemonProcess daemon("MaxHeaderBytes 64k\n");
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    const EndOfMessage reply = send_message(client, "X-Big", " " + std::string(99999, 'a'));
    EXPECT_EQ(reply.verdict, 'a');
    EXPECT_TRUE(has_auth_results(reply));
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("truncated=yes"), std::string::npos) << log;
  EXPECT_NE(log.find("headers=truncated"), std::string::npos) << log;
}

// Past 1 MiB libmilter drops the connection; the daemon logs the message it lost.
TEST(LargeHeader, PacketOverOneMebibyteIsLoggedNotSilent) {
  DaemonProcess daemon;
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    client.negotiate();
    client.connect_and_helo("mail.example.org", "192.0.2.10");
    EXPECT_EQ(mail_from(client, "alice@example.org", "4BIG0002"), 'c');
    bool closed = false;
    try {
      client.send('L', "X-Huge" + std::string(1, '\0') + std::string(1024 * 1024 + 10, 'a') + '\0');
      closed = closed_by_peer(client);
    } catch (const std::runtime_error& e) {
      // libmilter may close as soon as it has read the length, while the rest of the packet
      // is still being sent: the send then fails (EPIPE/ECONNRESET), the same refusal.
      closed = std::string(e.what()).find("send failed") != std::string::npos;
    }
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("event=abort client=192.0.2.10 stage=mail"), std::string::npos) << log;
}

// A connection that ends in the middle of a message, without abort, is logged with its stage.
TEST(CloseLog, ConnectionEndingWithoutEndOfMessageIsLogged) {
  DaemonProcess daemon;
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    client.negotiate();
    client.connect_and_helo("mail.example.org", "192.0.2.11");
  }
  EXPECT_TRUE(daemon.wait_for_log("event=close_unfinished client=192.0.2.11 stage=helo", 10s))
      << daemon.log();
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
}

}  // namespace
}  // namespace authmilter::testing

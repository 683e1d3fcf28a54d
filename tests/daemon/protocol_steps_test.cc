// The option negotiation with an MTA that offers what Postfix offers: the daemon asks for no
// reply to HELO, header fields and end of headers, and for no DATA or unknown commands, but
// keeps the replies of the steps where it may refuse (connect, MAIL, RCPT). Body chunks go
// unanswered only on a connection that negotiated while no message was in flight (the MTA
// then streams the body); a message sent without waiting in those steps still gets its
// verdict and A-R header.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "daemon_fixture.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;
namespace ts = test_support;

constexpr std::uint32_t kNoUnknown = 0x100;  // SMFIP_NOUNKNOWN

TEST(ProtocolSteps, PostfixOfferGetsNoReplyStepsAndTheVerdict) {
  DaemonProcess daemon;
  {
    MilterClient client = MilterClient::tcp(daemon.port());
    const std::uint32_t asked = client.negotiate(ts::kPostfixSteps);
    EXPECT_NE(asked & ts::kProtoNrHelo, 0U);
    EXPECT_NE(asked & ts::kProtoNrHdr, 0U);
    EXPECT_NE(asked & ts::kProtoNrEoh, 0U);
    EXPECT_NE(asked & ts::kProtoNoData, 0U);
    EXPECT_NE(asked & kNoUnknown, 0U);
    EXPECT_NE(asked & ts::kProtoHdrLeadspc, 0U);
    // Where the daemon may refuse (stopping, a BATV recipient), it still replies.
    EXPECT_EQ(asked & (ts::kProtoNrConn | ts::kProtoNrMail | ts::kProtoNrRcpt), 0U);
    // An idle daemon lets the MTA stream the body.
    EXPECT_NE(asked & ts::kProtoNrBody, 0U);

    client.connect_and_helo("mail.example.org", "192.0.2.10");  // HELO not answered
    // Two messages on the connection: nothing is left unread between them.
    for (const char* queue_id : {"4STEPS001", "4STEPS002"}) {
      EXPECT_EQ(mail_from(client, "alice@example.org", queue_id), 'c');
      EXPECT_EQ(rcpt_to(client, "bob@example.net"), 'c');
      // No reply expected: a stray "continue" would be read below as the verdict.
      client.send(ts::kCmdHeader, std::string("From") + '\0' + " Alice <alice@example.org>" + '\0');
      client.send(ts::kCmdHeader, std::string("Subject") + '\0' + " steps" + '\0');
      client.send(ts::kCmdEoh, "");
      // Three chunks as an MTA sends a long body, none answered.
      client.send(ts::kCmdBody, std::string(65535, 'a'));
      client.send(ts::kCmdBody, std::string(65535, 'b'));
      client.send(ts::kCmdBody, "\r\nHello.\r\n");
      const EndOfMessage reply = end_of_message(client);
      EXPECT_EQ(reply.verdict, ts::kReplyAccept);
      bool has_auth_results = false;
      for (const auto& [name, value] : reply.added) {
        has_auth_results |=
            name == "Authentication-Results" && value.find("mx.example.net") != std::string::npos;
      }
      EXPECT_TRUE(has_auth_results);
    }
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
}

// While a message is in flight, a new connection keeps the body replies: each message's body
// work stays in its body phase instead of queueing in front of its end of message.
TEST(ProtocolSteps, BodyRepliesKeptWhileAMessageIsInFlight) {
  DaemonProcess daemon;
  {
    MilterClient first = MilterClient::tcp(daemon.port());
    first.negotiate(ts::kPostfixSteps);
    first.connect_and_helo("mail.example.org", "192.0.2.10");
    EXPECT_EQ(mail_from(first, "alice@example.org", "4BUSY0001"), 'c');  // in flight now

    MilterClient second = MilterClient::tcp(daemon.port());
    const std::uint32_t asked = second.negotiate(ts::kPostfixSteps);
    EXPECT_EQ(asked & ts::kProtoNrBody, 0U);
    EXPECT_NE(asked & ts::kProtoNrHdr, 0U);
    second.connect_and_helo("mail.example.org", "192.0.2.10");
    EXPECT_EQ(mail_from(second, "alice@example.org", "4BUSY0002"), 'c');
    EXPECT_EQ(rcpt_to(second, "bob@example.net"), 'c');
    second.send(ts::kCmdHeader, std::string("From") + '\0' + " Alice <alice@example.org>" + '\0');
    second.send(ts::kCmdEoh, "");
    EXPECT_EQ(stage(second, ts::kCmdBody, std::string(65535, 'a')), ts::kReplyContinue);
    EXPECT_EQ(stage(second, ts::kCmdBody, "\r\nHello.\r\n"), ts::kReplyContinue);
    EXPECT_EQ(end_of_message(second).verdict, ts::kReplyAccept);

    // The first message goes on, with its body streamed as negotiated.
    EXPECT_EQ(rcpt_to(first, "bob@example.net"), 'c');
    first.send(ts::kCmdHeader, std::string("From") + '\0' + " Alice <alice@example.org>" + '\0');
    first.send(ts::kCmdEoh, "");
    first.send(ts::kCmdBody, "Hello.\r\n");
    EXPECT_EQ(end_of_message(first).verdict, ts::kReplyAccept);
  }
  EXPECT_TRUE(daemon.stop(10s).success()) << daemon.log();
}

}  // namespace
}  // namespace authmilter::testing

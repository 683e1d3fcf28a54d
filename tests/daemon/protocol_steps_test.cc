// The option negotiation with an MTA that offers what Postfix offers: the daemon asks for no
// reply to HELO, header fields and end of headers, and for no DATA or unknown commands, but
// keeps the replies of the steps where it may refuse (connect, MAIL, RCPT) and of body
// chunks; a message sent without waiting in those steps still gets its verdict and A-R
// header.
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
    // Body chunks are answered, so the hashing is done before end of message is sent.
    EXPECT_EQ(asked & ts::kProtoNrBody, 0U);

    client.connect_and_helo("mail.example.org", "192.0.2.10");  // HELO not answered
    // Two messages on the connection: nothing is left unread between them.
    for (const char* queue_id : {"4STEPS001", "4STEPS002"}) {
      EXPECT_EQ(mail_from(client, "alice@example.org", queue_id), 'c');
      EXPECT_EQ(rcpt_to(client, "bob@example.net"), 'c');
      // No reply expected: a stray "continue" would be read below as the verdict.
      client.send(ts::kCmdHeader, std::string("From") + '\0' + " Alice <alice@example.org>" + '\0');
      client.send(ts::kCmdHeader, std::string("Subject") + '\0' + " steps" + '\0');
      client.send(ts::kCmdEoh, "");
      EXPECT_EQ(stage(client, ts::kCmdBody, "Hello.\r\n"), ts::kReplyContinue);
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

}  // namespace
}  // namespace authmilter::testing

// Real gateways (issue #6) through Postfix: mail relayed by a trusted relay is judged on the
// first untrusted hop; outsiders forging our own domain get OwnDomainSpoof; BATV tags our
// senders' MAIL FROM and refuses, at RCPT, bounces to us that carry no valid tag.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "harness.h"

namespace authmilter::integration {
namespace {

constexpr const char* kRelayIp = "10.0.0.2";  // a trusted relay of ours (TEST-NET is outside)

Envelope from_client(std::string_view client_ip, std::string_view mail_from,
                     std::string_view recipient, std::string data) {
  Envelope e;
  e.xclient_addr = std::string(client_ip);  // empty: connect as 127.0.0.1 (internal)
  e.helo = client_ip == kRelayIp ? "relay.test.example" : kHeloName;
  e.mail_from = std::string(mail_from);
  e.recipients = {std::string(recipient)};
  e.data = std::move(data);
  return e;
}

std::string batv_key_file(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "batv.key";
  {
    std::ofstream out(path);
    out << "integration-test-secret-0123456789abcdef\n";
  }
  ::chmod(path.c_str(), 0600);
  return path.string();
}

class GatewayTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon(
        "TrustedRelays 10.0.0.0/8\n"
        "OwnDomains test.example\n"
        "OwnDomainSenders 198.51.100.0/24\n"
        "OwnDomainSpoof reject\n"
        "BATVKeyFile " +
        batv_key_file(Harness::get()->dir()) + "\n");
  }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(GatewayTest, RelayedMessageIsJudgedOnTheOriginalClient) {
  const std::string token = unique_token("relayed");
  // What our edge relay (10.0.0.1 -> here 10.0.0.2) wrote when 192.0.2.10 handed it the
  // message; below it a header the untrusted sender forged, which must not be followed.
  std::string data =
      make_message(token, "alice@spf-pass.example",
                   {"Received: from mail.spf-pass.example (mail.spf-pass.example [192.0.2.10])\r\n"
                    "\tby relay.test.example (Postfix) with ESMTPS id 4XyZ1q2w3e;\r\n"
                    "\tMon, 02 Jan 2006 15:04:05 +0000 (UTC)",
                    "Received: from forged.example ([10.9.9.9]) by mail.spf-pass.example; forged"});
  SmtpOutcome out = send(from_client(kRelayIp, "alice@spf-pass.example", kRecipient, data));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const ResInfo* spf = ours.front().find("spf");
  ASSERT_NE(spf, nullptr);
  // 10.0.0.2 is not in spf-pass.example's record: pass means 192.0.2.10 was judged.
  EXPECT_EQ(spf->result, "pass") << msg->data;
}

TEST_F(GatewayTest, ForgedOwnDomainFromOutsideIsRejected) {
  const std::string token = unique_token("own-spoof");
  SmtpOutcome out = send(from_client(kClientIp, "x@spf-none.example", kRecipient,
                                     make_message(token, "ceo@test.example")));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.1") << out.describe();
  EXPECT_NE(out.reply.text.find("test.example"), std::string::npos) << out.reply.str();
}

TEST_F(GatewayTest, OwnDomainFromApprovedSenderNetworkIsAccepted) {
  const std::string token = unique_token("own-approved");
  SmtpOutcome out = send(from_client("198.51.100.7", "x@spf-none.example", kRecipient,
                                     make_message(token, "newsletter@test.example")));
  EXPECT_TRUE(out.accepted()) << out.describe();
  EXPECT_TRUE(delivered(token).has_value());
}

TEST_F(GatewayTest, BouncesNeedTheBatvTagOurOutboundMailCarried) {
  // 1. An internal sender's mail leaves with a tagged MAIL FROM.
  const std::string token = unique_token("batv-out");
  SmtpOutcome out = send(from_client("", "alice@test.example", "carol@test.example",
                                     make_message(token, "alice@test.example")));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  const std::string tagged = msg->mail_from;
  EXPECT_EQ(tagged.rfind("prvs=", 0), 0u) << tagged;
  EXPECT_NE(tagged.find("=alice@test.example"), std::string::npos) << tagged;

  // 2. A bounce to the untagged address is refused at RCPT.
  const std::string bounce1 = unique_token("batv-untagged");
  out = send(from_client(kClientIp, "", "alice@test.example", make_message(bounce1, "")));
  EXPECT_EQ(out.stage, SmtpStage::kRcptTo) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.1") << out.describe();
  EXPECT_TRUE(harness().sink().find(bounce1).empty());

  // 3. A bounce to the tagged address is accepted and delivered without the tag.
  const std::string bounce2 = unique_token("batv-tagged");
  out = send(from_client(kClientIp, "", tagged, make_message(bounce2, "")));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto bounce = delivered(bounce2);
  ASSERT_TRUE(bounce.has_value());
  ASSERT_EQ(bounce->recipients.size(), 1u);
  EXPECT_EQ(bounce->recipients.front(), "alice@test.example");
}

}  // namespace
}  // namespace authmilter::integration

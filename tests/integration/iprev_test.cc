// iprev (RFC 8601 §3) end to end: Postfix -> authmilter -> NSD's 2.0.192.in-addr.arpa zone.
// kClientIp's PTR name resolves back to it (pass, the name in the comment); 192.0.2.11's PTR
// name does not (fail); 192.0.2.12 has no PTR (permerror). With `IPRevFail reject` the last
// two are refused at end of data with 550 5.7.25; with `IPRev off` there is no iprev entry.
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

// The raw value of our one Authentication-Results field (comments kept), or "".
std::string our_raw_auth_results(const SinkMessage& message) {
  for (const auto& f : headers_named(parse_headers(message.data), "Authentication-Results")) {
    auto ar = parse_auth_results(f.value);
    if (ar && ar->authserv_id == kAuthservId) return f.value;
  }
  return "";
}

class IprevDefaultTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon(""); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(IprevDefaultTest, ForwardConfirmedClientPassesWithItsNameAndAddress) {
  const std::string token = unique_token("iprev-pass");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const ResInfo* iprev = ours.front().find("iprev");
  ASSERT_NE(iprev, nullptr) << msg->data;
  EXPECT_EQ(iprev->result, "pass");
  EXPECT_EQ(iprev->property("policy.iprev"), kClientIp);
  EXPECT_NE(our_raw_auth_results(*msg).find("iprev=pass (mail.spf-pass.example)"),
            std::string::npos)
      << msg->data;
}

TEST_F(IprevDefaultTest, MismatchAndMissingPtrAreReportedButAcceptedByDefault) {
  for (const auto& [ip, result] : {std::pair{"192.0.2.11", "fail"}, {"192.0.2.12", "permerror"}}) {
    const std::string token = unique_token(std::string("iprev-") + result);
    Envelope e = envelope("alice@spf-pass.example", token);
    e.xclient_addr = ip;
    SmtpOutcome out = send(e);
    ASSERT_TRUE(out.accepted()) << out.describe();
    auto msg = delivered(token);
    ASSERT_TRUE(msg.has_value());
    auto ours = our_auth_results(*msg);
    ASSERT_EQ(ours.size(), 1u) << msg->data;
    const ResInfo* iprev = ours.front().find("iprev");
    ASSERT_NE(iprev, nullptr) << msg->data;
    EXPECT_EQ(iprev->result, result) << msg->data;
    EXPECT_EQ(iprev->property("policy.iprev"), ip);
  }
}

class IprevRejectTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("IPRevFail reject\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(IprevRejectTest, ClientsWithoutAConfirmedNameAreRefusedWith5725) {
  for (const char* ip : {"192.0.2.11", "192.0.2.12"}) {
    const std::string token = unique_token("iprev-reject");
    Envelope e = envelope("alice@spf-pass.example", token);
    e.xclient_addr = ip;
    SmtpOutcome out = send(e);
    EXPECT_EQ(out.stage, SmtpStage::kEndOfData) << out.describe();
    EXPECT_EQ(out.reply.code, 550) << out.describe();
    EXPECT_EQ(out.reply.enhanced, "5.7.25") << out.describe();
    EXPECT_NE(out.reply.text.find(ip), std::string::npos) << out.reply.str();
    EXPECT_TRUE(harness().sink().find(token).empty());
  }
  const std::string token = unique_token("iprev-ok");
  ASSERT_TRUE(send(envelope("alice@spf-pass.example", token)).accepted());
}

class IprevOffTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("IPRev off\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(IprevOffTest, NoIprevEntry) {
  const std::string token = unique_token("iprev-off");
  ASSERT_TRUE(send(envelope("alice@spf-pass.example", token)).accepted());
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  EXPECT_EQ(ours.front().find("iprev"), nullptr) << msg->data;
  EXPECT_NE(ours.front().find("spf"), nullptr) << msg->data;
}

}  // namespace
}  // namespace authmilter::integration

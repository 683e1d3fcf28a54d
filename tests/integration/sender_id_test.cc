// SenderID on the PRA (issue #3) through Postfix: the phish whose MAIL FROM has no SPF but
// whose From: forges an organisation is caught; a sender whose MAIL FROM passes SPF is never
// judged on its From:; a forwarded message is judged on its Resent-From:.
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

// Envelope from `mail_from`, header From: `from`.
Envelope with_from(std::string_view mail_from, std::string_view from, std::string_view token,
                   const std::vector<std::string>& extra = {}) {
  Envelope e;
  e.xclient_addr = kClientIp;
  e.helo = kHeloName;
  e.mail_from = std::string(mail_from);
  e.recipients = {kRecipient};
  e.data = make_message(token, from, extra);
  return e;
}

class SenderIdDefaultTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("MarkHeader X-Spam-Flag: YES\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(SenderIdDefaultTest, PhishWithSpfNoneGetsSenderIdFailAndMark) {
  const std::string token = unique_token("phish");
  SmtpOutcome out = send(with_from("x@spf-none.example", "it-security@state.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const ResInfo* spf = ours[0].find("spf");
  ASSERT_NE(spf, nullptr) << msg->data;
  EXPECT_EQ(spf->result, "none");
  const ResInfo* sid = ours[0].find("sender-id");
  ASSERT_NE(sid, nullptr) << msg->data;
  EXPECT_EQ(sid->result, "fail");
  EXPECT_EQ(sid->property("header.from").value_or(""), "it-security@state.example");
  EXPECT_EQ(headers_named(parse_headers(msg->data), "X-Spam-Flag").size(), 1u) << msg->data;
}

TEST_F(SenderIdDefaultTest, MarketingSenderPassingSpfIsNotCheckedAgain) {
  const std::string token = unique_token("marketing");
  SmtpOutcome out = send(with_from("bounce@spf-pass.example", "news@state.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u);
  ASSERT_NE(ours[0].find("spf"), nullptr);
  EXPECT_EQ(ours[0].find("spf")->result, "pass");
  EXPECT_EQ(ours[0].find("sender-id"), nullptr) << msg->data;
  EXPECT_TRUE(headers_named(parse_headers(msg->data), "X-Spam-Flag").empty()) << msg->data;
}

TEST_F(SenderIdDefaultTest, ForwardedMessageIsJudgedOnResentFrom) {
  const std::string token = unique_token("resent");
  SmtpOutcome out = send(with_from("x@spf-none.example", "it-security@state.example", token,
                                   {"Resent-From: <list@forwarder.example>"}));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u);
  const ResInfo* sid = ours[0].find("sender-id");
  ASSERT_NE(sid, nullptr) << msg->data;
  EXPECT_EQ(sid->result, "pass");
  EXPECT_EQ(sid->property("header.resent-from").value_or(""), "list@forwarder.example");
  EXPECT_FALSE(sid->property("header.from").has_value());
  EXPECT_TRUE(headers_named(parse_headers(msg->data), "X-Spam-Flag").empty()) << msg->data;
}

class SenderIdRejectTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("PRAFail reject\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(SenderIdRejectTest, PhishIsRejectedWith550And571) {
  const std::string token = unique_token("phish-reject");
  SmtpOutcome out = send(with_from("x@spf-none.example", "it-security@state.example", token));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.1") << out.describe();
  EXPECT_NE(out.reply.text.find("state.example"), std::string::npos) << out.reply.str();
  EXPECT_TRUE(harness().sink().find(token).empty());
}

TEST_F(SenderIdRejectTest, MarketingSenderIsStillAccepted) {
  const std::string token = unique_token("marketing-reject");
  SmtpOutcome out = send(with_from("bounce@spf-pass.example", "news@state.example", token));
  EXPECT_TRUE(out.accepted()) << out.describe();
  EXPECT_TRUE(delivered(token).has_value());
}

}  // namespace
}  // namespace authmilter::integration

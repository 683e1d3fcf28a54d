// SPF results end to end, default policy (every verdict "accept"): a message through
// Postfix -> authmilter (asking NSD) -> Postfix -> sink carries one Authentication-Results
// header (RFC 8601) with the RFC 7208 result for MAIL FROM, or for HELO with the null sender.
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

class SpfResultsTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon(""); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(SpfResultsTest, PassIsDeliveredWithOneAuthenticationResultsAtTheTop) {
  const std::string token = unique_token("pass");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());

  auto fields = parse_headers(msg->data);
  auto ar_fields = headers_named(fields, "Authentication-Results");
  ASSERT_EQ(ar_fields.size(), 1u) << msg->data;
  // At the top: Postfix puts a milter's header inserted at index 0 above even its own
  // Received header, so ours is the very first field.
  EXPECT_EQ(fields.front().name, "Authentication-Results") << msg->data;
  EXPECT_EQ(headers_named(fields, "Received").size(), 1u) << msg->data;

  auto ar = parse_auth_results(ar_fields.front().value);
  ASSERT_TRUE(ar.has_value()) << ar_fields.front().value;
  EXPECT_EQ(ar->authserv_id, "mx.test.example");
  const ResInfo* spf = ar->find("spf");
  ASSERT_NE(spf, nullptr) << ar_fields.front().value;
  EXPECT_EQ(spf->result, "pass");
  EXPECT_EQ(spf->property("smtp.mailfrom"), "alice@spf-pass.example");
  // The body arrives untouched.
  EXPECT_EQ(message_body(msg->data), message_body(make_message(token, "alice@spf-pass.example")));
}

struct SpfCase {
  const char* name;
  const char* mail_from;
  const char* result;
};

class SpfResultTokenTest : public SpfResultsTest, public ::testing::WithParamInterface<SpfCase> {};

TEST_P(SpfResultTokenTest, ResultIsReportedForMailFrom) {
  const SpfCase& c = GetParam();
  auto spf = deliver_and_get_spf(c.mail_from, unique_token(c.name));
  ASSERT_TRUE(spf.has_value());
  EXPECT_EQ(spf->result, c.result);
  EXPECT_EQ(spf->property("smtp.mailfrom"), c.mail_from);
  EXPECT_FALSE(spf->property("smtp.helo").has_value());
}

INSTANTIATE_TEST_SUITE_P(
    Results, SpfResultTokenTest,
    ::testing::Values(SpfCase{"softfail", "alice@spf-softfail.example", "softfail"},
                      SpfCase{"neutral", "alice@spf-neutral.example", "neutral"},
                      SpfCase{"none", "alice@spf-none.example", "none"},
                      SpfCase{"permerror", "alice@spf-permerror.example", "permerror"},
                      // SPFFail accept (the default): delivered, marked fail, nothing else.
                      SpfCase{"fail", "alice@spf-fail.example", "fail"},
                      // TempError accept (the default): an include NSD refuses -> temperror.
                      SpfCase{"temperror_include", "alice@spf-temperror.example", "temperror"},
                      // The sender's own domain refused: temperror as well, not none.
                      SpfCase{"temperror_domain", "alice@refused.invalid", "temperror"}),
    [](const ::testing::TestParamInfo<SpfCase>& param_info) {
      return std::string(param_info.param.name);
    });

TEST_F(SpfResultsTest, FailWithDefaultPolicyAddsNoMarkHeader) {
  const std::string token = unique_token("fail-nomark");
  SmtpOutcome out = send(envelope("alice@spf-fail.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  EXPECT_TRUE(headers_named(parse_headers(msg->data), "X-Spam-Flag").empty()) << msg->data;
}

TEST_F(SpfResultsTest, NullSenderIsCheckedByHeloName) {
  const std::string token = unique_token("nullsender");
  Envelope e = envelope("", token);
  SmtpOutcome out = send(e);
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->mail_from, "");
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const ResInfo* spf = ours.front().find("spf");
  ASSERT_NE(spf, nullptr) << msg->data;
  EXPECT_EQ(spf->result, "pass");
  EXPECT_EQ(spf->property("smtp.helo"), std::string(kHeloName))
      << "RFC 8601 §2.7.2: smtp.helo is the HELO/EHLO domain itself";
  EXPECT_FALSE(spf->property("smtp.mailfrom").has_value()) << msg->data;
}

TEST_F(SpfResultsTest, NoReceivedSpfHeaderUnlessConfigured) {
  const std::string token = unique_token("no-received-spf");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  EXPECT_TRUE(headers_named(parse_headers(msg->data), "Received-SPF").empty()) << msg->data;
}

}  // namespace
}  // namespace authmilter::integration

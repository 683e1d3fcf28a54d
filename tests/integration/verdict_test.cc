// Verdicts end to end (DESIGN §6), as the SMTP client and the next hop see them:
// reject -> 550 5.7.23 and nothing delivered; tempfail -> 451 4.4.3; quarantine -> Postfix's
// hold queue; mark -> the MarkHeader on the delivered message; AddReceivedSPF -> a
// Received-SPF header (RFC 7208 §9.1).
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

// Every action that stops or diverts mail, in one daemon.
class StrictPolicyTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon(
        "SPFFail reject\n"
        "SPFSoftFail quarantine\n"
        "TempError tempfail\n"
        "AddReceivedSPF yes\n");
  }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(StrictPolicyTest, FailIsRejectedWith550And5723) {
  const std::string token = unique_token("reject");
  SmtpOutcome out = send(envelope("alice@spf-fail.example", token));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.23") << out.describe();
  EXPECT_NE(out.reply.text.find("spf-fail.example"), std::string::npos)
      << "the text should name the domain: " << out.reply.str();
  // Refused in the SMTP session, so never queued: the sink cannot get it later either.
  EXPECT_TRUE(out.queue_id.empty());
  EXPECT_TRUE(harness().sink().find(token).empty());
  EXPECT_FALSE(harness().postfix().find_held(token, std::chrono::milliseconds(0)).has_value());
}

TEST_F(StrictPolicyTest, TempErrorIsDeferredWith451And443AtEndOfData) {
  const std::string token = unique_token("tempfail");
  SmtpOutcome out = send(envelope("alice@spf-temperror.example", token));
  EXPECT_EQ(out.stage, SmtpStage::kEndOfData) << out.describe();
  EXPECT_EQ(out.reply.code, 451) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "4.4.3") << out.describe();
  EXPECT_TRUE(harness().sink().find(token).empty());
}

TEST_F(StrictPolicyTest, SoftfailIsQuarantinedInTheHoldQueue) {
  const std::string token = unique_token("quarantine");
  SmtpOutcome out = send(envelope("alice@spf-softfail.example", token));
  // Quarantine accepts the message (the client must not retry) and Postfix holds it.
  ASSERT_TRUE(out.accepted()) << out.describe();
  ASSERT_FALSE(out.queue_id.empty()) << out.reply.str();
  auto held = harness().postfix().find_held(token, std::chrono::seconds(10));
  ASSERT_TRUE(held.has_value()) << "not in the hold queue; held ids: "
                                << harness().postfix().hold_queue_ids().size();
  EXPECT_EQ(held->queue_id, out.queue_id);
  // The held copy already carries our verdict header.
  EXPECT_NE(held->content.find("Authentication-Results: mx.test.example"), std::string::npos)
      << held->content;
  EXPECT_NE(held->content.find("spf=softfail"), std::string::npos) << held->content;
  // Held means not delivered: Postfix logs the hold, and the sink has nothing.
  EXPECT_NE(harness().postfix().maillog().find(out.queue_id + ": milter-hold:"), std::string::npos)
      << tail_lines(harness().postfix().maillog(), 20);
  EXPECT_TRUE(harness().sink().find(token).empty());
}

TEST_F(StrictPolicyTest, PassIsDeliveredWithReceivedSpf) {
  const std::string token = unique_token("received-spf");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto fields = parse_headers(msg->data);
  auto received_spf = headers_named(fields, "Received-SPF");
  ASSERT_EQ(received_spf.size(), 1u) << msg->data;
  // RFC 7208 §9.1: result first, then key=value pairs naming the client and identity.
  const std::string& v = received_spf.front().value;
  EXPECT_EQ(v.rfind("pass", 0), 0u) << v;
  EXPECT_NE(v.find("client-ip=192.0.2.10"), std::string::npos) << v;
  EXPECT_NE(v.find("envelope-from="), std::string::npos) << v;
  EXPECT_NE(v.find("alice@spf-pass.example"), std::string::npos) << v;
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  ASSERT_NE(ours.front().find("spf"), nullptr);
  EXPECT_EQ(ours.front().find("spf")->result, "pass");
}

TEST_F(StrictPolicyTest, NeutralIsStillAccepted) {
  // Only the configured outcomes change; neutral has no verdict key.
  auto spf = deliver_and_get_spf("alice@spf-neutral.example", unique_token("neutral-strict"));
  ASSERT_TRUE(spf.has_value());
  EXPECT_EQ(spf->result, "neutral");
}

// TempError accept with the same DNS failure: delivered, reported as temperror.
class TempErrorAcceptTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("TempError accept\nSPFFail reject\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(TempErrorAcceptTest, TempErrorIsDeliveredAndReported) {
  auto spf = deliver_and_get_spf("alice@spf-temperror.example", unique_token("temperror-accept"));
  ASSERT_TRUE(spf.has_value());
  EXPECT_EQ(spf->result, "temperror");
  EXPECT_EQ(spf->property("smtp.mailfrom"), "alice@spf-temperror.example");
}

// The mark action: delivered, with the configured MarkHeader for the spam filter.
class MarkPolicyTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("SPFFail mark\nMarkHeader X-Spam-Flag: YES\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(MarkPolicyTest, FailIsDeliveredWithMarkHeader) {
  const std::string token = unique_token("mark");
  SmtpOutcome out = send(envelope("alice@spf-fail.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto fields = parse_headers(msg->data);
  auto flag = headers_named(fields, "X-Spam-Flag");
  ASSERT_EQ(flag.size(), 1u) << msg->data;
  EXPECT_EQ(flag.front().value, "YES");
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  ASSERT_NE(ours.front().find("spf"), nullptr);
  EXPECT_EQ(ours.front().find("spf")->result, "fail");
}

TEST_F(MarkPolicyTest, PassIsNotMarked) {
  const std::string token = unique_token("mark-pass");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  EXPECT_TRUE(headers_named(parse_headers(msg->data), "X-Spam-Flag").empty()) << msg->data;
}

}  // namespace
}  // namespace authmilter::integration

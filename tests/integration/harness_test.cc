// The harness checks itself: DNS answers as the SPF tests assume, Postfix relays to the
// sink, a missing milter defers mail (milter_default_action = tempfail), and the parsing
// helpers the assertions rely on read what they should. None of this needs the daemon.
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

class HarnessTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    if (HasFatalFailure()) return;
    // These tests need the milter port dead; suites stop their daemon when they finish.
    harness().stop_daemon();
  }
};

TEST_F(HarnessTest, NsdServesTheSpfTestRecords) {
  const std::uint16_t port = harness().dns().port();
  auto pass = dns_query(port, "spf-pass.example", kTypeTxt, std::chrono::seconds(2));
  ASSERT_TRUE(pass.has_value());
  EXPECT_EQ(pass->rcode, 0);
  EXPECT_TRUE(pass->authoritative);
  EXPECT_EQ(pass->txt, std::vector<std::string>{"v=spf1 ip4:192.0.2.10 -all"});

  auto perm = dns_query(port, "SPF-PermError.Example", kTypeTxt, std::chrono::seconds(2));
  ASSERT_TRUE(perm.has_value());
  EXPECT_EQ(perm->rcode, 0);
  EXPECT_EQ(perm->txt.size(), 2u) << "permerror needs two v=spf1 records";

  auto missing = dns_query(port, "no-such-name.example", kTypeTxt, std::chrono::seconds(2));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->rcode, 3) << "NXDOMAIN inside the zone";
}

TEST_F(HarnessTest, NsdRefusesNamesOutsideItsZones) {
  // The temperror tests depend on this: refused.invalid is not NSD's to answer.
  auto r = dns_query(harness().dns().port(), "refused.invalid", kTypeTxt, std::chrono::seconds(2));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rcode, 5);
  EXPECT_EQ(r->answer_count, 0);
}

TEST_F(HarnessTest, PostfixRelaysToTheSinkWithoutMilter) {
  const std::string token = unique_token("plain");
  Envelope e = envelope("alice@spf-pass.example", token, {"X-Extra: kept as is"});
  e.recipients = {"bob@test.example", "carol@test.example"};
  SmtpOutcome out = send_mail(harness().postfix().plain_smtp_port(), e);
  ASSERT_TRUE(out.accepted()) << out.describe();
  EXPECT_FALSE(out.queue_id.empty()) << out.reply.str();

  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value()) << "not delivered within " << kDeliveryTimeout.count() << " s";
  EXPECT_EQ(msg->mail_from, "alice@spf-pass.example");
  EXPECT_EQ(msg->recipients, (std::vector<std::string>{"bob@test.example", "carol@test.example"}));
  EXPECT_EQ(msg->helo, "mx.test.example");
  auto fields = parse_headers(msg->data);
  ASSERT_FALSE(fields.empty());
  // Postfix prepends its Received header, naming the XCLIENT address, and nothing else.
  EXPECT_EQ(fields.front().name, "Received");
  EXPECT_NE(fields.front().value.find("[192.0.2.10]"), std::string::npos) << fields.front().value;
  EXPECT_NE(fields.front().value.find(out.queue_id), std::string::npos);
  EXPECT_TRUE(headers_named(fields, "Authentication-Results").empty());
  EXPECT_EQ(headers_named(fields, "X-Extra").size(), 1u);
  // The body arrives byte for byte, dot-stuffing undone by the sink.
  EXPECT_EQ(message_body(msg->data), message_body(e.data));
}

TEST_F(HarnessTest, MilterDownDefersMail) {
  // milter_default_action = tempfail: with no daemon on the milter port nothing is queued.
  const std::string token = unique_token("nomilter");
  SmtpOutcome out = send(envelope("alice@spf-pass.example", token));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code / 100, 4) << out.describe();
  EXPECT_TRUE(harness().sink().find(token).empty());
}

TEST(SmtpReplyTest, ParsesMultiLineReplyWithEnhancedCode) {
  SmtpReply r = parse_reply({"550-5.7.23 first", "550 5.7.23 second"});
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.7.23");
  EXPECT_EQ(r.text, "first\nsecond");
  EXPECT_FALSE(r.positive());
  EXPECT_EQ(r.str(), "550 5.7.23 first\nsecond");
}

TEST(SmtpReplyTest, RejectsMalformedReplies) {
  EXPECT_EQ(parse_reply({}).code, 0);
  EXPECT_EQ(parse_reply({"25"}).code, 0);
  EXPECT_EQ(parse_reply({"abc hello"}).code, 0);
  EXPECT_EQ(parse_reply({"250-a", "251 b"}).code, 0) << "codes must agree";
  EXPECT_EQ(parse_reply({"999 x"}).code, 0);
  SmtpReply no_enhanced = parse_reply({"354 End data with <CR><LF>.<CR><LF>"});
  EXPECT_EQ(no_enhanced.code, 354);
  EXPECT_EQ(no_enhanced.enhanced, "");
}

TEST(SmtpDataTest, DotStuffsAndNormalizesLineEnds) {
  EXPECT_EQ(smtp_data_encode("a\n.b\r\n..c"), "a\r\n..b\r\n...c\r\n");
  EXPECT_EQ(smtp_data_encode(""), "");
  EXPECT_EQ(smtp_data_encode("."), "..\r\n");
}

TEST(HeaderParseTest, UnfoldsAndStopsAtBody) {
  auto f = parse_headers("A: 1\r\nB: two\r\n\tlines\r\nnot a header\r\n\r\nC: body\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].name, "B");
  EXPECT_EQ(f[1].value, "two lines");
  EXPECT_EQ(index_of(f, "b"), 1u);
  EXPECT_FALSE(index_of(f, "C").has_value());
  EXPECT_EQ(message_body("A: 1\r\n\r\nbody\r\n"), "body\r\n");
}

TEST(AuthResultsParseTest, ReadsIdResultsAndProperties) {
  auto ar = parse_auth_results(
      "MX.Test.Example 1; spf=pass (sender SPF authorized; really) smtp.mailfrom=a@b.example;\n"
      "\tdkim=none; dmarc=fail (p=reject) header.from=\"b.example\"");
  ASSERT_TRUE(ar.has_value());
  EXPECT_EQ(ar->authserv_id, "mx.test.example");
  ASSERT_EQ(ar->results.size(), 3u);
  const ResInfo* spf = ar->find("SPF");
  ASSERT_NE(spf, nullptr);
  EXPECT_EQ(spf->result, "pass");
  EXPECT_EQ(spf->property("smtp.mailfrom"), "a@b.example");
  EXPECT_EQ(ar->find("dmarc")->property("header.from"), "b.example");
  EXPECT_EQ(ar->find("dkim")->result, "none");
  EXPECT_FALSE(parse_auth_results("   ").has_value());
  auto none = parse_auth_results("mx.test.example; none");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->results.front().method, "none");
}

}  // namespace
}  // namespace authmilter::integration

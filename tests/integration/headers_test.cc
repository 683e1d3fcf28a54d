// Header hygiene end to end (RFC 8601 §5): Authentication-Results claiming our authserv-id
// that arrive from outside are removed, others are kept; internal clients (InternalHosts,
// 127.0.0.1 here) are not checked and get no header.
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

class HeaderHandlingTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon(""); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(HeaderHandlingTest, ForgedResultsForOurIdAreRemovedOthersKept) {
  const std::string token = unique_token("forged");
  Envelope e =
      envelope("alice@spf-fail.example", token,
               {"Authentication-Results: mx.test.example; spf=pass "
                "smtp.mailfrom=alice@spf-fail.example",
                "Authentication-Results: MX.TEST.EXAMPLE;\r\n\tdkim=pass header.d=forged.example",
                "Authentication-Results: other.example; spf=pass "
                "smtp.mailfrom=alice@spf-fail.example"});
  SmtpOutcome out = send(e);
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());

  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << "the forged ones must be gone, ours added:\n" << msg->data;
  const ResInfo* spf = ours.front().find("spf");
  ASSERT_NE(spf, nullptr);
  EXPECT_EQ(spf->result, "fail") << "our real verdict, not the forged pass";
  // The message is unsigned: our dkim=none, never the forged dkim=pass.
  const ResInfo* dkim = ours.front().find("dkim");
  ASSERT_NE(dkim, nullptr) << msg->data;
  EXPECT_EQ(dkim->result, "none") << "the forged dkim=pass must not survive";

  std::vector<AuthResults> others;
  for (const auto& f : headers_named(parse_headers(msg->data), "Authentication-Results")) {
    auto ar = parse_auth_results(f.value);
    ASSERT_TRUE(ar.has_value()) << f.value;
    if (ar->authserv_id == "other.example") others.push_back(*ar);
  }
  ASSERT_EQ(others.size(), 1u) << msg->data;
  ASSERT_NE(others.front().find("spf"), nullptr);
  EXPECT_EQ(others.front().find("spf")->result, "pass");
}

TEST_F(HeaderHandlingTest, InternalClientGetsNoHeader) {
  // No XCLIENT: Postfix and the milter see 127.0.0.1, an InternalHost.
  const std::string token = unique_token("internal");
  Envelope e = envelope("alice@spf-fail.example", token);
  e.xclient_addr.clear();
  SmtpOutcome out = send(e);
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto fields = parse_headers(msg->data);
  EXPECT_TRUE(headers_named(fields, "Authentication-Results").empty()) << msg->data;
  EXPECT_TRUE(headers_named(fields, "Received-SPF").empty()) << msg->data;
}

TEST_F(HeaderHandlingTest, EachMessageOfOneSessionGetsItsOwnResult) {
  // Two transactions over one SMTP connection, hence one milter connection: the second
  // message must not inherit the first one's result (per-transaction state, reset at MAIL).
  const std::string first = unique_token("seq-pass");
  const std::string second = unique_token("seq-softfail");
  auto outcomes = send_session(
      harness().postfix().milter_smtp_port(),
      {envelope("alice@spf-pass.example", first), envelope("alice@spf-softfail.example", second)});
  ASSERT_EQ(outcomes.size(), 2u) << outcomes.front().describe();
  ASSERT_TRUE(outcomes[0].accepted()) << outcomes[0].describe();
  ASSERT_TRUE(outcomes[1].accepted()) << outcomes[1].describe();
  auto m1 = delivered(first);
  auto m2 = delivered(second);
  ASSERT_TRUE(m1 && m2);
  auto r1 = our_auth_results(*m1);
  auto r2 = our_auth_results(*m2);
  ASSERT_EQ(r1.size(), 1u);
  ASSERT_EQ(r2.size(), 1u);
  ASSERT_NE(r1.front().find("spf"), nullptr);
  ASSERT_NE(r2.front().find("spf"), nullptr);
  EXPECT_EQ(r1.front().find("spf")->result, "pass");
  EXPECT_EQ(r2.front().find("spf")->result, "softfail");
  EXPECT_EQ(r2.front().find("spf")->property("smtp.mailfrom"), "alice@spf-softfail.example");
}

}  // namespace
}  // namespace authmilter::integration

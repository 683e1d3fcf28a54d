// DMARC as RFC 9989 defines it (issue 12), end to end through Postfix and NSD
// (zone rfc9989.example in harness.cc), in both DMARCDiscovery modes where they differ:
// - a From: three labels below the only record: the tree walk finds it, the public suffix
//   list (organizational domain rfc9989.example) does not;
// - a psd=y parent: its subdomains are different organizations for the walk (SPF of a
//   sibling does not align), one organization for the PSL;
// - np=reject for a non-existent subdomain while sp=none holds for an existing one;
// - t=y turning a reject into quarantine (DMARCQuarantine mark).
#include <gtest/gtest.h>

#include "harness.h"

namespace authmilter::integration {
namespace {

Envelope from_header(std::string_view mail_from, std::string_view from, std::string_view token) {
  Envelope e;
  e.xclient_addr = kClientIp;
  e.helo = kHeloName;
  e.mail_from = std::string(mail_from);
  e.recipients = {kRecipient};
  e.data = make_message(token, from);
  return e;
}

class DmarcTreeWalkTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon("DMARCDiscovery treewalk\nDMARCReject reject\nDMARCQuarantine mark\n");
  }
  static void TearDownTestSuite() { stop_daemon(); }

  // Sends, expects delivery, returns our dmarc resinfo.
  std::optional<ResInfo> delivered_dmarc(const Envelope& e, std::string_view token,
                                         std::string* message = nullptr) {
    SmtpOutcome out = send(e);
    EXPECT_TRUE(out.accepted()) << out.describe();
    if (!out.accepted()) return std::nullopt;
    auto msg = delivered(token);
    EXPECT_TRUE(msg.has_value());
    if (!msg) return std::nullopt;
    if (message != nullptr) *message = msg->data;
    auto ours = our_auth_results(*msg);
    EXPECT_EQ(ours.size(), 1u) << msg->data;
    if (ours.empty() || ours.front().find("dmarc") == nullptr) return std::nullopt;
    return *ours.front().find("dmarc");
  }
};

TEST_F(DmarcTreeWalkTest, RecordThreeLabelsAboveTheFromDomainRejects) {
  const std::string token = unique_token("walk-deep");
  SmtpOutcome out =
      send(from_header("alice@spf-pass.example", "ceo@a.b.c.dept.rfc9989.example", token));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_NE(out.reply.text.find("DMARC policy of dept.rfc9989.example is reject"),
            std::string::npos)
      << out.reply.str();
}

TEST_F(DmarcTreeWalkTest, PsdParentMakesSiblingsDifferentOrganizations) {
  // SPF passes for mega.psd.rfc9989.example, but giant and mega are different organizations
  // under the psd=y record: not aligned, and the PSD's p=reject applies.
  const std::string token = unique_token("walk-psd");
  SmtpOutcome out =
      send(from_header("bounce@mega.psd.rfc9989.example", "ceo@giant.psd.rfc9989.example", token));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_NE(out.reply.text.find("DMARC policy of psd.rfc9989.example is reject"), std::string::npos)
      << out.reply.str();
}

TEST_F(DmarcTreeWalkTest, NpRejectsNonExistentSubdomainSpNoneKeepsExistingOne) {
  const std::string ghost = unique_token("walk-np");
  SmtpOutcome out =
      send(from_header("alice@spf-pass.example", "x@ghost.np.rfc9989.example", ghost));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  const std::string token = unique_token("walk-sp");
  std::string message;
  auto dmarc = delivered_dmarc(
      from_header("alice@spf-pass.example", "x@exists.np.rfc9989.example", token), token, &message);
  ASSERT_TRUE(dmarc.has_value()) << message;
  EXPECT_EQ(dmarc->result, "fail");
  EXPECT_EQ(dmarc->property("policy.dmarc").value_or(""), "none") << message;
  EXPECT_EQ(dmarc->property("header.from").value_or(""), "exists.np.rfc9989.example");
}

TEST_F(DmarcTreeWalkTest, TestingTurnsRejectIntoQuarantine) {
  const std::string token = unique_token("walk-t");
  std::string message;
  auto dmarc = delivered_dmarc(
      from_header("alice@spf-pass.example", "x@testing.rfc9989.example", token), token, &message);
  ASSERT_TRUE(dmarc.has_value()) << message;
  EXPECT_EQ(dmarc->result, "fail");
  EXPECT_EQ(dmarc->property("policy.dmarc").value_or(""), "quarantine") << message;
  // DMARCQuarantine mark: the spam filter downstream sees the mark header.
  EXPECT_NE(message.find("X-Spam-Flag: YES"), std::string::npos) << message;
  // The A-R comment names the tags that decided and the policy domain.
  EXPECT_NE(message.find("p=reject t=y; policy domain testing.rfc9989.example"), std::string::npos)
      << message;
}

// The same zone the RFC 7489 way: the organizational domain from the public suffix list.
class DmarcPslTest : public DmarcTreeWalkTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon("DMARCDiscovery psl\nDMARCReject reject\nDMARCQuarantine mark\n");
  }
};

TEST_F(DmarcPslTest, RecordThreeLabelsAboveIsNotFoundByThePsl) {
  const std::string token = unique_token("psl-deep");
  auto dmarc = delivered_dmarc(
      from_header("alice@spf-pass.example", "ceo@a.b.c.dept.rfc9989.example", token), token);
  ASSERT_TRUE(dmarc.has_value());
  EXPECT_EQ(dmarc->result, "none");
}

TEST_F(DmarcPslTest, PsdSiblingsAreOneOrganizationForThePsl) {
  const std::string token = unique_token("psl-psd");
  auto dmarc = delivered_dmarc(
      from_header("bounce@mega.psd.rfc9989.example", "ceo@giant.psd.rfc9989.example", token),
      token);
  ASSERT_TRUE(dmarc.has_value());
  // No record at giant.psd nor at the PSL organizational domain rfc9989.example.
  EXPECT_EQ(dmarc->result, "none");
}

TEST_F(DmarcPslTest, TestingAppliesInPslModeToo) {
  const std::string token = unique_token("psl-t");
  auto dmarc = delivered_dmarc(
      from_header("alice@spf-pass.example", "x@testing.rfc9989.example", token), token);
  ASSERT_TRUE(dmarc.has_value());
  EXPECT_EQ(dmarc->property("policy.dmarc").value_or(""), "quarantine");
}

}  // namespace
}  // namespace authmilter::integration

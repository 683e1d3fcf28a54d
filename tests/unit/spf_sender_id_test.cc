// SenderID (RFC 4406) on the SPF Checker: record selection for the pra scope, the PRA check
// over ZoneResolver, and the two scenarios of issue #3.
//
// Record selection, RFC 4406:
//   §3.4: "v=spf1" is read as "spf2.0/mfrom,pra" provided no record starting with "spf2.0"
//         exists; a domain opts out of PRA checks with "spf2.0/pra ?all".
//   §4.4: records not of version spf2.0 or v=spf1 are discarded; if spf2.0 records remain,
//         v=spf1 records are discarded; records without the checked scope are discarded; none
//         left: "none"; more than one: permerror.
// Zones copied by hand from Mail::SPF's t/rfc4406-tests.yml (CPAN Mail-SPF v2.9.0) and
// Mail::SPF::Iterator's t/misc.yml. Both files check the *mfrom* scope with Sender ID rules; our
// MAIL FROM check is RFC 7208, which ignores spf2.0 records (§4.5), so their zones are
// evaluated here for the pra scope (RFC 4406 rules) and for MAIL FROM (RFC 7208 rules), and
// each expectation below says which rule gives it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/mail/pra.h"
#include "authmilter/spf/spf.h"
#include "record_selection.h"  // src/spf/

namespace authmilter::spf {
namespace {

using Outcome = RecordSelection::Outcome;

dns::Deadline later() { return dns::Clock::now() + std::chrono::seconds(30); }

struct SelectionCase {
  const char* why;
  std::vector<std::string> texts;
  Outcome outcome;
  std::string record;  // kFound only
};

TEST(SenderIdSelection, PraScopeTable) {
  const SelectionCase cases[] = {
      // §3.2 scope lists naming pra
      {"pra record",
       {"spf2.0/pra ip4:192.0.2.1 -all"},
       Outcome::kFound,
       "v=spf1 ip4:192.0.2.1 -all"},
      {"mfrom,pra record", {"spf2.0/mfrom,pra -all"}, Outcome::kFound, "v=spf1 -all"},
      {"pra,mfrom record", {"spf2.0/pra,mfrom -all"}, Outcome::kFound, "v=spf1 -all"},
      {"pra record without terms", {"spf2.0/pra"}, Outcome::kFound, "v=spf1"},
      {"version and scope case-insensitive", {"SPF2.0/PRA -all"}, Outcome::kFound, "v=spf1 -all"},
      {"mixed case scope list", {"Spf2.0/MFrom,Pra ~all"}, Outcome::kFound, "v=spf1 ~all"},
      {"unknown scope next to pra", {"spf2.0/pra,foo -all"}, Outcome::kFound, "v=spf1 -all"},
      {"unknown scope before pra", {"spf2.0/foo,pra -all"}, Outcome::kFound, "v=spf1 -all"},
      // §4.4: spf2.0 for the scope beats v=spf1 (rfc4406-tests v2-preferred-over-v1, pra scope)
      {"spf2.0/pra over v=spf1",
       {"v=spf1 +all", "spf2.0/pra -all"},
       Outcome::kFound,
       "v=spf1 -all"},
      {"spf2.0/pra over several v=spf1",
       {"v=spf1 +all", "spf2.0/pra -all", "v=spf1 ?all"},
       Outcome::kFound,
       "v=spf1 -all"},
      {"one pra record among other spf2.0 records",
       {"spf2.0/mfrom +all", "spf2.0/pra -all", "v=spf1 +all"},
       Outcome::kFound,
       "v=spf1 -all"},
      // §3.4: v=spf1 stands for spf2.0/mfrom,pra when there is no spf2.0 record at all
      {"v=spf1 only", {"v=spf1 ip4:192.0.2.1 -all"}, Outcome::kFound, "v=spf1 ip4:192.0.2.1 -all"},
      {"v=spf1 with unrelated TXT",
       {"google-site-verification=x", "v=spf1 -all"},
       Outcome::kFound,
       "v=spf1 -all"},
      {"spf2.1 is not spf2.0", {"spf2.1/pra +all", "v=spf1 -all"}, Outcome::kFound, "v=spf1 -all"},
      {"spf2.01 is not spf2.0",
       {"spf2.01/pra +all", "v=spf1 -all"},
       Outcome::kFound,
       "v=spf1 -all"},
      {"leading space is not a record",
       {" spf2.0/pra +all", "v=spf1 -all"},
       Outcome::kFound,
       "v=spf1 -all"},
      // §3.4/§4.4: spf2.0 records exist but none for pra: v=spf1 is discarded, result none
      {"spf2.0/mfrom blocks v=spf1", {"v=spf1 -all", "spf2.0/mfrom +all"}, Outcome::kNone, ""},
      {"spf2.0/mfrom alone", {"spf2.0/mfrom -all"}, Outcome::kNone, ""},
      {"unknown scope only", {"spf2.0/foo -all", "v=spf1 +all"}, Outcome::kNone, ""},
      {"pra prefix is another scope", {"spf2.0/prax -all", "v=spf1 +all"}, Outcome::kNone, ""},
      {"scope glued to a term", {"spf2.0/pra-all", "v=spf1 +all"}, Outcome::kNone, ""},
      {"empty scope list", {"spf2.0/ -all", "v=spf1 +all"}, Outcome::kNone, ""},
      {"empty scope element", {"spf2.0/,mfrom -all", "v=spf1 +all"}, Outcome::kNone, ""},
      {"version without scope", {"spf2.0 -all", "v=spf1 +all"}, Outcome::kNone, ""},
      // nothing
      {"no records", {}, Outcome::kNone, ""},
      {"no policy records", {"hello", "v=spf10 -all"}, Outcome::kNone, ""},
      // §4.4: more than one record for the scope is permerror (rfc4406-tests redundant-v2)
      {"two pra records", {"spf2.0/pra -all", "spf2.0/mfrom,pra -all"}, Outcome::kMultiple, ""},
      {"two pra records beside v=spf1",
       {"spf2.0/mfrom -all", "spf2.0/mfrom,pra -all", "spf2.0/pra +all", "v=spf1 -all"},
       Outcome::kMultiple,
       ""},
      {"two v=spf1 and no spf2.0", {"v=spf1 -all", "v=spf1 +all"}, Outcome::kMultiple, ""},
  };
  for (const SelectionCase& c : cases) {
    const RecordSelection got = select_record(c.texts, Scope::kPra);
    EXPECT_EQ(got.outcome, c.outcome) << c.why;
    if (c.outcome == Outcome::kFound) {
      EXPECT_EQ(got.record, c.record) << c.why;
    }
  }
}

TEST(SenderIdSelection, MailFromScopeIgnoresSpf2) {
  // RFC 7208 §4.5: an RFC 7208 checker reads v=spf1 only. This is where rfc4406-tests.yml
  // (which checks mfrom with Sender ID rules) and we part: its v2-preferred-over-v1 expects
  // "fail" from spf2.0/mfrom; we evaluate v=spf1 +all.
  const RecordSelection v2_v1 =
      select_record({"spf2.0/mfrom -all", "v=spf1 +all"}, Scope::kMailFrom);
  EXPECT_EQ(v2_v1.outcome, Outcome::kFound);
  EXPECT_EQ(v2_v1.record, "v=spf1 +all");
  EXPECT_EQ(select_record({"spf2.0/mfrom,pra +all"}, Scope::kMailFrom).outcome, Outcome::kNone);
  EXPECT_EQ(select_record({"spf2.0/pra +all"}, Scope::kHelo).outcome, Outcome::kNone);
}

class SenderIdTest : public ::testing::Test {
 protected:
  CheckResult pra(const std::string& ip, const std::string& address) {
    return checker_.check(Request{ip, "mail.example.net", address, Identity::kPra}, later());
  }
  CheckResult mail_from(const std::string& ip, const std::string& address) {
    return checker_.check(Request{ip, "mail.example.net", address, Identity::kMailFrom}, later());
  }

  dns::ZoneResolver zone_;
  Checker checker_{zone_, CheckerOptions{"mx.example.net"}};
};

TEST_F(SenderIdTest, Rfc4406TestSuiteZones) {
  // rfc4406-tests.yml "Selecting records", host 1.2.3.4. Its names "v2+v1.example.com" and
  // "v2+v2+v1.example.com" are spelled with '-' here: '+' is not allowed in a host name and
  // the Checker answers "none" for such a domain before any lookup.
  zone_.load(R"(
v2-v1.example.com TXT "spf2.0/mfrom -all"
v2-v1.example.com TXT "v=spf1 +all"
v2-v2-v1.example.com TXT "spf2.0/mfrom -all"
v2-v2-v1.example.com TXT "spf2.0/mfrom,pra -all"
v2-v2-v1.example.com TXT "v=spf1 -all"
)");
  struct Case {
    const char* address;
    Identity identity;
    Result result;
    const char* rule;
  };
  const Case cases[] = {
      // v2-preferred-over-v1: the suite expects fail for mfrom under RFC 4406 §4.4; pra: the
      // spf2.0 record hides v=spf1 and names no pra scope.
      {"foo@v2-v1.example.com", Identity::kPra, Result::kNone, "RFC 4406 §3.4/§4.4"},
      {"foo@v2-v1.example.com", Identity::kMailFrom, Result::kPass, "RFC 7208 §4.5"},
      // redundant-v2: the suite expects permerror for mfrom (two spf2.0 records name mfrom);
      // exactly one names pra.
      {"foo@v2-v2-v1.example.com", Identity::kPra, Result::kFail, "RFC 4406 §4.4"},
      {"foo@v2-v2-v1.example.com", Identity::kMailFrom, Result::kFail, "RFC 7208 §4.5"},
  };
  for (const Case& c : cases) {
    const CheckResult r =
        checker_.check(Request{"1.2.3.4", "mail.example.com", c.address, c.identity}, later());
    EXPECT_EQ(r.result, c.result) << c.address << " " << to_string(c.identity) << " (" << c.rule
                                  << "): " << r.comment;
    EXPECT_EQ(r.identity, c.identity);
    if (c.result == Result::kNone) {  // from record selection, not a refused domain
      EXPECT_NE(r.comment.find("does not provide an SPF record"), std::string::npos) << r.comment;
    }
  }
}

TEST_F(SenderIdTest, RedundantPraRecordsArePermError) {
  zone_.load(R"(
v2-v2.example.com TXT "spf2.0/pra +all"
v2-v2.example.com TXT "spf2.0/mfrom,pra -all"
v2-v2.example.com TXT "v=spf1 +all"
)");
  const CheckResult r = pra("1.2.3.4", "foo@v2-v2.example.com");
  EXPECT_EQ(r.result, Result::kPermError) << r.comment;
  EXPECT_NE(r.comment.find("more than one"), std::string::npos) << r.comment;
  // MAIL FROM sees one v=spf1 record.
  EXPECT_EQ(mail_from("1.2.3.4", "foo@v2-v2.example.com").result, Result::kPass);
}

TEST_F(SenderIdTest, MailSpfIteratorMiscZones) {
  // Mail-SPF-Iterator-misc.yml, host 1.2.3.5 / 2.3.4.5 / 3.4.5.6, SPF entries served as TXT.
  zone_.load(R"(
example.net CNAME example.com
example.com TXT "v=spf1 ip4:1.2.3.5 -all"
example2.net TXT "spf2.0/pra,mfrom ip4:1.2.3.5 -all"
example3.net TXT "spf2.0/pra -ip4:1.2.3.5 all"
example3.net TXT "spf2.0/mfrom ip4:1.2.3.5 -all"
example4.net TXT "spf2.0/mfrom -ip4:1.2.3.5 all"
example4.net TXT "spf2.0/pra ip4:1.2.3.5 -all"
example5.net TXT "spf2.0/mfrom -ip4:1.2.3.5 all"
example5.net TXT "v=spf1 ip4:1.2.3.5 -all"
example6.net TXT "v=spf1 ptr:friend.example6.net -all"
5.4.3.2.in-addr.arpa CNAME two.three.four.five.example.net
two.three.four.five.example.net PTR friend.example6.net
friend.example6.net A 2.3.4.5
example7.net TXT "v=spf1 include:example.com include:example8.net -all"
example8.net TXT "v=spf1 ip4:2.3.4.5 ip4:3.4.5.6 -all"
)");
  struct Case {
    const char* name;  // the suite's test name
    const char* ip;
    const char* address;
    Result pra_result;        // RFC 4406 rules
    Result mail_from_result;  // RFC 7208 rules
  };
  const Case cases[] = {
      // The suite expects pass for mfrom (Mail::SPF::Iterator reads spf2.0/mfrom); RFC 7208
      // ignores spf2.0 records (README: "none"). Its pra record passes.
      {"sender-id", "1.2.3.5", "user@example2.net", Result::kPass, Result::kNone},
      // sender-id-pick-mfrom1/2: the suite picks the mfrom record (pass / fail); the pra
      // records say the opposite.
      {"sender-id-pick-mfrom1", "1.2.3.5", "user@example3.net", Result::kFail, Result::kNone},
      {"sender-id-pick-mfrom2", "1.2.3.5", "user@example4.net", Result::kPass, Result::kNone},
      // sender-id-pick-spf: the suite picks v=spf1 (pass). For pra the spf2.0/mfrom record
      // hides v=spf1 (RFC 4406 §3.4): none.
      {"sender-id-pick-spf", "1.2.3.5", "user@example5.net", Result::kNone, Result::kPass},
      // Plain SPF tests: the pra scope falls back to v=spf1 throughout, includes too.
      {"spf-by-cname", "1.2.3.5", "user@example.net", Result::kPass, Result::kPass},
      {"ptr-cname", "2.3.4.5", "user@example6.net", Result::kPass, Result::kPass},
      {"second-include", "3.4.5.6", "user@example7.net", Result::kPass, Result::kPass},
      {"domain-dots-at-end", "1.2.3.5", "user@example5.net....", Result::kNone, Result::kNone},
  };
  for (const Case& c : cases) {
    const CheckResult p = pra(c.ip, c.address);
    EXPECT_EQ(p.result, c.pra_result) << c.name << " pra: " << p.comment;
    EXPECT_EQ(p.domain.empty(), std::string_view(c.name) == "domain-dots-at-end") << c.name;
    const CheckResult m = mail_from(c.ip, c.address);
    EXPECT_EQ(m.result, c.mail_from_result) << c.name << " mailfrom: " << m.comment;
  }
}

TEST_F(SenderIdTest, IncludeAndRedirectKeepThePraScope) {
  zone_.load(R"(
top.example TXT "spf2.0/pra include:inc-pra.example include:inc-spf1.example -all"
top.example TXT "v=spf1 -all"
inc-pra.example TXT "spf2.0/pra ip4:192.0.2.1 -all"
inc-pra.example TXT "v=spf1 -all"
inc-spf1.example TXT "v=spf1 ip4:192.0.2.2 -all"
hidden.example TXT "spf2.0/pra include:inc-mfrom.example -all"
inc-mfrom.example TXT "spf2.0/mfrom ip4:192.0.2.3 -all"
inc-mfrom.example TXT "v=spf1 ip4:192.0.2.3 -all"
redir.example TXT "spf2.0/pra redirect=inc-pra.example"
)");
  // The included domain's pra record is used, not its v=spf1 -all.
  EXPECT_EQ(pra("192.0.2.1", "a@top.example").result, Result::kPass);
  // An included domain with v=spf1 only: §3.4 reads it as spf2.0/mfrom,pra.
  EXPECT_EQ(pra("192.0.2.2", "a@top.example").result, Result::kPass);
  EXPECT_EQ(pra("192.0.2.9", "a@top.example").result, Result::kFail);
  // An included domain with spf2.0 records but none for pra has no pra policy: an include of
  // "none" is permerror (RFC 7208 §5.2).
  EXPECT_EQ(pra("192.0.2.3", "a@hidden.example").result, Result::kPermError);
  EXPECT_EQ(pra("192.0.2.1", "a@redir.example").result, Result::kPass);
  EXPECT_EQ(pra("192.0.2.2", "a@redir.example").result, Result::kFail);
  // MAIL FROM of the same domain reads only v=spf1.
  EXPECT_EQ(mail_from("192.0.2.1", "a@top.example").result, Result::kFail);
}

TEST_F(SenderIdTest, VersionSyntaxVariantsThroughTheChecker) {
  zone_.load(R"(
upper.example TXT "SPF2.0/PRA ip4:192.0.2.1 -all"
upper.example TXT "v=spf1 +all"
badversion.example TXT "spf2.1/pra +all"
badversion.example TXT "v=spf1 -all"
emptyscope.example TXT "spf2.0/ +all"
emptyscope.example TXT "v=spf1 -all"
unknownscope.example TXT "spf2.0/pra,foo -all"
optout.example TXT "spf2.0/pra ?all"
optout.example TXT "v=spf1 -all"
badterm.example TXT "spf2.0/pra ip4:192.0.2.1 frobnicate -all"
)");
  EXPECT_EQ(pra("192.0.2.1", "a@upper.example").result, Result::kPass);
  EXPECT_EQ(pra("192.0.2.9", "a@upper.example").result, Result::kFail);
  EXPECT_EQ(pra("192.0.2.1", "a@badversion.example").result, Result::kFail);  // v=spf1 -all
  const CheckResult empty_scope = pra("192.0.2.1", "a@emptyscope.example");
  EXPECT_EQ(empty_scope.result, Result::kNone);
  EXPECT_NE(empty_scope.comment.find("does not provide an SPF record"), std::string::npos);
  EXPECT_EQ(pra("192.0.2.1", "a@unknownscope.example").result, Result::kFail);
  // RFC 4406 §3.4: "spf2.0/pra ?all" makes the PRA check explicitly inconclusive.
  EXPECT_EQ(pra("192.0.2.1", "a@optout.example").result, Result::kNeutral);
  EXPECT_EQ(mail_from("192.0.2.1", "a@optout.example").result, Result::kFail);
  // The same record syntax rules as v=spf1.
  EXPECT_EQ(pra("192.0.2.1", "a@badterm.example").result, Result::kPermError);
}

// Issue #3's zone: the phisher's MAIL FROM domain has no SPF; state.example ends in -all;
// bigcomms.example sends for state.example's newsletter with its own MAIL FROM.
constexpr const char* kScenarioZone = R"(
zebuzez.test A 203.0.113.99
state.example TXT "v=spf1 ip4:198.51.100.0/24 -all"
bigcomms.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
)";
constexpr const char* kPhisherIp = "203.0.113.7";
constexpr const char* kBigcommsIp = "192.0.2.25";

TEST_F(SenderIdTest, PhishingScenarioPraFails) {
  zone_.load(kScenarioZone);
  const CheckResult envelope = mail_from(kPhisherIp, "x@zebuzez.test");
  EXPECT_EQ(envelope.result, Result::kNone) << envelope.comment;
  EXPECT_EQ(envelope.comment, "domain of x@zebuzez.test does not provide an SPF record");
  EXPECT_FALSE(is_authoritative(envelope.result));  // so the PRA check runs

  const std::vector<mail::HeaderField> headers = {
      {"Received", "from [203.0.113.7] by mx.example.net"},
      {"From", "IT Security <it-security@state.example>"},
      {"To", "staff@state.example"},
      {"Subject", "Your password expires today"},
  };
  const mail::Pra identity = mail::extract_pra(headers);
  ASSERT_TRUE(identity.ok) << identity.error;
  EXPECT_EQ(mail::to_ptype_property(*identity.source), "header.from");

  const CheckResult r = pra(kPhisherIp, identity.mailbox.address());
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(to_token(r.result), "fail");
  EXPECT_EQ(r.identity, Identity::kPra);
  EXPECT_EQ(r.checked, "it-security@state.example");
  EXPECT_EQ(r.domain, "state.example");
  // From state.example's own network the same From: passes.
  EXPECT_EQ(pra("198.51.100.20", identity.mailbox.address()).result, Result::kPass);
}

TEST_F(SenderIdTest, MarketingScenarioSpfPassIsFinal) {
  zone_.load(kScenarioZone);
  const CheckResult envelope = mail_from(kBigcommsIp, "bounce@bigcomms.example");
  EXPECT_EQ(envelope.result, Result::kPass) << envelope.comment;
  // Authoritative: the policy must not run the PRA check (it would fail, which is exactly why
  // it must not run).
  EXPECT_TRUE(is_authoritative(envelope.result));
  const mail::Pra identity = mail::extract_pra(
      std::vector<mail::HeaderField>{{"From", "State Newsletter <news@state.example>"}});
  ASSERT_TRUE(identity.ok) << identity.error;
  EXPECT_EQ(pra(kBigcommsIp, identity.mailbox.address()).result, Result::kFail);
}

TEST_F(SenderIdTest, ForwardedMessageJudgedOnResentFrom) {
  zone_.load(R"(
state.example TXT "v=spf1 ip4:198.51.100.0/24 -all"
forwarder.example TXT "spf2.0/pra ip4:192.0.2.77 -all"
forwarder.example TXT "v=spf1 -all"
)");
  const std::vector<mail::HeaderField> headers = {
      {"Resent-From", "Forwarding Service <fwd@forwarder.example>"},
      {"Resent-Date", "Mon, 1 Jan 2024 10:00:00 +0000"},
      {"Received", "from mail.state.example by relay.forwarder.example"},
      {"From", "it-security@state.example"},
  };
  const mail::Pra identity = mail::extract_pra(headers);
  ASSERT_TRUE(identity.ok) << identity.error;
  EXPECT_EQ(identity.source, mail::PraSource::kResentFrom);
  EXPECT_EQ(pra("192.0.2.77", identity.mailbox.address()).result, Result::kPass);
  EXPECT_EQ(pra("192.0.2.78", identity.mailbox.address()).result, Result::kFail);
}

TEST_F(SenderIdTest, OddPraAddresses) {
  zone_.load(kScenarioZone);
  // A quoted local part is passed as written; the domain decides.
  EXPECT_EQ(pra(kPhisherIp, "\"it security\"@state.example").result, Result::kFail);
  // No PRA: the caller has nothing to check; an empty identity is "none", never a HELO check.
  const CheckResult empty = pra(kPhisherIp, "");
  EXPECT_EQ(empty.result, Result::kNone);
  EXPECT_EQ(zone_.query_count("mail.example.net", dns::RrType::kTxt), 0u);
  // Unicode domains from RFC 6532 headers are not DNS names as they stand.
  EXPECT_EQ(pra(kPhisherIp, "a@b\xC3\xBC.example").result, Result::kNone);
}

}  // namespace
}  // namespace authmilter::spf

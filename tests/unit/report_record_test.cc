// make_record(): what a DMARC-judged message contributes to a report; applied disposition and
// override reasons; sanitising of hostile text.
#include <gtest/gtest.h>

#include "authmilter/report/record.h"

namespace authmilter::report {
namespace {

policy::Results failing_reject() {
  policy::Results results;
  dmarc::DmarcResult d;
  d.result = dmarc::Result::kFail;
  d.from_domain = "mail.example.org";
  d.org_domain = "example.org";
  d.policy_domain = "example.org";
  d.p = dmarc::Policy::kReject;
  d.sp = dmarc::Policy::kQuarantine;
  d.discovery = dmarc::Discovery::kTreeWalk;
  d.rua = {"mailto:dmarc@example.org"};
  d.adkim = dmarc::Alignment::kStrict;
  d.requested = dmarc::Policy::kQuarantine;
  d.disposition = dmarc::Policy::kQuarantine;
  d.policy_tag = dmarc::PolicyTag::kSp;
  results.dmarc = d;
  results.dkim_checked = true;
  dkim::SignatureResult sig;
  sig.result = dkim::Result::kFail;
  sig.domain = "example.org";
  sig.selector = "s1";
  results.dkim.push_back(sig);
  spf::CheckResult spf;
  spf.result = spf::Result::kSoftFail;
  spf.domain = "bounces.example.com";
  results.spf_mail_from = spf;
  return results;
}

const Envelope kEnvelope{"198.51.100.7", "x@Bounces.Example.com", "<rcpt@example.net>", 1000};

TEST(ReportRecord, KeepsWhatRfc9990RecordNeeds) {
  const auto record = make_record(failing_reject(), kEnvelope, config::Config::defaults());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->time, 1000);
  EXPECT_EQ(record->source_ip, "198.51.100.7");
  EXPECT_EQ(record->header_from, "mail.example.org");
  EXPECT_EQ(record->envelope_from, "bounces.example.com");
  EXPECT_EQ(record->envelope_to, "example.net");
  EXPECT_EQ(record->policy_domain, "example.org");
  EXPECT_EQ(record->p, "reject");
  EXPECT_EQ(record->sp, "quarantine");
  EXPECT_EQ(record->adkim, "s");
  EXPECT_EQ(record->aspf, "r");
  EXPECT_EQ(record->np, "");
  EXPECT_EQ(record->testing, "n");
  EXPECT_EQ(record->discovery_method, "treewalk");
  EXPECT_EQ(record->psd, "u");
  EXPECT_EQ(record->rua, std::vector<std::string>{"mailto:dmarc@example.org"});
  EXPECT_EQ(record->dmarc_dkim, "fail");
  EXPECT_EQ(record->dmarc_spf, "fail");
  ASSERT_EQ(record->dkim.size(), 1u);
  EXPECT_EQ(record->dkim[0], (DkimAuth{"example.org", "s1", "fail"}));
  ASSERT_TRUE(record->spf);
  EXPECT_EQ(*record->spf, (SpfAuth{"bounces.example.com", "mfrom", "softfail"}));
  // DMARCQuarantine defaults to mark: quarantined as asked, no override reason.
  EXPECT_EQ(record->disposition, "quarantine");
  EXPECT_TRUE(record->reasons.empty());
}

TEST(ReportRecord, LocalPolicyThatDiffersIsAReason) {
  config::Config config = config::Config::defaults();
  config.dmarc_quarantine = config::Action::kAccept;
  const auto record = make_record(failing_reject(), kEnvelope, config);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->disposition, "none");
  ASSERT_EQ(record->reasons.size(), 1u);
  EXPECT_EQ(record->reasons[0].type, "local_policy");
  EXPECT_EQ(record->reasons[0].comment, "DMARCQuarantine accept");
}

TEST(ReportRecord, TestingModeIsAReason) {
  policy::Results results = failing_reject();
  results.dmarc->requested = dmarc::Policy::kReject;
  results.dmarc->disposition = dmarc::Policy::kQuarantine;
  results.dmarc->testing = true;
  const auto record = make_record(results, kEnvelope, config::Config::defaults());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->testing, "y");
  EXPECT_EQ(record->disposition, "quarantine");
  ASSERT_EQ(record->reasons.size(), 1u);
  EXPECT_EQ(record->reasons[0].type, "policy_test_mode");
}

TEST(ReportRecord, PassIsPass) {
  policy::Results results = failing_reject();
  results.dmarc->result = dmarc::Result::kPass;
  results.dmarc->dkim_aligned = true;
  results.dmarc->disposition = dmarc::Policy::kNone;
  const auto record = make_record(results, kEnvelope, config::Config::defaults());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->disposition, "pass");
  EXPECT_EQ(record->dmarc_dkim, "pass");
}

TEST(ReportRecord, NothingWithoutAPolicyDomain) {
  policy::Results results = failing_reject();
  results.dmarc->result = dmarc::Result::kNone;
  results.dmarc->policy_domain.clear();
  EXPECT_FALSE(make_record(results, kEnvelope, config::Config::defaults()));
  results.dmarc.reset();
  EXPECT_FALSE(make_record(results, kEnvelope, config::Config::defaults()));
}

TEST(ReportRecord, HeloScopeForTheNullSender) {
  policy::Results results = failing_reject();
  results.spf_mail_from.reset();
  spf::CheckResult helo;
  helo.result = spf::Result::kPass;
  helo.domain = "mx.example.com";
  results.spf_helo = helo;
  const auto record =
      make_record(results, Envelope{"192.0.2.1", "", "", 5}, config::Config::defaults());
  ASSERT_TRUE(record);
  ASSERT_TRUE(record->spf);
  EXPECT_EQ(record->spf->scope, "helo");
  EXPECT_EQ(record->envelope_from, "");
}

TEST(ReportRecord, SignaturesAreCappedAtTheLimit) {
  policy::Results results = failing_reject();
  results.dkim.assign(kMaxDkimResults + 1, results.dkim.front());
  const auto record = make_record(results, kEnvelope, config::Config::defaults());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->dkim.size(), kMaxDkimResults);
}

TEST(ReportRecord, RuaUrisAreCappedAtTheLimit) {
  policy::Results results = failing_reject();
  results.dmarc->rua.assign(kMaxRuaUris, "mailto:a@example.org");
  EXPECT_EQ(make_record(results, kEnvelope, config::Config::defaults())->rua.size(), kMaxRuaUris);
  results.dmarc->rua.push_back("mailto:b@example.org");
  EXPECT_EQ(make_record(results, kEnvelope, config::Config::defaults())->rua.size(), kMaxRuaUris);
}

TEST(ReportSanitize, EightBitAndControls) {
  EXPECT_EQ(sanitize("plain"), "plain");
  EXPECT_EQ(sanitize("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 kept
  EXPECT_EQ(sanitize("caf\xE9"), "caf\xEF\xBF\xBD");  // Latin-1 byte replaced
  EXPECT_EQ(sanitize("a\r\nb\x7f"),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(sanitize("\xC2\x85"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // C1 control (NEL)
  EXPECT_EQ(sanitize(std::string(kMaxFieldBytes, 'a')).size(), kMaxFieldBytes);
  EXPECT_EQ(sanitize(std::string(kMaxFieldBytes + 1, 'a')).size(), kMaxFieldBytes);
}

}  // namespace
}  // namespace authmilter::report

namespace authmilter::report {
namespace {

TEST(ReportRecord, ArcTrustedForwarderOverrideIsAReason) {
  policy::Results results = failing_reject();
  results.dmarc_override = policy::DmarcOverride{"trusted_forwarder", "lists.example.org",
                                                 "arc override by lists.example.org"};
  const auto record = make_record(results, kEnvelope, config::Config::defaults());
  ASSERT_TRUE(record);
  EXPECT_EQ(record->disposition, "none");
  ASSERT_EQ(record->reasons.size(), 1u);
  EXPECT_EQ(record->reasons[0].type, "trusted_forwarder");
  EXPECT_EQ(record->reasons[0].comment, "arc override by lists.example.org");
}

}  // namespace
}  // namespace authmilter::report

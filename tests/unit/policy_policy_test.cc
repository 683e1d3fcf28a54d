#include "authmilter/policy/policy.h"

#include "authmilter/mail/auth_results.h"
#include "authmilter/policy/auth_results_render.h"

#include <gtest/gtest.h>

namespace authmilter::policy {
namespace {

using config::Action;

spf::CheckResult spf_result(spf::Result result, spf::Identity identity = spf::Identity::kMailFrom) {
  spf::CheckResult r;
  r.result = result;
  r.identity = identity;
  r.domain = "example.org";
  r.checked = "alice@example.org";
  return r;
}

Results with_mail_from(spf::Result result) {
  Results results;
  results.spf_mail_from = spf_result(result);
  return results;
}

TEST(PolicyTest, DefaultsAcceptEverySpfResult) {
  const config::Config cfg = config::Config::defaults();
  for (auto r : {spf::Result::kNone, spf::Result::kNeutral, spf::Result::kPass, spf::Result::kFail,
                 spf::Result::kSoftFail, spf::Result::kTempError, spf::Result::kPermError}) {
    EXPECT_EQ(decide(with_mail_from(r), cfg, "192.0.2.1").action, Action::kAccept)
        << spf::to_token(r);
  }
}

TEST(PolicyTest, SpfFailRejectCarriesRfc7372CodeAndNamesTheCheck) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kReject;
  const Verdict v = decide(with_mail_from(spf::Result::kFail), cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.smtp_code, "550");
  EXPECT_EQ(v.enhanced_code, "5.7.23");
  EXPECT_EQ(v.reason, "SPF fail for example.org from 192.0.2.1");
  EXPECT_EQ(v.check, "spf-fail");
}

TEST(PolicyTest, SpfFailTempfailUsesTemporaryCode) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kTempfail;
  const Verdict v = decide(with_mail_from(spf::Result::kFail), cfg, "192.0.2.1");
  EXPECT_EQ(v.smtp_code, "451");
  EXPECT_EQ(v.enhanced_code, "4.7.23");
}

TEST(PolicyTest, SoftFailIsNotFail) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kReject;
  EXPECT_EQ(decide(with_mail_from(spf::Result::kSoftFail), cfg, "192.0.2.1").action,
            Action::kAccept);
  cfg.spf_softfail = Action::kMark;
  EXPECT_EQ(decide(with_mail_from(spf::Result::kSoftFail), cfg, "192.0.2.1").action, Action::kMark);
}

TEST(PolicyTest, TempErrorTempfailsWith443AndNeverRejects) {
  config::Config cfg = config::Config::defaults();
  cfg.temp_error = Action::kTempfail;
  Verdict v = decide(with_mail_from(spf::Result::kTempError), cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kTempfail);
  EXPECT_EQ(v.smtp_code, "451");
  EXPECT_EQ(v.enhanced_code, "4.4.3");
  cfg.temp_error = Action::kReject;  // refused by the parser; guarded here too
  v = decide(with_mail_from(spf::Result::kTempError), cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kTempfail);
}

TEST(PolicyTest, NullSenderIsJudgedOnHelo) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kReject;
  Results results;
  results.spf_helo = spf_result(spf::Result::kFail, spf::Identity::kHelo);
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kReject);
}

TEST(PolicyTest, HeloResultDoesNotOverrideMailFrom) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kReject;
  Results results = with_mail_from(spf::Result::kPass);
  results.spf_helo = spf_result(spf::Result::kFail, spf::Identity::kHelo);
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);
}

TEST(PolicyTest, MostSevereActionWins) {
  config::Config cfg = config::Config::defaults();
  cfg.on_internal_error = Action::kTempfail;
  cfg.spf_fail = Action::kMark;
  Results results = with_mail_from(spf::Result::kFail);
  results.internal_error = true;
  const Verdict v = decide(results, cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kTempfail);
  EXPECT_EQ(v.enhanced_code, "4.3.0");
  EXPECT_EQ(v.reason.find("exception"), std::string::npos);  // no internal details
}

TEST(PolicyTest, PraFailTakesPraFailAction) {
  config::Config cfg = config::Config::defaults();
  Results results = with_mail_from(spf::Result::kNone);
  results.sender_id.emplace();
  results.sender_id->check = spf_result(spf::Result::kFail, spf::Identity::kPra);
  results.sender_id->check.domain = "state.example";
  results.sender_id->source = mail::PraSource::kFrom;
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kMark);  // default
  cfg.pra_fail = Action::kReject;
  const Verdict v = decide(results, cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.enhanced_code, "5.7.1");
  EXPECT_EQ(v.reason, "SenderID fail for state.example from 192.0.2.1 (forged From)");
}

TEST(PolicyTest, PraSoftFailNeutralNoneChangeNothing) {
  config::Config cfg = config::Config::defaults();
  cfg.pra_fail = Action::kReject;
  for (auto r : {spf::Result::kSoftFail, spf::Result::kNeutral, spf::Result::kNone,
                 spf::Result::kPermError}) {
    Results results = with_mail_from(spf::Result::kNone);
    results.sender_id.emplace();
    results.sender_id->check = spf_result(r, spf::Identity::kPra);
    EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept) << spf::to_token(r);
  }
}

TEST(PolicyTest, PraTempErrorMattersOnlyWhenPraCouldDecide) {
  config::Config cfg = config::Config::defaults();
  cfg.temp_error = Action::kTempfail;
  Results results = with_mail_from(spf::Result::kNone);
  results.sender_id.emplace();
  results.sender_id->check = spf_result(spf::Result::kTempError, spf::Identity::kPra);
  cfg.pra_fail = Action::kAccept;
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);
  cfg.pra_fail = Action::kMark;
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kTempfail);
}

dmarc::DmarcResult dmarc_result(dmarc::Result result, dmarc::Policy disposition) {
  dmarc::DmarcResult d;
  d.result = result;
  d.from_domain = "example.org";
  d.policy_domain = "example.org";
  d.p = disposition;
  d.requested = disposition;
  d.disposition = disposition;
  return d;
}

TEST(PolicyTest, DmarcRejectDispositionRejectsWith571NamingTheDomain) {
  const config::Config cfg = config::Config::defaults();
  Results results = with_mail_from(spf::Result::kFail);
  results.dmarc = dmarc_result(dmarc::Result::kFail, dmarc::Policy::kReject);
  const Verdict v = decide(results, cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kReject);
  EXPECT_EQ(v.smtp_code, "550");
  EXPECT_EQ(v.enhanced_code, "5.7.1");
  EXPECT_EQ(v.reason, "DMARC policy of example.org is reject");
}

TEST(PolicyTest, DmarcQuarantineMarksByDefaultAndNoneDoesNothing) {
  const config::Config cfg = config::Config::defaults();
  Results results = with_mail_from(spf::Result::kFail);
  results.dmarc = dmarc_result(dmarc::Result::kFail, dmarc::Policy::kQuarantine);
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kMark);
  results.dmarc = dmarc_result(dmarc::Result::kFail, dmarc::Policy::kNone);  // p=none or pct
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);
}

TEST(PolicyTest, DmarcPassOverridesSpfFailAndPraFail) {
  config::Config cfg = config::Config::defaults();
  cfg.spf_fail = Action::kReject;
  cfg.pra_fail = Action::kReject;
  Results results = with_mail_from(spf::Result::kFail);
  results.sender_id.emplace();
  results.sender_id->check = spf_result(spf::Result::kFail, spf::Identity::kPra);
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kReject);
  results.dmarc = dmarc_result(dmarc::Result::kPass, dmarc::Policy::kReject);
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);
}

TEST(PolicyTest, MultipleFromTakesDmarcMultipleFrom) {
  config::Config cfg = config::Config::defaults();
  Results results = with_mail_from(spf::Result::kPass);
  results.dmarc = dmarc_result(dmarc::Result::kPermError, dmarc::Policy::kNone);
  results.dmarc->from_problem = dmarc::FromProblem::kMultipleFields;
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kReject);  // default
  results.dmarc->from_problem = dmarc::FromProblem::kNoDomain;  // permerror, not "multiple"
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);
  cfg.dmarc_multiple_from = Action::kMark;
  results.dmarc->from_problem = dmarc::FromProblem::kMultipleDomains;
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kMark);
}

TEST(PolicyTest, DmarcTempErrorNeverRejects) {
  config::Config cfg = config::Config::defaults();
  cfg.temp_error = Action::kTempfail;
  Results results = with_mail_from(spf::Result::kPass);
  results.dmarc = dmarc_result(dmarc::Result::kTempError, dmarc::Policy::kNone);
  const Verdict v = decide(results, cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kTempfail);
  EXPECT_EQ(v.enhanced_code, "4.4.3");
}

TEST(DmarcRender, Rfc9989CommentAndPolicyProperty) {
  // The example: a record above the Author Domain, testing off.
  dmarc::DmarcResult d;
  d.result = dmarc::Result::kFail;
  d.from_domain = "a.b.example.com";
  d.policy_domain = "example.com";
  d.p = dmarc::Policy::kReject;
  d.sp = dmarc::Policy::kNone;
  d.np = dmarc::Policy::kReject;
  d.requested = dmarc::Policy::kReject;
  d.disposition = dmarc::Policy::kReject;
  EXPECT_EQ(mail::format_authentication_results("mx.example.net", {render_dmarc(d)}),
            "mx.example.net;\n\tdmarc=fail (p=reject sp=none np=reject t=n; policy domain "
            "example.com)\n\theader.from=a.b.example.com policy.dmarc=reject");
  // t=y: the disposition applied is one level lower; absent sp/np are not shown; no pct.
  d.sp.reset();
  d.np.reset();
  d.testing = true;
  d.testing_from_pct = true;
  d.disposition = dmarc::Policy::kQuarantine;
  const mail::MethodResult testing = render_dmarc(d);
  EXPECT_EQ(testing.comment, "p=reject t=y; policy domain example.com");
  ASSERT_EQ(testing.properties.size(), 2u);
  EXPECT_EQ(testing.properties[1].first, "policy.dmarc");
  EXPECT_EQ(testing.properties[1].second, "quarantine");
  // A pass carries no policy.dmarc; no record: the reason instead of the tags.
  d.result = dmarc::Result::kPass;
  d.disposition = dmarc::Policy::kNone;
  EXPECT_EQ(render_dmarc(d).properties.size(), 1u);
  dmarc::DmarcResult none;
  none.result = dmarc::Result::kNone;
  none.from_domain = "example.org";
  none.comment = "no DMARC record";
  EXPECT_EQ(render_dmarc(none).comment, "no DMARC record");
}

TEST(PolicyTest, SeverityOrder) {
  EXPECT_LT(severity(Action::kAccept), severity(Action::kMark));
  EXPECT_LT(severity(Action::kMark), severity(Action::kQuarantine));
  EXPECT_LT(severity(Action::kQuarantine), severity(Action::kTempfail));
  EXPECT_LT(severity(Action::kTempfail), severity(Action::kReject));
}

}  // namespace
}  // namespace authmilter::policy

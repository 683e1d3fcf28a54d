// Evaluator over ZoneResolver: alignment, discovery, p/sp, pct=0, DNS failures, deadlines,
// hostile inputs, each in both DMARCDiscovery modes (treewalk and psl) where the answer is
// the same. The PSL is the pinned copy shipped with the Mail::DMARC conformance data, so
// results do not move with the system's publicsuffix package. RFC 9989's own cases (tree
// walk, psd, np, t, its Examples section) are in dmarc_treewalk_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dns/zone_resolver.h"
#include "dmarc_test_inputs.h"

namespace authmilter::dmarc {
namespace {

using dns::RrType;

using namespace test_inputs;

class EvaluatorTest : public ::testing::TestWithParam<Discovery> {
 protected:
  void record(const std::string& domain, const std::string& text) {
    zone_.add_txt("_dmarc." + domain, {text});
  }
  DmarcResult run(const std::string& from, const spf::CheckResult* spf,
                  const std::vector<dkim::SignatureResult>& dkim = {}) {
    const Evaluator::Pending pending = evaluator_.start(from);
    return evaluator_.evaluate(pending, Inputs{spf, dkim}, later());
  }
  // A message whose SPF and DKIM both fail to align with `from`.
  DmarcResult run_failing(const std::string& from) {
    const spf::CheckResult spf = spf_result(spf::Result::kPass, "other.example.net");
    return run(from, &spf, {signature(dkim::Result::kPass, "other.example.net")});
  }

  bool psl() const { return GetParam() == Discovery::kPsl; }

  dns::ZoneResolver zone_;
  Evaluator evaluator_{zone_, pinned_psl(), GetParam()};
};

INSTANTIATE_TEST_SUITE_P(Discovery, EvaluatorTest,
                         ::testing::Values(Discovery::kTreeWalk, Discovery::kPsl),
                         [](const ::testing::TestParamInfo<Discovery>& param) {
                           return std::string(to_token(param.param));
                         });

TEST(DmarcTokens, ResultsAndPolicies) {
  EXPECT_EQ(to_token(Result::kNone), "none");
  EXPECT_EQ(to_token(Result::kPass), "pass");
  EXPECT_EQ(to_token(Result::kFail), "fail");
  EXPECT_EQ(to_token(Result::kTempError), "temperror");
  EXPECT_EQ(to_token(Result::kPermError), "permerror");
  EXPECT_EQ(to_token(Policy::kNone), "none");
  EXPECT_EQ(to_token(Policy::kQuarantine), "quarantine");
  EXPECT_EQ(to_token(Policy::kReject), "reject");
  EXPECT_EQ(to_token(Alignment::kRelaxed), "r");
  EXPECT_EQ(to_token(Alignment::kStrict), "s");
  EXPECT_EQ(to_token(Discovery::kTreeWalk), "treewalk");
  EXPECT_EQ(to_token(Discovery::kPsl), "psl");
  EXPECT_EQ(parse_discovery("TreeWalk"), Discovery::kTreeWalk);
  EXPECT_EQ(parse_discovery("psl"), Discovery::kPsl);
  EXPECT_EQ(parse_discovery("tree"), std::nullopt);
  EXPECT_EQ(to_token(PolicyTag::kP), "p");
  EXPECT_EQ(to_token(PolicyTag::kSp), "sp");
  EXPECT_EQ(to_token(PolicyTag::kNp), "np");
  EXPECT_EQ(to_token(PolicyTag::kNone), "");
}

TEST_P(EvaluatorTest, PassViaSpfOnly) {
  record("example.com", "v=DMARC1; p=reject");
  const spf::CheckResult spf = spf_result(spf::Result::kPass, "example.com");
  const DmarcResult r = run("example.com", &spf, {signature(dkim::Result::kFail, "example.com")});
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_TRUE(r.spf_aligned);
  EXPECT_FALSE(r.dkim_aligned);
  EXPECT_EQ(r.disposition, Policy::kNone);
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_EQ(r.sp, std::nullopt);
  EXPECT_EQ(r.np, std::nullopt);
  EXPECT_FALSE(r.testing);
  EXPECT_EQ(r.policy_tag, PolicyTag::kP);
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.org_domain, "example.com");
  EXPECT_EQ(r.from_domain, "example.com");
  EXPECT_EQ(r.discovery, GetParam());
}

TEST_P(EvaluatorTest, PassViaDkimOnly) {
  // A forwarded message: SPF fails at our MX, the author domain's signature survives.
  record("example.com", "v=DMARC1; p=reject");
  const spf::CheckResult spf = spf_result(spf::Result::kFail, "example.com");
  const DmarcResult r = run("example.com", &spf,
                            {signature(dkim::Result::kFail, "list.example.org"),
                             signature(dkim::Result::kPass, "Example.COM")});
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_FALSE(r.spf_aligned);
  EXPECT_TRUE(r.dkim_aligned);
  EXPECT_EQ(r.dkim_aligned_domain, "example.com");
  EXPECT_EQ(r.disposition, Policy::kNone);
}

TEST_P(EvaluatorTest, FailWithEachPolicy) {
  record("reject.example", "v=DMARC1; p=reject");
  record("quarantine.example", "v=DMARC1; p=quarantine");
  record("none.example", "v=DMARC1; p=none");
  const DmarcResult reject = run_failing("reject.example");
  EXPECT_EQ(reject.result, Result::kFail);
  EXPECT_EQ(reject.requested, Policy::kReject);
  EXPECT_EQ(reject.disposition, Policy::kReject);
  const DmarcResult quarantine = run_failing("quarantine.example");
  EXPECT_EQ(quarantine.result, Result::kFail);
  EXPECT_EQ(quarantine.disposition, Policy::kQuarantine);
  const DmarcResult none = run_failing("none.example");
  EXPECT_EQ(none.result, Result::kFail);
  EXPECT_EQ(none.p, Policy::kNone);
  EXPECT_EQ(none.disposition, Policy::kNone);
  EXPECT_FALSE(none.comment.empty());
}

TEST_P(EvaluatorTest, OnlyPassingResultsCount) {
  record("example.com", "v=DMARC1; p=reject");
  for (spf::Result result :
       {spf::Result::kNone, spf::Result::kNeutral, spf::Result::kFail, spf::Result::kSoftFail,
        spf::Result::kTempError, spf::Result::kPermError}) {
    const spf::CheckResult spf = spf_result(result, "example.com");
    EXPECT_EQ(run("example.com", &spf).result, Result::kFail) << spf::to_token(result);
  }
  for (dkim::Result result :
       {dkim::Result::kNone, dkim::Result::kFail, dkim::Result::kNeutral, dkim::Result::kPolicy,
        dkim::Result::kTempError, dkim::Result::kPermError}) {
    EXPECT_EQ(run("example.com", nullptr, {signature(result, "example.com")}).result, Result::kFail)
        << dkim::to_token(result);
  }
  EXPECT_EQ(run("example.com", nullptr).result, Result::kFail);
}

TEST_P(EvaluatorTest, PraResultNeverCountsHeloDoes) {
  record("example.com", "v=DMARC1; p=reject");
  const spf::CheckResult pra = spf_result(spf::Result::kPass, "example.com", spf::Identity::kPra);
  EXPECT_EQ(run("example.com", &pra).result, Result::kFail);
  // Null sender: the caller passes the HELO result (RFC 7489 §3.1.2, RFC 7208 §2.4).
  const spf::CheckResult helo =
      spf_result(spf::Result::kPass, "mail.example.com", spf::Identity::kHelo);
  EXPECT_EQ(run("example.com", &helo).result, Result::kPass);
  // The identity's domain comes from `checked` when `domain` is empty.
  spf::CheckResult bare = spf_result(spf::Result::kPass, "");
  bare.checked = "bounce@mail.example.com";
  EXPECT_EQ(run("example.com", &bare).result, Result::kPass);
}

TEST_P(EvaluatorTest, SubdomainPolicyFromOrganizationalRecord) {
  record("example.com", "v=DMARC1; p=none; sp=reject");
  const DmarcResult sub = run_failing("sub.example.com");
  EXPECT_EQ(sub.result, Result::kFail);
  EXPECT_EQ(sub.policy_domain, "example.com");
  EXPECT_EQ(sub.org_domain, "example.com");
  EXPECT_EQ(sub.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(sub.p, Policy::kNone);
  EXPECT_EQ(sub.sp, Policy::kReject);
  EXPECT_EQ(sub.requested, Policy::kReject);
  EXPECT_EQ(sub.disposition, Policy::kReject);
  // The organizational domain itself gets p.
  const DmarcResult org = run_failing("example.com");
  EXPECT_EQ(org.policy_tag, PolicyTag::kP);
  EXPECT_EQ(org.disposition, Policy::kNone);
}

TEST_P(EvaluatorTest, SubdomainWithoutSpGetsP) {
  record("example.com", "v=DMARC1; p=quarantine");
  const DmarcResult r = run_failing("a.b.example.com");
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.policy_tag, PolicyTag::kP);
  EXPECT_EQ(r.sp, std::nullopt);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
}

TEST_P(EvaluatorTest, SubdomainsOwnRecordWinsAndItsSpIsIgnored) {
  // RFC 9989 "sp": ignored in records published on subdomains (the Author Domain's p applies).
  record("example.com", "v=DMARC1; p=reject; sp=reject");
  record("sub.example.com", "v=DMARC1; p=none; sp=reject");
  const DmarcResult r = run_failing("sub.example.com");
  EXPECT_EQ(r.policy_domain, "sub.example.com");
  EXPECT_EQ(r.policy_tag, PolicyTag::kP);
  EXPECT_EQ(r.disposition, Policy::kNone);
}

TEST_P(EvaluatorTest, PctZeroActsAsTestingOtherPctValuesAreIgnored) {
  // RFC 9989 "Removal of the pct Tag": t=y is pct=0's analogue; no sampling any more.
  record("q0.example", "v=DMARC1; p=quarantine; pct=0");
  record("r0.example", "v=DMARC1; p=reject; pct=0");
  record("r30.example", "v=DMARC1; p=reject; pct=30");
  record("r0n.example", "v=DMARC1; p=reject; pct=0; t=n");
  const DmarcResult q0 = run_failing("q0.example");
  EXPECT_EQ(q0.result, Result::kFail);
  EXPECT_TRUE(q0.testing);
  EXPECT_TRUE(q0.testing_from_pct);
  EXPECT_EQ(q0.requested, Policy::kQuarantine);
  EXPECT_EQ(q0.disposition, Policy::kNone);
  const DmarcResult r0 = run_failing("r0.example");
  EXPECT_EQ(r0.requested, Policy::kReject);
  EXPECT_EQ(r0.disposition, Policy::kQuarantine);
  for (int i = 0; i < 20; ++i) {  // never sampled: the same answer every time
    const DmarcResult r30 = run_failing("r30.example");
    EXPECT_FALSE(r30.testing);
    EXPECT_EQ(r30.disposition, Policy::kReject);
  }
  // An explicit t tag is RFC 9989's word and wins over the obsolete pct.
  const DmarcResult r0n = run_failing("r0n.example");
  EXPECT_FALSE(r0n.testing);
  EXPECT_EQ(r0n.disposition, Policy::kReject);
}

TEST_P(EvaluatorTest, StrictAndRelaxedSpfAlignment) {
  record("relaxed.example", "v=DMARC1; p=reject");
  record("strict.example", "v=DMARC1; p=reject; aspf=s");
  const spf::CheckResult relaxed = spf_result(spf::Result::kPass, "bounce.relaxed.example");
  EXPECT_EQ(run("relaxed.example", &relaxed).result, Result::kPass);
  const spf::CheckResult strict_sub = spf_result(spf::Result::kPass, "bounce.strict.example");
  const DmarcResult r = run("strict.example", &strict_sub);
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.aspf, Alignment::kStrict);
  const spf::CheckResult strict_same = spf_result(spf::Result::kPass, "STRICT.example.");
  EXPECT_EQ(run("strict.example", &strict_same).result, Result::kPass);
}

TEST_P(EvaluatorTest, StrictAndRelaxedDkimAlignment) {
  record("example.com", "v=DMARC1; p=reject; adkim=s");
  record("example.org", "v=DMARC1; p=reject; adkim=r");
  EXPECT_EQ(run("sub.example.com", nullptr, {signature(dkim::Result::kPass, "example.com")}).result,
            Result::kFail);
  // Strict: a subdomain of the Author Domain is not the same name.
  EXPECT_EQ(
      run("example.com", nullptr, {signature(dkim::Result::kPass, "mail.example.com")}).result,
      Result::kFail);
  EXPECT_EQ(run("example.com", nullptr, {signature(dkim::Result::kPass, "example.com")}).result,
            Result::kPass);
  // Relaxed: siblings under one organizational domain align, strangers do not.
  EXPECT_EQ(run("a.example.org", nullptr, {signature(dkim::Result::kPass, "b.example.org")}).result,
            Result::kPass);
  EXPECT_EQ(
      run("example.org", nullptr, {signature(dkim::Result::kPass, "example.org.evil.test")}).result,
      Result::kFail);
  // A public suffix never aligns with its registrants (libopendmarc: d=org aligns).
  EXPECT_EQ(run("example.org", nullptr, {signature(dkim::Result::kPass, "org")}).result,
            Result::kFail);
}

TEST_P(EvaluatorTest, OrganizationalFallbackUnderMultiLabelSuffix) {
  record("example.co.uk", "v=DMARC1; p=reject; sp=quarantine");
  const DmarcResult r = run_failing("a.b.example.co.uk");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.org_domain, "example.co.uk");
  EXPECT_EQ(r.policy_domain, "example.co.uk");
  EXPECT_EQ(r.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
  EXPECT_EQ(zone_.query_count("_dmarc.a.b.example.co.uk", RrType::kTxt), 1u);
  EXPECT_EQ(zone_.query_count("_dmarc.example.co.uk", RrType::kTxt), 1u);
  // Plus one question whether the Author Domain exists (np).
  EXPECT_EQ(zone_.query_count("a.b.example.co.uk", RrType::kTxt), 1u);
  if (psl()) {
    // Exactly the two names of RFC 7489 §6.6.3: no tree walk, never the public suffix.
    EXPECT_EQ(zone_.query_count("_dmarc.b.example.co.uk", RrType::kTxt), 0u);
    EXPECT_EQ(zone_.query_count("_dmarc.co.uk", RrType::kTxt), 0u);
    EXPECT_EQ(zone_.query_count(), 3u);
  } else {
    // The walk: every name up to the root's last label.
    EXPECT_EQ(zone_.query_count("_dmarc.b.example.co.uk", RrType::kTxt), 1u);
    EXPECT_EQ(zone_.query_count("_dmarc.co.uk", RrType::kTxt), 1u);
    EXPECT_EQ(zone_.query_count("_dmarc.uk", RrType::kTxt), 1u);
    EXPECT_EQ(zone_.query_count(), 6u);
  }
  // Relaxed alignment also goes through the organizational domain.
  const spf::CheckResult spf = spf_result(spf::Result::kPass, "bounce.example.co.uk");
  EXPECT_EQ(run("a.b.example.co.uk", &spf).result, Result::kPass);
  const spf::CheckResult stranger = spf_result(spf::Result::kPass, "other.co.uk");
  EXPECT_EQ(run("a.b.example.co.uk", &stranger).result, Result::kFail);
}

TEST_P(EvaluatorTest, UnlistedTopLevelDomainUsesTheStarRule) {
  // libopendmarc's own PSL code never finds example.zz's record for sub.example.zz.
  record("example.zz", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing("sub.example.zz");
  EXPECT_EQ(r.org_domain, "example.zz");
  EXPECT_EQ(r.policy_domain, "example.zz");
  EXPECT_EQ(r.disposition, Policy::kReject);
  const spf::CheckResult spf = spf_result(spf::Result::kPass, "mail.example.zz");
  EXPECT_EQ(run("sub.example.zz", &spf).result, Result::kPass);
}

TEST_P(EvaluatorTest, NoRecord) {
  zone_.add_txt("_dmarc.example.com", {"v=spf1 -all"});  // not a DMARC record
  zone_.add("example.org", RrType::kA, "192.0.2.1");
  const DmarcResult r = run_failing("sub.example.com");
  EXPECT_EQ(r.result, Result::kNone);
  EXPECT_EQ(r.disposition, Policy::kNone);
  EXPECT_TRUE(r.policy_domain.empty());
  EXPECT_EQ(r.comment, "no DMARC record");
  EXPECT_EQ(run_failing("example.org").result, Result::kNone);
  // The organizational domain asks once, not twice.
  EXPECT_EQ(zone_.query_count("_dmarc.example.org", RrType::kTxt), 1u);
}

TEST_P(EvaluatorTest, NonDmarcTxtRecordsAreDiscardedBeforeFallback) {
  zone_.add_txt("_dmarc.sub.example.com", {"google-site-verification=abc"});
  zone_.add_txt("_dmarc.sub.example.com", {"v=DMARC2; p=none"});
  record("example.com", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing("sub.example.com");
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.disposition, Policy::kReject);
}

TEST_P(EvaluatorTest, MalformedRecordIsNoPolicyWithoutFallback) {
  record("sub.example.com", "v=DMARC1; p=bogus");
  record("example.com", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing("sub.example.com");
  EXPECT_EQ(r.result, Result::kNone);
  EXPECT_EQ(r.disposition, Policy::kNone);
  EXPECT_NE(r.comment.find("invalid DMARC record at _dmarc.sub.example.com"), std::string::npos)
      << r.comment;
  record("nop.example", "v=DMARC1; pct=100");
  EXPECT_EQ(run_failing("nop.example").result, Result::kNone);
}

TEST_P(EvaluatorTest, MalformedPolicyWithRuaActsAsPNone) {
  record("example.com", "v=DMARC1; p=bogus; rua=mailto:dmarc@example.com");
  const DmarcResult r = run_failing("example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_TRUE(r.p_none_for_rua);
  EXPECT_EQ(r.p, Policy::kNone);
  EXPECT_EQ(r.disposition, Policy::kNone);
}

TEST_P(EvaluatorTest, TwoRecordsAtOneNameAreDiscardedAndDiscoveryGoesOn) {
  // RFC 9989 "DNS Tree Walk" step 2: "If multiple DMARC Policy Records are returned for a
  // single target, they are all discarded" (RFC 7489 stopped there with no policy).
  zone_.add_txt("_dmarc.sub.example.com", {"v=DMARC1; p=none"});
  zone_.add_txt("_dmarc.sub.example.com", {"v=DMARC1; p=reject"});
  record("example.com", "v=DMARC1; p=reject; sp=quarantine");
  const DmarcResult r = run_failing("sub.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
  // The same at the organizational level: nothing is left.
  zone_.add_txt("_dmarc.example.org", {"v=DMARC1; p=reject"});
  zone_.add_txt("_dmarc.example.org", {"v=DMARC1; p=reject"});
  EXPECT_EQ(run_failing("sub.example.org").result, Result::kNone);
}

TEST_P(EvaluatorTest, RecordSplitOverSeveralStringsIsOneRecord) {
  zone_.add_txt("_dmarc.example.com", {"v=DMARC1; p=rej", "ect; pct=100"});
  EXPECT_EQ(run_failing("example.com").disposition, Policy::kReject);
}

TEST_P(EvaluatorTest, TemporaryDnsFailures) {
  zone_.set_error("_dmarc.timeout.example", RrType::kTxt, dns::Status::kTimeout);
  zone_.set_error("_dmarc.servfail.example", RrType::kTxt, dns::Status::kServFail);
  zone_.set_error("_dmarc.refused.example", RrType::kTxt, dns::Status::kError);
  for (const char* from : {"timeout.example", "servfail.example", "refused.example"}) {
    const DmarcResult r = run_failing(from);
    EXPECT_EQ(r.result, Result::kTempError) << from;
    EXPECT_EQ(r.disposition, Policy::kNone);
  }
  // The first name answers "no record", the organizational one fails: temperror.
  zone_.set_error("_dmarc.example.com", RrType::kTxt, dns::Status::kServFail);
  EXPECT_EQ(run_failing("sub.example.com").result, Result::kTempError);
  // The first name holds the record: the failing second lookup does not matter.
  record("sub.example.com", "v=DMARC1; p=reject");
  EXPECT_EQ(run_failing("sub.example.com").disposition, Policy::kReject);
  // The first name fails: temperror even though the organizational record exists.
  record("example.net", "v=DMARC1; p=reject");
  zone_.set_error("_dmarc.sub.example.net", RrType::kTxt, dns::Status::kTimeout);
  EXPECT_EQ(run_failing("sub.example.net").result, Result::kTempError);
  // NXDOMAIN and NODATA are answers, not failures.
  zone_.set_error("_dmarc.nx.example", RrType::kTxt, dns::Status::kNxDomain);
  zone_.set_error("_dmarc.nodata.example", RrType::kTxt, dns::Status::kNoData);
  EXPECT_EQ(run_failing("nx.example").result, Result::kNone);
  EXPECT_EQ(run_failing("nodata.example").result, Result::kNone);
}

// A resolver whose answers never come: the deadline and the cancel token must end the wait.
class SilentResolver final : public dns::Resolver {
 public:
  dns::PendingAnswer start(std::string_view, RrType) override { return promise_.get_future(); }

 private:
  dns::AnswerPromise promise_;
};

TEST(EvaluatorDeadline, PassedDeadlineAndCancelGiveTempError) {
  SilentResolver silent;
  const Evaluator evaluator(silent, pinned_psl());
  const Evaluator::Pending pending = evaluator.start("example.com");
  const auto t0 = dns::Clock::now();
  DmarcResult r = evaluator.evaluate(pending, Inputs{}, t0 + std::chrono::milliseconds(30));
  EXPECT_EQ(r.result, Result::kTempError);
  work::CancelToken cancel;
  cancel.cancel();
  r = evaluator.evaluate(pending, Inputs{}, later(), &cancel);
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_LT(dns::Clock::now() - t0, std::chrono::seconds(5));
}

TEST_P(EvaluatorTest, FromProblemsArePermErrorsWithoutLookups) {
  const std::string_view two[] = {"a@example.com", "b@example.com"};
  const FromDomain multiple = from_domain(two);
  const DmarcResult r = evaluator_.evaluate(evaluator_.start(multiple), Inputs{}, later());
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.from_problem, FromProblem::kMultipleFields);
  EXPECT_EQ(r.disposition, Policy::kNone);
  const std::string_view none[] = {"undisclosed-recipients:;"};
  const DmarcResult no_domain =
      evaluator_.evaluate(evaluator_.start(from_domain(none)), Inputs{}, later());
  EXPECT_EQ(no_domain.result, Result::kPermError);
  EXPECT_EQ(no_domain.from_problem, FromProblem::kNoDomain);
  // A hand-made FromDomain is checked again.
  EXPECT_EQ(run_failing("bad..example").result, Result::kPermError);
  EXPECT_EQ(run_failing("").result, Result::kPermError);
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_P(EvaluatorTest, PendingNotMadeByStartNeverWaits) {
  EXPECT_EQ(evaluator_.evaluate(Evaluator::Pending{}, Inputs{}, later()).result,
            Result::kPermError);
  Evaluator::Pending forged;
  forged.from.ok = true;
  forged.from.domain = "example.com";
  EXPECT_EQ(evaluator_.evaluate(forged, Inputs{}, later()).result, Result::kTempError);
}

TEST_P(EvaluatorTest, FromDomainThatIsAPublicSuffixIsLookedUpOnce) {
  // RFC 7489 §6.6.1: public suffixes are not exempt.
  record("com", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing("com");
  EXPECT_EQ(r.org_domain, "com");
  EXPECT_EQ(r.disposition, Policy::kReject);
  EXPECT_EQ(zone_.query_count("_dmarc.com", RrType::kTxt), 1u);
  EXPECT_EQ(zone_.query_count(), 2u);  // and whether "com" exists
  EXPECT_EQ(run("com", nullptr, {signature(dkim::Result::kPass, "com")}).result, Result::kPass);
}

TEST_P(EvaluatorTest, InternationalizedFromDomain) {
  record("xn--bcher-kva.example", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing(
      "B\xc3\xbc"
      "cher.example");
  EXPECT_EQ(r.from_domain, "xn--bcher-kva.example");
  EXPECT_EQ(r.disposition, Policy::kReject);
  EXPECT_EQ(run("b\xc3\xbc"
                "cher.example",
                nullptr, {signature(dkim::Result::kPass, "xn--bcher-kva.example")})
                .result,
            Result::kPass);
}

TEST_P(EvaluatorTest, DmarcNameLongerThanADomainIsNotAskedFor) {
  // 246 octets: "_dmarc." makes 253, the limit; 247 makes 254.
  auto domain_of_length = [](std::size_t n) {
    std::string d;
    while (d.size() + 62 < n) d += std::string(61, 'a') + ".";
    d += std::string(n - d.size() - 4, 'b') + ".com";
    return d;
  };
  const std::string at_limit = domain_of_length(246);
  const std::string past_limit = domain_of_length(247);
  ASSERT_EQ(at_limit.size(), 246u);
  ASSERT_EQ(past_limit.size(), 247u);
  record(at_limit, "v=DMARC1; p=reject");
  EXPECT_EQ(run_failing(at_limit).disposition, Policy::kReject);
  record(past_limit, "v=DMARC1; p=reject");  // cannot exist on the wire
  const DmarcResult r = run_failing(past_limit);
  EXPECT_EQ(r.result, Result::kNone);
  EXPECT_EQ(zone_.query_count("_dmarc." + past_limit, RrType::kTxt), 0u);
}

TEST_P(EvaluatorTest, HostileAuthenticationDomainsNeverAlign) {
  record("example.com", "v=DMARC1; p=reject");
  const std::vector<std::string> hostile = {"",
                                            ".",
                                            "..",
                                            "example.com..",
                                            ".example.com",
                                            std::string("example.com\0evil", 16),
                                            "exa mple.com",
                                            "example.com;",
                                            "\xff\xfe.example.com",
                                            std::string(100000, 'a'),
                                            "[192.0.2.1]",
                                            "user@example.com"};
  for (const std::string& d : hostile) {
    const spf::CheckResult spf = spf_result(spf::Result::kPass, d);
    const DmarcResult r = run("example.com", &spf, {signature(dkim::Result::kPass, d)});
    EXPECT_EQ(r.result, Result::kFail) << d.substr(0, 40);
  }
}

TEST_P(EvaluatorTest, RemovedRfTagDoesNotReachAlignment) {
  // libopendmarc 1.4.2 ORs rf=iodef into aspf; RFC 9989 removed rf: an unknown tag now.
  record("example.com", "v=DMARC1; p=reject; rf=iodef");
  const DmarcResult r = run("example.com", nullptr, {});
  EXPECT_EQ(r.aspf, Alignment::kRelaxed);
  const spf::CheckResult spf = spf_result(spf::Result::kPass, "bounce.example.com");
  EXPECT_EQ(run("example.com", &spf).result, Result::kPass);
}

TEST_P(EvaluatorTest, StartOnceEvaluateFromManyThreads) {
  record("example.com", "v=DMARC1; p=reject; sp=quarantine");
  const Evaluator shared(zone_, pinned_psl());
  const Evaluator::Pending sub = shared.start("sub.example.com");
  const Evaluator::Pending top = shared.start("example.com");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const spf::CheckResult spf = spf_result(spf::Result::kPass, "other.example.net");
      for (int i = 0; i < 200; ++i) {
        if (shared.evaluate(sub, Inputs{&spf, {}}, later()).disposition != Policy::kQuarantine ||
            shared.evaluate(top, Inputs{&spf, {}}, later()).disposition != Policy::kReject) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace authmilter::dmarc

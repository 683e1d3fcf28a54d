// ARCTrustedSealers (policy::arc_override and its rule in decide()) and the arc A-R entry.
#include <gtest/gtest.h>

#include "authmilter/mail/auth_results.h"
#include "authmilter/policy/auth_results_render.h"
#include "authmilter/policy/policy.h"

namespace authmilter::policy {
namespace {

using config::Action;

dkim::ArcChainResult chain(dkim::ArcResult result, std::string sealer, std::string aar) {
  dkim::ArcChainResult arc;
  arc.result = result;
  arc.instances = 2;
  arc.sets.push_back({1, "origin.example", "s", "origin.example; spf=pass smtp.mailfrom=x@y.z",
                      dkim::ArcCv::kNone});
  arc.sets.push_back({2, std::move(sealer), "arc", std::move(aar), dkim::ArcCv::kPass});
  return arc;
}

Results failed_reject(dkim::ArcResult arc_result, std::string sealer, std::string aar) {
  Results results;
  dmarc::DmarcResult d;
  d.result = dmarc::Result::kFail;
  d.from_domain = "news.example.com";
  d.org_domain = "example.com";
  d.policy_domain = "example.com";
  d.p = d.requested = d.disposition = dmarc::Policy::kReject;
  results.dmarc = d;
  results.arc = chain(arc_result, std::move(sealer), std::move(aar));
  return results;
}

config::Config trusting(std::string sealer) {
  config::Config cfg = config::Config::defaults();
  cfg.arc_trusted_sealers = {std::move(sealer)};
  return cfg;
}

TEST(ArcOverride, TrustedSealerWithAlignedPassOverridesDmarcReject) {
  const auto cfg = trusting("lists.example.org");
  for (const std::string aar : {
           "lists.example.org; dkim=pass header.d=example.com header.s=s1",
           "lists.example.org; dkim=pass header.d=mail.example.com",
           "lists.example.org; spf=pass smtp.mailfrom=bounce@news.example.com",
           "lists.example.org; dmarc=pass header.from=news.example.com",
       }) {
    Results results = failed_reject(dkim::ArcResult::kPass, "Lists.Example.ORG", aar);
    const auto override = arc_override(results, cfg);
    ASSERT_TRUE(override) << aar;
    EXPECT_EQ(override->type, "trusted_forwarder");
    EXPECT_EQ(override->comment, "arc override by Lists.Example.ORG");
    results.dmarc_override = override;
    EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept) << aar;
    // The A-R keeps dmarc=fail and states the override.
    const std::string ar = mail::format_authentication_results(
        "mx.example.net", render_methods(results, {"helo.example", "", "192.0.2.1"}));
    EXPECT_NE(ar.find("dmarc=fail"), std::string::npos) << ar;
    EXPECT_NE(ar.find("arc override by"), std::string::npos) << ar;
    EXPECT_NE(ar.find("policy.dmarc=none"), std::string::npos) << ar;
    EXPECT_EQ(ar.find("policy.dmarc=reject"), std::string::npos) << ar;
    EXPECT_NE(ar.find("arc=pass"), std::string::npos) << ar;
    EXPECT_NE(ar.find("smtp.remote-ip=192.0.2.1"), std::string::npos) << ar;
  }
}

TEST(ArcOverride, NothingChangesWithoutTrustPassOrAlignment) {
  const auto cfg = trusting("lists.example.org");
  const std::string good = "lists.example.org; dkim=pass header.d=example.com";
  // Untrusted sealer.
  EXPECT_FALSE(arc_override(failed_reject(dkim::ArcResult::kPass, "evil.example", good), cfg));
  // Broken chain.
  EXPECT_FALSE(arc_override(failed_reject(dkim::ArcResult::kFail, "lists.example.org", good), cfg));
  // Not aligned, not a pass, a lookalike domain, garbage.
  for (const std::string aar :
       {"lists.example.org; dkim=pass header.d=example.net",
        "lists.example.org; dkim=fail header.d=example.com",
        "lists.example.org; dkim=pass header.d=badexample.com",
        "lists.example.org; spf=pass smtp.mailfrom=a@evil.example",
        "lists.example.org; dmarc=pass header.from=example.net", "(((", ""}) {
    EXPECT_FALSE(arc_override(failed_reject(dkim::ArcResult::kPass, "lists.example.org", aar), cfg))
        << aar;
  }
  // A trusted origin (i=1) vouching is as good as a trusted newest sealer.
  Results results = failed_reject(dkim::ArcResult::kPass, "lists.example.org", good);
  EXPECT_FALSE(arc_override(results, trusting("origin.example")));  // its AAR: not aligned
  // DMARC not failing, or failing with disposition none: nothing to override.
  results.dmarc->disposition = dmarc::Policy::kNone;
  EXPECT_FALSE(arc_override(results, cfg));
  results.dmarc->result = dmarc::Result::kPass;
  EXPECT_FALSE(arc_override(results, cfg));
}

TEST(ArcOverride, UndecidedChainOfATrustedSealerFollowsTempError) {
  config::Config cfg = trusting("lists.example.org");
  Results results = failed_reject(dkim::ArcResult::kTempError, "lists.example.org",
                                  "lists.example.org; dkim=pass header.d=example.com");
  EXPECT_FALSE(arc_override(results, cfg));
  EXPECT_EQ(decide(results, cfg, "192.0.2.1").action, Action::kAccept);  // TempError accept
  cfg.temp_error = Action::kTempfail;
  const Verdict v = decide(results, cfg, "192.0.2.1");
  EXPECT_EQ(v.action, Action::kTempfail);
  EXPECT_EQ(v.enhanced_code, "4.4.3");
  EXPECT_NE(v.reason.find("lists.example.org"), std::string::npos) << v.reason;
  // Untrusted sealers: the DMARC reject stands.
  EXPECT_EQ(decide(results, trusting("other.example"), "192.0.2.1").action, Action::kReject);
}

TEST(ArcRender, ResultsAndProperties) {
  const RenderContext context{"helo.example", "", "192.0.2.7"};
  dkim::ArcChainResult none;
  EXPECT_EQ(render_arc(none, context).result, "none");
  EXPECT_TRUE(render_arc(none, context).properties.empty());
  dkim::ArcChainResult pass = chain(dkim::ArcResult::kPass, "lists.example.org", "x");
  pass.oldest_pass = 2;
  const auto method = render_arc(pass, context);
  EXPECT_EQ(method.comment, "sealers: origin.example, lists.example.org");
  ASSERT_EQ(method.properties.size(), 2u);
  EXPECT_EQ(method.properties[0].first, "smtp.remote-ip");
  EXPECT_EQ(method.properties[1], (std::pair<std::string, std::string>{"header.oldest-pass", "2"}));
  dkim::ArcChainResult fail = chain(dkim::ArcResult::kFail, "x.example", "x");
  fail.comment = "ARC-Seal i=2 did not verify";
  EXPECT_EQ(render_arc(fail, context).comment, fail.comment);
}

}  // namespace
}  // namespace authmilter::policy

// RFC 9989 in DMARCDiscovery treewalk mode: the DNS Tree Walk's query list, Organizational
// Domain selection (psd=y / psd=n), policy discovery, np for non-existent Author Domains, t=y,
// unknown tags, invalid p with and without rua, multiple records at one name, temporary
// failures in the middle of a walk, and the RFC's own examples, read from its text
// (tests/data/dmarc-rfc9989, the final draft -41 that became RFC 9989).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dns/zone_resolver.h"
#include "dmarc_test_inputs.h"

namespace authmilter::dmarc {
namespace {

using dns::RrType;
using namespace test_inputs;

const std::string kRfcText =
    std::string(AUTHMILTER_TEST_DATA_DIR) + "/dmarc-rfc9989/draft-ietf-dmarc-dmarcbis-41.md";
std::string rfc_text() {
  std::ifstream in(kRfcText);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text of the RFC from `start` up to the next line starting with `end`.
std::string rfc_passage(const std::string& start, const std::string& end) {
  const std::string text = rfc_text();
  const std::size_t from = text.find(start);
  if (from == std::string::npos) {
    ADD_FAILURE() << "RFC text lacks: " << start;
    return {};
  }
  const std::size_t to = text.find(end, from + start.size());
  return text.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

// Every "\_dmarc.<name>" the passage names, in order (markdown escapes the underscore).
std::vector<std::string> dmarc_names_in(const std::string& passage) {
  std::vector<std::string> names;
  static const std::regex name(R"(\\?_dmarc\.([a-z0-9.-]*[a-z0-9]))");
  for (auto it = std::sregex_iterator(passage.begin(), passage.end(), name);
       it != std::sregex_iterator(); ++it) {
    names.push_back((*it)[1].str());
  }
  return names;
}

std::vector<std::string> with_prefix(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) out.push_back("_dmarc." + n);
  return out;
}

spf::CheckResult spf_pass(const std::string& domain) {
  return spf_result(spf::Result::kPass, domain);
}

dkim::SignatureResult dkim_pass(const std::string& domain) {
  return signature(dkim::Result::kPass, domain);
}

// ---- the walk's query list ------------------------------------------------------------------

TEST(TreeWalkNames, OneToTwelveLabels) {
  const std::vector<std::string> labels = {"l", "k", "j", "i", "h", "g",
                                           "f", "e", "d", "c", "b", "a"};
  for (std::size_t count = 1; count <= 12; ++count) {
    // The name of `count` labels: the last `count` of a.b.c.d.e.f.g.h.i.j.k.l
    std::string domain;
    for (std::size_t i = 0; i < count; ++i)
      domain = labels[i] + (domain.empty() ? "" : ".") + domain;
    const std::vector<std::string> names = tree_walk_names(domain);
    SCOPED_TRACE(domain);
    ASSERT_FALSE(names.empty());
    EXPECT_EQ(names.front(), domain);
    EXPECT_EQ(names.back(), "l");  // always down to the last label
    EXPECT_LE(names.size(), kMaxWalkQueries);
    if (count <= 8) {
      // One label less each step: every suffix, exactly once.
      EXPECT_EQ(names.size(), count);
      for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(std::count(names[i].begin(), names[i].end(), '.') + 1,
                  static_cast<long>(count - i));
      }
    } else {
      // Straight from the full name to its last seven labels, then one less each step.
      EXPECT_EQ(names.size(), 8u);
      EXPECT_EQ(std::count(names[1].begin(), names[1].end(), '.') + 1, 7);
    }
  }
  EXPECT_TRUE(tree_walk_names("bad..name").empty());
  EXPECT_EQ(tree_walk_names("Mail.Example.COM."),
            (std::vector<std::string>{"mail.example.com", "example.com", "com"}));
}

TEST(TreeWalkNames, TheRfcsEightQueryExample) {
  // "DNS Tree Walk": "for a message with the arbitrary Author Domain of
  // a.b.c.d.e.f.g.h.i.j.mail.example.com, a full DNS Tree Walk would require the following
  // eight queries".
  const std::vector<std::string> rfc =
      dmarc_names_in(rfc_passage("would require the following", "###  DMARC Policy Discovery"));
  ASSERT_EQ(rfc.size(), 8u);
  EXPECT_EQ(rfc.front(), "a.b.c.d.e.f.g.h.i.j.mail.example.com");
  EXPECT_EQ(tree_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com"), rfc);
}

// ---- Organizational Domain selection --------------------------------------------------------

TEST(SelectOrgDomain, PsdNPsdYFewestLabelsOrStart) {
  using R = WalkRecord;
  // The three examples under "Identifier Alignment Evaluation", start a.mail.example.com.
  const std::vector<R> two = {{"mail.example.com", Psd::kUnspecified},
                              {"example.com", Psd::kUnspecified}};
  EXPECT_EQ(select_org_domain("a.mail.example.com", two), "example.com");
  const std::vector<R> psd_n = {{"mail.example.com", Psd::kNo}};
  EXPECT_EQ(select_org_domain("a.mail.example.com", psd_n), "mail.example.com");
  const std::vector<R> psd_y = {{"com", Psd::kYes}};
  EXPECT_EQ(select_org_domain("a.mail.example.com", psd_y), "example.com");
  // psd=y on the starting name itself does not count; it is then the fewest-labels record.
  const std::vector<R> own_y = {{"example.com", Psd::kYes}};
  EXPECT_EQ(select_org_domain("example.com", own_y), "example.com");
  // No record at all: the starting domain.
  EXPECT_EQ(select_org_domain("a.mail.example.com", {}), "a.mail.example.com");
  // Longest first: a psd=n below wins over a psd=y above.
  const std::vector<R> both = {{"mail.example.com", Psd::kNo}, {"com", Psd::kYes}};
  EXPECT_EQ(select_org_domain("a.mail.example.com", both), "mail.example.com");
  // psd=y under a deep name: one label below it, counted on the starting name.
  const std::vector<R> deep = {{"bank.example", Psd::kYes}};
  EXPECT_EQ(select_org_domain("x.y.giant.bank.example", deep), "giant.bank.example");
}

// ---- the evaluator in treewalk mode ---------------------------------------------------------

class TreeWalkTest : public ::testing::Test {
 protected:
  void record(const std::string& domain, const std::string& text) {
    zone_.add_txt("_dmarc." + domain, {text});
  }
  DmarcResult run(const std::string& from, const spf::CheckResult* spf,
                  const std::vector<dkim::SignatureResult>& dkim = {},
                  const std::vector<std::string>& early = {}) {
    const Evaluator::Pending pending = evaluator_.start(from, early);
    return evaluator_.evaluate(pending, Inputs{spf, dkim}, later());
  }
  DmarcResult run_failing(const std::string& from) {
    const spf::CheckResult spf = spf_pass("other.example.net");
    return run(from, &spf, {dkim_pass("other.example.net")});
  }

  dns::ZoneResolver zone_;
  Evaluator evaluator_{zone_, pinned_psl(), Discovery::kTreeWalk};
};

TEST_F(TreeWalkTest, RecordThreeLabelsAboveIsFoundByTheWalk) {
  // The PSL would say example.com too, but only the walk asks b.c.example.com and c.example.com.
  record("example.com", "v=DMARC1; p=reject; sp=quarantine");
  const DmarcResult r = run_failing("a.b.c.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.discovery, Discovery::kTreeWalk);
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.org_domain, "example.com");
  EXPECT_EQ(r.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
  for (const char* name : {"_dmarc.a.b.c.example.com", "_dmarc.b.c.example.com",
                           "_dmarc.c.example.com", "_dmarc.example.com", "_dmarc.com"}) {
    EXPECT_EQ(zone_.query_count(name, RrType::kTxt), 1u) << name;
  }
}

TEST_F(TreeWalkTest, PsdNMakesAnOrganizationalDomainBelowTheRegisteredOne) {
  // mail.example.com declares itself an organization: relaxed alignment with example.com ends.
  record("example.com", "v=DMARC1; p=reject");
  record("mail.example.com", "v=DMARC1; p=quarantine; psd=n");
  const DmarcResult r = run_failing("a.mail.example.com");
  EXPECT_EQ(r.org_domain, "mail.example.com");
  EXPECT_EQ(r.policy_domain, "mail.example.com");
  EXPECT_EQ(r.psd, Psd::kNo);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
  // The walk stops at psd=n: what example.com and com say no longer matters (their lookups
  // were started at end of headers with the others, but are not read).
  const spf::CheckResult sibling = spf_pass("b.mail.example.com");
  EXPECT_EQ(run("a.mail.example.com", &sibling).result, Result::kPass);
  const spf::CheckResult parent = spf_pass("example.com");
  const DmarcResult p = run("a.mail.example.com", &parent);
  EXPECT_EQ(p.result, Result::kFail);
  EXPECT_FALSE(p.spf_aligned);
  zone_.set_error("_dmarc.example.com", RrType::kTxt, dns::Status::kServFail);
  EXPECT_EQ(run_failing("a.mail.example.com").disposition, Policy::kQuarantine);
}

TEST_F(TreeWalkTest, PsdYParentMakesTwoSubdomainsDifferentOrganizations) {
  record("bank.example", "v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y");
  // giant.bank.example has no record of its own: the PSD's record applies (sp: it exists).
  zone_.add("giant.bank.example", RrType::kA, "192.0.2.1");
  const spf::CheckResult mega = spf_pass("mega.bank.example");
  const DmarcResult r = run("giant.bank.example", &mega);
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_FALSE(r.spf_aligned);
  EXPECT_EQ(r.org_domain, "giant.bank.example");
  EXPECT_EQ(r.policy_domain, "bank.example");
  EXPECT_EQ(r.psd, Psd::kYes);
  EXPECT_EQ(r.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(r.disposition, Policy::kQuarantine);
  // Within one organization they align.
  const spf::CheckResult own = spf_pass("mail.giant.bank.example");
  EXPECT_EQ(run("giant.bank.example", &own).result, Result::kPass);
  // In psl mode the same names are one organization (bank.example is not on the list).
  const Evaluator psl(zone_, pinned_psl(), Discovery::kPsl);
  const DmarcResult by_psl =
      psl.evaluate(psl.start("giant.bank.example"), Inputs{&mega, {}}, later());
  EXPECT_EQ(by_psl.result, Result::kPass);
}

TEST_F(TreeWalkTest, NpForNonExistentDomainSpForExistingOne) {
  record("example.com", "v=DMARC1; p=quarantine; sp=none; np=reject");
  zone_.add("exists.example.com", RrType::kMx, "mx.example.com", 10);  // TXT: NODATA
  const DmarcResult missing = run_failing("nx.example.com");           // NXDOMAIN
  EXPECT_FALSE(missing.author_domain_exists);
  EXPECT_EQ(missing.policy_tag, PolicyTag::kNp);
  EXPECT_EQ(missing.disposition, Policy::kReject);
  const DmarcResult existing = run_failing("exists.example.com");
  EXPECT_TRUE(existing.author_domain_exists);
  EXPECT_EQ(existing.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(existing.disposition, Policy::kNone);
  // An empty non-terminal exists too (RFC 8020: NODATA, not NXDOMAIN).
  zone_.add("host.ent.example.com", RrType::kA, "192.0.2.2");
  EXPECT_EQ(run_failing("ent.example.com").policy_tag, PolicyTag::kSp);
  // The domain's own record: p, whatever np says.
  EXPECT_EQ(run_failing("example.com").policy_tag, PolicyTag::kP);
  EXPECT_EQ(run_failing("example.com").disposition, Policy::kQuarantine);
}

TEST_F(TreeWalkTest, NpFallsBackToSpThenP) {
  record("sp.example", "v=DMARC1; p=none; sp=reject");
  record("p.example", "v=DMARC1; p=quarantine");
  // Without np, sp and p do not depend on existence: the answer is not waited for (and
  // author_domain_exists stays true, "not needed").
  const DmarcResult sp = run_failing("nx.sp.example");
  EXPECT_EQ(sp.policy_tag, PolicyTag::kSp);
  EXPECT_EQ(sp.disposition, Policy::kReject);
  const DmarcResult p = run_failing("nx.p.example");
  EXPECT_EQ(p.policy_tag, PolicyTag::kP);
  EXPECT_EQ(p.disposition, Policy::kQuarantine);
}

TEST_F(TreeWalkTest, ExistenceFailureMattersOnlyWhenSpAndNpDiffer) {
  record("example.com", "v=DMARC1; p=reject; sp=none; np=reject");
  record("example.org", "v=DMARC1; p=reject; sp=reject; np=reject");
  zone_.set_error("sub.example.com", RrType::kTxt, dns::Status::kServFail);
  zone_.set_error("sub.example.org", RrType::kTxt, dns::Status::kServFail);
  EXPECT_EQ(run_failing("sub.example.com").result, Result::kTempError);
  const DmarcResult same = run_failing("sub.example.org");
  EXPECT_EQ(same.result, Result::kFail);
  EXPECT_EQ(same.disposition, Policy::kReject);
}

TEST_F(TreeWalkTest, TestingStepsDownEachPolicy) {
  record("reject.example", "v=DMARC1; p=reject; t=y");
  record("quarantine.example", "v=DMARC1; p=quarantine; t=y");
  record("none.example", "v=DMARC1; p=none; t=y");
  record("sub.example", "v=DMARC1; p=none; sp=reject; t=y");
  const DmarcResult reject = run_failing("reject.example");
  EXPECT_TRUE(reject.testing);
  EXPECT_FALSE(reject.testing_from_pct);
  EXPECT_EQ(reject.requested, Policy::kReject);
  EXPECT_EQ(reject.disposition, Policy::kQuarantine);
  EXPECT_EQ(run_failing("quarantine.example").disposition, Policy::kNone);
  EXPECT_EQ(run_failing("none.example").disposition, Policy::kNone);
  zone_.add("a.sub.example", RrType::kA, "192.0.2.3");
  EXPECT_EQ(run_failing("a.sub.example").disposition, Policy::kQuarantine);
  // A pass stays a pass with disposition none.
  const spf::CheckResult spf = spf_pass("reject.example");
  EXPECT_EQ(run("reject.example", &spf).disposition, Policy::kNone);
}

TEST_F(TreeWalkTest, UnknownAndRemovedTagsAreIgnored) {
  record("example.com", "v=DMARC1; p=reject; ri=bogus; rf=x; future=1; pct=50; fo=1");
  const DmarcResult r = run_failing("example.com");
  EXPECT_EQ(r.disposition, Policy::kReject);
  EXPECT_FALSE(r.testing);
}

TEST_F(TreeWalkTest, InvalidPWithAndWithoutRua) {
  record("rua.example", "v=DMARC1; p=never; rua=mailto:d@rua.example");
  record("norua.example", "v=DMARC1; p=never");
  record("nop.example", "v=DMARC1; rua=mailto:d@nop.example");
  const DmarcResult rua = run_failing("rua.example");
  EXPECT_EQ(rua.result, Result::kFail);
  EXPECT_TRUE(rua.p_none_for_rua);
  EXPECT_EQ(rua.disposition, Policy::kNone);
  EXPECT_EQ(rua.rua, std::vector<std::string>{"mailto:d@rua.example"});
  const DmarcResult norua = run_failing("norua.example");
  EXPECT_EQ(norua.result, Result::kNone);
  EXPECT_TRUE(norua.policy_domain.empty());
  EXPECT_EQ(run_failing("nop.example").result, Result::kFail);
  EXPECT_EQ(run_failing("nop.example").p, Policy::kNone);
}

TEST_F(TreeWalkTest, MultipleRecordsAtOneNameAreDiscarded) {
  // In the middle of the walk: b.example.com's two records are skipped, example.com applies.
  zone_.add_txt("_dmarc.b.example.com", {"v=DMARC1; p=none; psd=n"});
  zone_.add_txt("_dmarc.b.example.com", {"v=DMARC1; p=none"});
  record("example.com", "v=DMARC1; p=reject");
  const DmarcResult r = run_failing("a.b.example.com");
  EXPECT_EQ(r.policy_domain, "example.com");
  EXPECT_EQ(r.org_domain, "example.com");  // psd=n of a discarded record does not count
  EXPECT_EQ(r.disposition, Policy::kReject);
}

TEST_F(TreeWalkTest, TemporaryFailureMidWalk) {
  // No record at the Author Domain, the walk fails above it: temperror.
  record("example.com", "v=DMARC1; p=reject");
  zone_.set_error("_dmarc.b.example.com", RrType::kTxt, dns::Status::kServFail);
  const DmarcResult r = run_failing("a.b.example.com");
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("_dmarc.b.example.com"), std::string::npos) << r.comment;
  // A psd=n record below the failing name stops the walk first: no temperror.
  record("x.b.example.com", "v=DMARC1; p=quarantine; psd=n");
  const DmarcResult stopped = run_failing("a.x.b.example.com");
  EXPECT_EQ(stopped.result, Result::kFail);
  EXPECT_EQ(stopped.policy_domain, "x.b.example.com");
  // The Author Domain's own record is found, the walk above fails: the policy is known, the
  // Organizational Domain is not; an identifier under the same TLD cannot be judged.
  record("a.b.example.com", "v=DMARC1; p=reject");
  const spf::CheckResult cousin = spf_pass("c.example.com");
  const DmarcResult unknown = run("a.b.example.com", &cousin);
  EXPECT_EQ(unknown.result, Result::kTempError);
  // ... unless another identifier aligns, or the identifier cannot possibly align.
  const spf::CheckResult stranger = spf_pass("example.net");
  EXPECT_EQ(run("a.b.example.com", &stranger).result, Result::kFail);
  EXPECT_EQ(run("a.b.example.com", &cousin, {dkim_pass("a.b.example.com")}).result, Result::kPass);
  // An identifier's own walk failing is temperror too when nothing else aligns.
  record("example.org", "v=DMARC1; p=reject");
  zone_.set_error("_dmarc.mail.example.org", RrType::kTxt, dns::Status::kTimeout);
  const spf::CheckResult sub = spf_pass("mail.example.org");
  EXPECT_EQ(run("example.org", &sub).result, Result::kTempError);
  EXPECT_EQ(run("example.org", &sub, {dkim_pass("example.org")}).result, Result::kPass);
}

TEST_F(TreeWalkTest, AtMostEightQueriesPerWalk) {
  const std::string deep = "a.b.c.d.e.f.g.h.i.j.k.l.example.com";
  record("example.com", "v=DMARC1; p=reject");
  EXPECT_EQ(run(deep, nullptr).result, Result::kFail);
  // Eight _dmarc queries and the Author Domain's existence: nothing else.
  EXPECT_EQ(zone_.query_count(), 9u);
  for (const std::string& name : tree_walk_names(deep)) {
    EXPECT_EQ(zone_.query_count("_dmarc." + name, RrType::kTxt), 1u) << name;
  }
  // A second deep identifier: its own walk of eight, sharing the upper names (which the
  // production resolver's cache and coalescing make free).
  const spf::CheckResult spf = spf_pass("m.n.o.p.q.r.s.t.u.example.com");
  const DmarcResult r = run(deep, &spf, {}, {"m.n.o.p.q.r.s.t.u.example.com"});
  EXPECT_EQ(r.result, Result::kPass);  // both organizational domains are example.com
  EXPECT_EQ(zone_.query_count(), 9u + 9u + 8u);
}

TEST_F(TreeWalkTest, IdentifiersNotStartedEarlyAreWalkedLate) {
  record("example.com", "v=DMARC1; p=reject");
  const DmarcResult r = run("example.com", nullptr, {dkim_pass("mail.example.com")});
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(zone_.query_count("_dmarc.mail.example.com", RrType::kTxt), 1u);
}

// ---- the RFC's Examples section ("Organizational and Policy Domain Tree Walk Examples") ----

TEST_F(TreeWalkTest, RfcSimpleOrganizationalAndPolicyExample) {
  // "_dmarc.example.com" and "_dmarc.signing.example.com" both have DMARC Policy Records
  // while "_dmarc.com" does not.
  record("example.com", "v=DMARC1; p=reject");
  record("signing.example.com", "v=DMARC1; p=none");
  const std::vector<std::string> early = {"example.com", "signing.example.com"};
  const spf::CheckResult spf = spf_pass("example.com");
  const DmarcResult by_spf = run("example.com", &spf, {}, early);
  EXPECT_TRUE(by_spf.spf_aligned);
  const DmarcResult by_dkim =
      run("example.com", nullptr, {dkim_pass("signing.example.com")}, early);
  EXPECT_TRUE(by_dkim.dkim_aligned);
  EXPECT_EQ(by_dkim.result, Result::kPass);
  // "since the RFC5322.From domain has a DMARC Policy Record, that is the policy domain".
  EXPECT_EQ(by_dkim.policy_domain, "example.com");
  EXPECT_EQ(by_dkim.org_domain, "example.com");
  // "query _dmarc.signing.example.com, _dmarc.example.com, and _dmarc.com"
  const std::vector<std::string> rfc = dmarc_names_in(rfc_passage(
      "To determine the Organizational Domain for the DKIM-Authenticated Identifier, \nquery",
      "Both"));
  EXPECT_EQ(with_prefix(tree_walk_names("signing.example.com")), with_prefix(rfc));
}

TEST_F(TreeWalkTest, RfcDeepTreeWalkExample) {
  record("example.com", "v=DMARC1; p=reject");
  record("signing.example.com", "v=DMARC1; p=none");
  const std::string author = "a.b.c.d.e.f.g.h.i.j.k.example.com";
  const spf::CheckResult spf = spf_pass("example.com");
  const DmarcResult r =
      run(author, &spf, {dkim_pass("signing.example.com")}, {"example.com", "signing.example.com"});
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_TRUE(r.spf_aligned || r.dkim_aligned);
  EXPECT_EQ(r.org_domain, "example.com");
  // "the policy domain is the highest element in the DNS tree with a DMARC Policy Record,
  // example.com"
  EXPECT_EQ(r.policy_domain, "example.com");
  // The Author Domain's queries, exactly as the example lists them.
  const std::vector<std::string> rfc = dmarc_names_in(rfc_passage(
      "To determine the Organizational Domain For the Author Domain, query", "None of"));
  ASSERT_EQ(rfc.size(), 8u);
  EXPECT_EQ(tree_walk_names(author), rfc);
  for (const std::string& name : rfc) {
    EXPECT_GE(zone_.query_count("_dmarc." + name, RrType::kTxt), 1u) << name;
  }
  EXPECT_EQ(zone_.query_count("_dmarc.b.c.d.e.f.g.h.i.j.k.example.com", RrType::kTxt), 0u);
  // Each alignment check on its own.
  const DmarcResult spf_only = run(author, &spf);
  EXPECT_TRUE(spf_only.spf_aligned);
  const DmarcResult dkim_only = run(author, nullptr, {dkim_pass("signing.example.com")});
  EXPECT_TRUE(dkim_only.dkim_aligned);
}

TEST_F(TreeWalkTest, RfcExampleWithAPsdDmarcPolicyRecord) {
  // "_dmarc.bank.example" has a DMARC Policy Record which includes the "psd=y" tag, and
  // "_dmarc.example" does not ... "_dmarc.giant.bank.example" has a DMARC Policy Record
  // without a "psd" tag, "_dmarc.mega.bank.example" and "_dmarc.mail.mega.bank.example" have
  // no DMARC Policy Records.
  const std::string passage =
      rfc_passage("### Example with a PSD DMARC Policy Record", "##  Utilization");
  ASSERT_NE(passage.find("psd=y"), std::string::npos);
  record("bank.example", "v=DMARC1; p=reject; psd=y");
  record("giant.bank.example", "v=DMARC1; p=quarantine");
  const spf::CheckResult spf = spf_pass("mail.giant.bank.example");
  const std::vector<dkim::SignatureResult> dkim = {dkim_pass("mail.mega.bank.example")};
  const std::vector<std::string> early = {"mail.giant.bank.example", "mail.mega.bank.example"};
  const DmarcResult r = run("giant.bank.example", &spf, dkim, early);
  // "The Organizational Domain is giant.bank.example ... it is also the policy domain."
  EXPECT_EQ(r.org_domain, "giant.bank.example");
  EXPECT_EQ(r.policy_domain, "giant.bank.example");
  // "SPF is aligned" ... "The Organizational Domain is mega.bank.example, so DKIM is not
  // aligned."
  EXPECT_TRUE(r.spf_aligned);
  EXPECT_FALSE(r.dkim_aligned);
  EXPECT_EQ(r.result, Result::kPass);
  const DmarcResult dkim_only = run("giant.bank.example", nullptr, dkim, early);
  EXPECT_FALSE(dkim_only.dkim_aligned);
  EXPECT_EQ(dkim_only.result, Result::kFail);
  EXPECT_EQ(dkim_only.disposition, Policy::kQuarantine);
  // The walks stop at psd=y: "_dmarc.example" is not read (a failure there changes nothing).
  zone_.set_error("_dmarc.example", RrType::kTxt, dns::Status::kServFail);
  EXPECT_EQ(run("giant.bank.example", &spf, dkim, early).result, Result::kPass);
}

}  // namespace
}  // namespace authmilter::dmarc

// The OpenSPF suites (RFC 7208, and RFC 4408 where RFC 7208 did not change the answer) run
// through our spf::Checker over ZoneResolver: one GoogleTest per case, named
// <Suite>/SpfConformance.Case/<scenario>__<case>, plus one summary test per suite that prints
// "rfc7208: N passed, M failed" with a line per scenario. See spf_suite.h and
// docs/CONFORMANCE.md.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "spf_suite.h"

namespace authmilter::conformance {
namespace {

std::string file_of(const std::string& name) { return name + "-tests.yml"; }

// The full yaml-cpp parse, once per process (summary and harness tests only).
const SpfSuite& suite(const std::string& name) {
  static std::map<std::string, SpfSuite> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, load_spf_suite(name, file_of(name))).first;
  return it->second;
}

class SpfConformance : public testing::TestWithParam<SpfCaseRef> {};

TEST_P(SpfConformance, Case) {
  const CaseOutcome outcome = run_spf_case(load_spf_case(GetParam()));
  if (outcome.verdict == CaseOutcome::Verdict::kSkipped) GTEST_SKIP() << outcome.message;
  EXPECT_EQ(outcome.verdict, CaseOutcome::Verdict::kPassed) << outcome.message;
}

// Unique, GoogleTest-safe names: "<scenario>__<case>".
std::string case_name(const testing::TestParamInfo<SpfCaseRef>& info) {
  return test_name_part(info.param.scenario) + "__" + test_name_part(info.param.id);
}

INSTANTIATE_TEST_SUITE_P(Rfc7208, SpfConformance,
                         testing::ValuesIn(scan_spf_suite("rfc7208", file_of("rfc7208"))),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Rfc4408, SpfConformance,
                         testing::ValuesIn(scan_spf_suite("rfc4408", file_of("rfc4408"))),
                         case_name);

// Runs a whole suite, prints per-scenario and total counts, and fails on any failed case.
void run_summary(const std::string& name, std::size_t expected_cases) {
  const SpfSuite& loaded = suite(name);
  ASSERT_TRUE(loaded.error.empty()) << loaded.error;
  // The suite files are read-only copies with a known size (README.md of the folder).
  EXPECT_EQ(loaded.cases.size(), expected_cases);
  // The per-case tests found their cases with a line scan and parsed one scenario each: that
  // must be exactly what the full parse sees.
  const std::vector<SpfCaseRef> scanned = scan_spf_suite(name, file_of(name));
  ASSERT_EQ(scanned.size(), loaded.cases.size());
  for (std::size_t i = 0; i < scanned.size(); ++i) {
    const SpfCase& full = loaded.cases[i];
    const SpfCase single = load_spf_case(scanned[i]);
    EXPECT_EQ(scanned[i].id, full.id);
    EXPECT_EQ(scanned[i].scenario, full.scenario);
    EXPECT_EQ(single.id, full.id);
    EXPECT_EQ(single.zone_error, full.zone_error) << full.id;
    EXPECT_EQ(single.helo + "|" + single.host + "|" + single.mailfrom,
              full.helo + "|" + full.host + "|" + full.mailfrom);
    EXPECT_EQ(single.results, full.results) << full.id;
    EXPECT_EQ(single.explanation, full.explanation) << full.id;
  }
  struct Counts {
    int passed = 0;
    int failed = 0;
    int skipped = 0;
    int rfc7208_answer = 0;  // RFC 4408 cases held to the RFC 7208 answer (find_override)
  };
  std::vector<std::string> order;
  std::map<std::string, Counts> per_scenario;
  Counts total;
  std::set<std::string> names;
  for (const SpfCase& test_case : loaded.cases) {
    EXPECT_TRUE(
        names.insert(test_name_part(test_case.scenario) + "__" + test_name_part(test_case.id))
            .second)
        << "duplicate test name for " << test_case.id;
    if (!per_scenario.contains(test_case.scenario)) order.push_back(test_case.scenario);
    Counts& counts = per_scenario[test_case.scenario];
    const CaseOutcome outcome = run_spf_case(test_case);
    if (const Override* override = find_override(test_case);
        override != nullptr && !override->results.empty()) {
      ++total.rfc7208_answer;
    }
    switch (outcome.verdict) {
      case CaseOutcome::Verdict::kPassed:
        ++counts.passed;
        ++total.passed;
        break;
      case CaseOutcome::Verdict::kSkipped:
        ++counts.skipped;
        ++total.skipped;
        break;
      case CaseOutcome::Verdict::kFailed:
        ++counts.failed;
        ++total.failed;
        ADD_FAILURE() << outcome.message;
        break;
    }
  }
  for (const std::string& scenario : order) {
    const Counts& counts = per_scenario[scenario];
    std::printf("%s / %s: %d passed, %d failed, %d known deviations\n", name.c_str(),
                scenario.c_str(), counts.passed, counts.failed, counts.skipped);
  }
  std::printf("%s: %d passed, %d failed (%d known deviations skipped", name.c_str(), total.passed,
              total.failed, total.skipped);
  if (total.rfc7208_answer > 0) {
    std::printf("; %d held to the RFC 7208 answer", total.rfc7208_answer);
  }
  std::printf(")\n");
  EXPECT_EQ(total.failed, 0);
}

const SpfCase& find_case(const std::string& suite_name, const std::string& id) {
  for (const SpfCase& test_case : suite(suite_name).cases) {
    if (test_case.id == id) return test_case;
  }
  throw std::out_of_range("no case " + id);
}

// Spot checks that the harness really compares what it claims to.
TEST(SpfSuiteHarness, AuthResultsNameTheCheckedIdentity) {
  // RFC 7208 §4.3: no local-part -> postmaster; the suite expects fail with that in exp=.
  const CaseOutcome mail_from = run_spf_case(find_case("rfc7208", "nolocalpart"));
  EXPECT_EQ(mail_from.verdict, CaseOutcome::Verdict::kPassed) << mail_from.message;
  EXPECT_EQ(mail_from.result, "fail");
  EXPECT_EQ(mail_from.explanation, "postmaster");
  EXPECT_NE(mail_from.auth_results.find("spf=fail"), std::string::npos);
  EXPECT_NE(mail_from.auth_results.find("smtp.mailfrom=postmaster@example.net"), std::string::npos)
      << mail_from.auth_results;
  // An empty mailfrom is a HELO check: smtp.helo, the HELO as given.
  const CaseOutcome helo = run_spf_case(find_case("rfc7208", "helo-not-fqdn"));
  EXPECT_EQ(helo.verdict, CaseOutcome::Verdict::kPassed) << helo.message;
  EXPECT_EQ(helo.result, "none");
  EXPECT_NE(helo.auth_results.find("spf=none"), std::string::npos);
  EXPECT_NE(helo.auth_results.find("smtp.helo=A2345678"), std::string::npos) << helo.auth_results;
  EXPECT_EQ(helo.auth_results.find("smtp.mailfrom"), std::string::npos);
}

TEST(SpfSuiteHarness, ZoneSemanticsFollowPyspf) {
  // spftimeout: TXT listed before a bare TIMEOUT answers, the SPF type times out.
  const SpfCase& spftimeout = find_case("rfc7208", "spftimeout");
  ASSERT_TRUE(spftimeout.zone_error.empty()) << spftimeout.zone_error;
  EXPECT_EQ(spftimeout.zone->answer("spftimeout.example.net", dns::RrType::kTxt).status,
            dns::Status::kNoError);
  EXPECT_EQ(spftimeout.zone->answer("spftimeout.example.net", dns::RrType::kSpf).status,
            dns::Status::kTimeout);
  // spfonly: "TXT: NONE" keeps the SPF record from being copied to TXT.
  const SpfCase& spfonly = find_case("rfc7208", "spfonly");
  EXPECT_EQ(spfonly.zone->answer("spfonly.example.net", dns::RrType::kTxt).status,
            dns::Status::kNoData);
  // Initial processing: a name with only SPF serves it as TXT as well.
  const SpfCase& longlabel = find_case("rfc7208", "longlabel");
  const dns::Answer txt = longlabel.zone->answer(
      "a12345678901234567890123456789012345678901234567890123456789012.example.com",
      dns::RrType::kTxt);
  ASSERT_EQ(txt.status, dns::Status::kNoError);
  EXPECT_EQ(txt.records.at(0).data, "v=spf1 -all");
  // A multi-string TXT is glued without separator (RFC 7208 §3.3).
  const SpfCase& null_text = find_case("rfc7208", "null-text");
  const dns::Answer glued = null_text.zone->answer("null.example.com", dns::RrType::kTxt);
  ASSERT_EQ(glued.status, dns::Status::kNoError);
  EXPECT_EQ(glued.records.at(0).data, "v=spf1 ip4:192.0.2.5 -all");
}

TEST(SpfSuiteSummary, Rfc7208) { run_summary("rfc7208", 203); }
TEST(SpfSuiteSummary, Rfc4408) { run_summary("rfc4408", 191); }

}  // namespace
}  // namespace authmilter::conformance

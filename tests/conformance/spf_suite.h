// authmilter conformance — the OpenSPF test suites (RFC 7208 / RFC 4408) as test cases.
//
// What: load_spf_suite() reads one suite file of tests/data/spf-openspf/ as it is
//   (YAML, one scenario per document: `zonedata` and `tests`, see that folder's README.md)
//   and turns each scenario's zone data into a dns::ZoneResolver, the same Resolver seam the
//   daemon's SPF engine runs on. run_spf_case() runs our spf::Checker on one case and compares
//   result, explanation and the Authentication-Results rendering with the suite.
// Zone semantics (pyspf test/testspf.py, which the suites were written for):
//   - a name listing SPF records and no TXT record serves the SPF strings as TXT as well;
//     `TXT: NONE` / `SPF: NONE` mean an empty record set of that type;
//   - a bare `TIMEOUT` entry makes every type not listed above it time out (pyspf walks the
//     list in order and stops there); `TYPE: TIMEOUT` times out that type only;
//   - names not listed are NXDOMAIN; a listed name is never NXDOMAIN; names beginning with
//     "error." time out; CNAMEs are followed by ZoneResolver.
// Identity: a case with an empty mailfrom is a HELO check (RFC 7208 §2.3; the suite's
//   "mailfrom: ''"), run as Identity::kHelo and, to cover the null reverse-path path (§2.4),
//   also as MAIL FROM <> which must give the same result.
// Explanation: compared case-insensitively when the result is fail; the suite's "DEFAULT"
//   (Mail::SPF's default_authority_explanation) stands for "no exp= text", which is what our
//   Checker returns then.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "authmilter/dns/zone_resolver.h"

namespace authmilter::conformance {

struct SpfCase {
  std::string suite;     // "rfc7208" or "rfc4408"
  std::string scenario;  // the scenario's description
  std::string id;        // the case's key in `tests`
  std::string spec;      // RFC section reference, for messages
  std::string helo;
  std::string host;
  std::string mailfrom;
  std::vector<std::string> results;         // acceptable result tokens
  std::optional<std::string> explanation;   // expected exp= text on fail
  std::shared_ptr<dns::ZoneResolver> zone;  // shared by the scenario's cases
  std::string zone_error;                   // set when the zone data could not be loaded
};

struct SpfSuite {
  std::string name;
  std::string error;  // set when the file could not be read or parsed
  std::vector<SpfCase> cases;
};

// Reads `<AUTHMILTER_TEST_DATA_DIR>/spf-openspf/<file>` with yaml-cpp; never throws
// (problems go to SpfSuite::error or SpfCase::zone_error).
SpfSuite load_spf_suite(const std::string& name, const std::string& file);

// Where one case is: CTest runs every case in a process of its own, and GoogleTest needs all
// case names in each, so parsing both suites whole each time (about 30 ms of CPU) would make
// the run slow. scan_spf_suite() finds the names with a line scan of the file (scenarios are
// the "---" separated parts, a top-level "description:" and the keys under "tests:"), and
// load_spf_case() parses only the case's own scenario with yaml-cpp. The summary tests check
// that the scan and the full parse agree case by case.
struct SpfCaseRef {
  std::string suite;
  std::string file;
  std::size_t part = 0;  // index of the "---" separated part of the file
  std::string scenario;
  std::string id;
};
// GoogleTest prints a parameter with this ("rfc7208 <scenario> / <case id>") instead of a byte
// dump of the struct.
void PrintTo(const SpfCaseRef& ref, std::ostream* out);
std::vector<SpfCaseRef> scan_spf_suite(const std::string& name, const std::string& file);
SpfCase load_spf_case(const SpfCaseRef& ref);

// A case where the suite's expectation is deliberately not what we check (see
// docs/CONFORMANCE.md): either a known deviation (skipped) or, for RFC 4408 cases that RFC 7208
// changed, the RFC 7208 answer we must give instead.
struct Override {
  std::vector<std::string> results;  // empty: known deviation, the case is skipped
  std::string reason;
};
const Override* find_override(const SpfCase& test_case);

struct CaseOutcome {
  enum class Verdict { kPassed, kFailed, kSkipped };
  Verdict verdict = Verdict::kFailed;
  std::string message;       // what differed (kFailed) or why skipped (kSkipped)
  std::string result;        // our result token
  std::string explanation;   // our explanation
  std::string auth_results;  // the Authentication-Results value written for our result
};

CaseOutcome run_spf_case(const SpfCase& test_case);

// "Initial processing" -> "initial_processing": GoogleTest parameter names are [A-Za-z0-9_].
std::string test_name_part(const std::string& text);

}  // namespace authmilter::conformance

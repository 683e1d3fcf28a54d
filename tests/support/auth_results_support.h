// Test support (authmilter_test_support): comparing parsed Authentication-Results headers.
//
// What: render() reduces a parsed resinfo (RFC 8601 §2.2) to one comparable line,
//   "method[/version]=result[ reason=[R]][ ptype.property=[value]]...", so a test compares a
//   whole header as a list of strings and a failure shows the difference readably;
//   value_without_field_name() strips a leading "Authentication-Results:" (any case) and one
//   space from a test input, as the milter hands header values over without their name.
// Limits: header-only, test code; never linked into the daemon.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/auth_results_parse.h"

namespace authmilter::test_support {

inline std::string render(const mail::ParsedResInfo& r) {
  std::string s = r.method;
  if (!r.version.empty()) s += "/" + r.version;
  s += "=" + r.result;
  if (!r.reason.empty()) s += " reason=[" + r.reason + "]";
  for (const auto& [k, v] : r.properties) s += " " + k + "=[" + v + "]";
  return s;
}

inline std::vector<std::string> render(const mail::ParsedAuthResults& ar) {
  std::vector<std::string> out;
  for (const auto& r : ar.results) out.push_back(render(r));
  return out;
}

inline std::string value_without_field_name(std::string input) {
  static constexpr std::string_view kName = "authentication-results:";
  if (input.size() >= kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      char c = input[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == kName[i];
    }
    if (match) {
      input.erase(0, kName.size());
      if (!input.empty() && input.front() == ' ') input.erase(0, 1);
    }
  }
  return input;
}

}  // namespace authmilter::test_support

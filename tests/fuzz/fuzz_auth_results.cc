// Fuzz target: the Authentication-Results writer, the authserv-id reader and the A-R parser
// (mail/auth_results.h, mail/auth_results_parse.h; RFC 8601 §2.2).
//
// Input: records separated by 0x1e. The whole input is read as a header value by
//   authserv_id_of() and parse_authentication_results(). Then the first record is an
//   authserv-id and every further record a resinfo for the writer, its units separated by
//   0x1f: method, result, reason, comment, then property/value pairs.
// Invariants (the writer's security contract): no CR, NUL or bare LF in its output, every line
//   break is "\n\t", no line longer than RFC 5322's 998 characters (the first one counting
//   "Authentication-Results: "), the header starts with the id and reads back, through both
//   readers, as that same authserv-id; when every keyword is an RFC 8601 Keyword the parser
//   accepts the header whole.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/auth_results.h"
#include "fuzz_support.h"

#if __has_include("authmilter/mail/auth_results_parse.h")
#include "authmilter/mail/auth_results_parse.h"
#define AUTHMILTER_FUZZ_AR_PARSER 1
#endif

namespace {

using namespace authmilter;

bool is_keyword(std::string_view text) {
  if (text.empty() || text.size() > mail::kMaxKeywordLength) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void check_reader(std::string_view value) {
  const std::optional<std::string> id = mail::authserv_id_of(value);
  if (id) {
    FUZZ_CHECK(!id->empty());
    // same_authserv_id() ignores one trailing dot and never matches an empty id, so "." is an
    // id that matches nothing (not even itself): harmless, such a header is never ours.
    if (*id != ".") FUZZ_CHECK(mail::same_authserv_id(*id, *id));
  }
#ifdef AUTHMILTER_FUZZ_AR_PARSER
  const std::optional<mail::ParsedAuthResults> parsed = mail::parse_authentication_results(value);
  if (parsed) {
    FUZZ_CHECK(parsed->results.size() <= mail::kMaxParsedResInfos);
    FUZZ_CHECK(!parsed->none || parsed->results.empty());
    for (const auto& r : parsed->results) {
      FUZZ_CHECK(!r.method.empty() && !r.result.empty());
      FUZZ_CHECK(r.properties.size() <= mail::kMaxParsedProperties);
    }
  }
#endif
}

void check_writer(const std::vector<std::string_view>& records) {
  const std::string_view id = records[0];
  std::vector<mail::MethodResult> results;
  bool all_keywords = true;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const std::vector<std::string_view> units = fuzz::split(records[i], fuzz::kUnitSeparator);
    mail::MethodResult r;
    r.method = units[0];
    if (units.size() > 1) r.result = units[1];
    if (units.size() > 2) r.reason = units[2];
    if (units.size() > 3) r.comment = units[3];
    for (std::size_t u = 4; u + 1 < units.size(); u += 2) {
      r.properties.emplace_back(std::string(units[u]), std::string(units[u + 1]));
      const std::string_view property = units[u];
      const std::size_t dot = property.find('.');
      all_keywords = all_keywords && dot != std::string_view::npos &&
                     is_keyword(property.substr(0, dot)) && is_keyword(property.substr(dot + 1));
    }
    all_keywords = all_keywords && is_keyword(r.method) && is_keyword(r.result);
    results.push_back(std::move(r));
  }
  if (!mail::is_valid_authserv_id(id)) return;  // the writer throws; config refuses such ids
  const std::string header = mail::format_authentication_results(id, results);

  FUZZ_CHECK(header.rfind(std::string(id) + ";", 0) == 0);
  FUZZ_CHECK(header.find('\r') == std::string::npos);
  FUZZ_CHECK(header.find('\0') == std::string::npos);
  std::size_t line_start = 0;
  std::size_t prefix = mail::kHeaderPrefixLength;
  for (;;) {
    const std::size_t end = header.find('\n', line_start);
    const std::size_t length = (end == std::string::npos ? header.size() : end) - line_start;
    FUZZ_CHECK(prefix + length <= mail::kMaxHardLineLength);
    if (end == std::string::npos) break;
    FUZZ_CHECK(end + 1 < header.size() && header[end + 1] == '\t');  // every break is a fold
    line_start = end + 1;
    prefix = 0;
  }

  // Our own header must be recognised as ours, or forged copies of it could not be removed.
  const std::optional<std::string> read_back = mail::authserv_id_of(header);
  FUZZ_CHECK(read_back.has_value());
  FUZZ_CHECK(mail::same_authserv_id(*read_back, id));
#ifdef AUTHMILTER_FUZZ_AR_PARSER
  const std::optional<mail::ParsedAuthResults> parsed = mail::parse_authentication_results(header);
  // Within the parser's limits, everything the writer writes must parse.
  bool within_limits = header.size() <= mail::kMaxAuthResultsParseLength &&
                       results.size() <= mail::kMaxParsedResInfos;
  for (const auto& r : results) {
    within_limits = within_limits && r.properties.size() <= mail::kMaxParsedProperties;
  }
  if (all_keywords && within_limits) {
    FUZZ_CHECK(parsed.has_value());
  }
  if (parsed) FUZZ_CHECK(mail::same_authserv_id(parsed->authserv_id, id));
#else
  (void)all_keywords;
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  check_reader(input);
  check_writer(fuzz::split(input, fuzz::kRecordSeparator));
  return 0;
}

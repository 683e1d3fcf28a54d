#include "record_selection.h"

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "authmilter/util/ascii.h"

namespace authmilter::spf {
namespace {

// "spf2.0/mfrom,pra ..." -> true when the scope list names `scope` (RFC 4406 §3.4).
bool spf2_record_has_scope(std::string_view text, std::string_view scope, std::size_t& body) {
  constexpr std::string_view kPrefix = "spf2.0/";
  if (!util::istarts_with_ascii(text, kPrefix)) return false;
  const std::size_t end = std::min(text.find(' '), text.size());
  body = end;
  std::string_view scopes = text.substr(kPrefix.size(), end - kPrefix.size());
  while (true) {
    const std::size_t comma = scopes.find(',');
    if (util::iequals_ascii(scopes.substr(0, comma), scope)) return true;
    if (comma == std::string_view::npos) return false;
    scopes.remove_prefix(comma + 1);
  }
}

// RFC 4406 §3.1: a record "starting with spf2.0" (§3.4), i.e. whose version section (up to
// the scope list's "/" or the first SP) is "spf2.0", whatever its scopes and even if they are
// malformed; "spf2.01/pra" or "spf2.1/pra" are other versions.
bool is_spf2_record(std::string_view text) {
  constexpr std::string_view kVersion = "spf2.0";
  return util::istarts_with_ascii(text, kVersion) &&
         (text.size() == kVersion.size() || text[6] == '/' || text[6] == ' ');
}

bool is_spf1_record(std::string_view text) {
  constexpr std::string_view kVersion = "v=spf1";
  return util::istarts_with_ascii(text, kVersion) &&
         (text.size() == kVersion.size() || text[6] == ' ');
}

}  // namespace

RecordSelection select_record(const std::vector<std::string>& texts, Scope scope) {
  RecordSelection selection;
  if (scope == Scope::kPra) {
    // RFC 4406 §4.4: spf2.0 records for the scope win. §3.4: v=spf1 stands for
    // "spf2.0/mfrom,pra" only when no spf2.0 record exists at all; a domain whose spf2.0
    // records name other scopes only has no pra policy ("none").
    std::size_t found = 0;
    bool any_spf2 = false;
    for (const std::string& text : texts) {
      any_spf2 = any_spf2 || is_spf2_record(text);
      std::size_t body = 0;
      if (!spf2_record_has_scope(text, "pra", body)) continue;
      if (++found > 1) {
        return RecordSelection{RecordSelection::Outcome::kMultiple, {}};
      }
      selection.outcome = RecordSelection::Outcome::kFound;
      selection.record = "v=spf1" + text.substr(body);
    }
    if (found == 1 || any_spf2) return selection;
  }
  std::size_t found = 0;
  for (const std::string& text : texts) {
    if (!is_spf1_record(text)) continue;
    if (++found > 1) return RecordSelection{RecordSelection::Outcome::kMultiple, {}};
    selection.outcome = RecordSelection::Outcome::kFound;
    selection.record = text;
  }
  return selection;
}

}  // namespace authmilter::spf

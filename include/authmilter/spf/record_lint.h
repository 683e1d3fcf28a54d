// authmilter::spf record lint — RFC 7208 record rules libspf2 1.2.10 gets wrong.
//
// What: every selected record passes prepare_record() before SPF_record_compile(). A finding
//   makes the record a syntax error, so check_host() returns permerror (RFC 7208 §4.6);
//   otherwise the record is rewritten into the form libspf2 evaluates correctly.
// Findings (RFC 7208 §5, §6, §7.1, §12 ABNF), each one libspf2 accepts:
//   - a mechanism name other than all, include, a, mx, ptr, ip4, ip6, exists ("redirect:x");
//   - "all" with an argument, "ptr" with a CIDR, include/exists without a domain-spec;
//   - a CIDR length with a leading zero or above 32 / 128 ("ip4:1.2.3.4/032");
//   - "redirect" or "exp" more than once (§6);
//   - a domain-spec that is not a macro-string ending in "." toplabel ["."] or a
//     macro-expand ("a:foo-bar", "redirect=", "exp=-all");
//   - a modifier name that is not ALPHA *(ALPHA / DIGIT / "-" / "_" / "."), or an unknown
//     modifier whose value is not a macro-string ("foo=%abc").
// Rewrites:
//   - unknown modifiers are dropped (§6: ignored; libspf2 rejects valid names with '.' and
//     reads its own "exp-text=" extension);
//   - redirect= moves to the end, and is dropped when an "all" mechanism exists (§6.1);
//     libspf2 evaluates it in place.
// Macro fix: fix_macro_truncation() below works around libspf2's %{d2}-style truncation bug.
// Not covered (known libspf2 deviations): a CIDR length of /0 in a or mx, and the macro
//   delimiters ',' and '/', are libspf2 syntax errors (permerror).
// Security: input is a DNS TXT record (hostile); linear scans, bounded by the record size.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace authmilter::spf {

struct PreparedRecord {
  std::string problem;  // empty when the record is valid
  std::string record;   // the record to compile (valid records only)
};

// `record` is a selected "v=spf1 ..." record (printable ASCII).
PreparedRecord prepare_record(std::string_view record);

// The value a macro letter (RFC 7208 §7.3: s l o d i p h v c r t) stands for in this check,
// or nullopt when it is not known (yet).
using MacroValue = std::function<std::optional<std::string>(char letter)>;

// libspf2 1.2.10 drops the first octet when a digit transformer keeps at least as many parts as
// the value has: %{d2} of "example.org" gives "xample.org". RFC 7208 §7.3 says the result is
// then the whole value, which is what the macro without its digits gives, so each such
// "%{<letter><digits>...}" in `text` loses its digits. Other text is copied unchanged.
std::string fix_macro_truncation(std::string_view text, const MacroValue& value_of);

}  // namespace authmilter::spf

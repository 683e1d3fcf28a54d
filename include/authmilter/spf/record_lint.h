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
//     libspf2 evaluates it in place;
//   - ip4/ip6 with a CIDR length of 0 become the two /1 halves (libspf2 rejects /0);
//   - a/mx with a CIDR length of 0 (§5.3/§5.4: any address of that family) get a marker
//     label on their target, "a/0//64" -> "a:%{d}.cidr0-4.authmilter.invalid//64"; the DNS
//     layer strips it (take_zero_cidr_marker()) and answers such a lookup with the client's
//     own address whenever the real name has addresses of the client's family. The names are
//     under the reserved TLD .invalid (RFC 6761 §6.4), so no real target can carry them; a
//     record spelling one out only gets what writing "/0" would give.
// Macro fixes (fix_macros(), applied with this check's macro values, §7.3):
//   - the reverse transformer is written "r": libspf2 rejects "R", which RFC 7208 §7.1 allows
//     (ABNF strings are case-insensitive, RFC 5234 §2.3);
//   - libspf2 drops the first octet when a digit transformer keeps at least as many parts as
//     the value has ("%{d2}" of "example.org" gives "xample.org"): the digits are removed;
//   - libspf2 does not know the delimiters ',' and '/' (syntax error): such a macro is
//     expanded here and written into the text as literal characters.
// libspf2 capacity (CVE-2021-20314, CVE-2023-42118): libspf2 compiles each domain-spec (after
//   its CIDR block), each redirect=/exp= value and each exp= text into 4-octet-aligned blocks
//   within 511 octets (SPF_MAX_MECH_LEN, SPF_MAX_MOD_LEN): 4 octets per macro, 4 + n per
//   literal run of n octets ("%-" counts 3). 1.2.10 as Debian 12 ships it underflows when a
//   macro ends 508-511 octets in and copies the following literal past its buffer (a stack
//   overflow: a crash, or worse). libspf2_block_size() computes that size; a record with a
//   term over kMaxLibspf2Block is permerror ("too long for libspf2": every libspf2 version
//   errs on it, the fixed ones with SPF_E_BIG_STRING), an exp= text over it gives no
//   explanation (RFC 7208 §6.2: the explanation MAY be limited). Checked by prepare_record()
//   and again by the DNS layer on the text it hands to libspf2 (after fix_macros()).
// Limit: kMaxMechanisms mechanisms per record (after the rewrites; redirect= counts, as in
//   libspf2), else permerror. RFC 7208 sets no such limit, but libspf2 counts mechanisms in
//   an unsigned char and compiles only 511 octets of them per record, so the DNS layer has to
//   split long records into parts (src/spf/record_split.h); this bounds that work and keeps the
//   parts within libspf2's recursion depth. No real record comes near it.
// Not covered (known libspf2 deviation): a macro with ',' or '/' delimiters whose expansion
//   holds '/', a control or an 8-bit octet stays as it is (libspf2: syntax error, permerror).
// Security: input is a DNS TXT record (hostile); linear scans, bounded by the record size.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace authmilter::spf {

inline constexpr std::size_t kMaxMechanisms = 255;

// The largest compiled block libspf2 1.2.10 handles safely (see above): 511 - 4.
inline constexpr std::size_t kMaxLibspf2Block = 507;

struct PreparedRecord {
  std::string problem;  // empty when the record is valid
  std::string record;   // the record to compile (valid records only)
};

// `record` is a selected "v=spf1 ..." record (printable ASCII).
PreparedRecord prepare_record(std::string_view record);

// The octets libspf2 compiles the macro-string `text` into (a domain-spec without its CIDR
// lengths, a modifier value, an exp= text as our layer hands it over).
std::size_t libspf2_block_size(std::string_view text);

// Empty when every term of `record` (a prepared "v=spf1 ..." record) compiles within
// kMaxLibspf2Block octets; otherwise why not, naming the first term that does not.
std::string check_libspf2_capacity(std::string_view record);

// Marker labels for a/mx terms with a CIDR length of 0 (see above): "<target>.<label>" +
// kZeroCidrSuffix, the label naming the families whose length is 0.
inline constexpr std::string_view kZeroCidr4 = "cidr0-4";
inline constexpr std::string_view kZeroCidr6 = "cidr0-6";
inline constexpr std::string_view kZeroCidrBoth = "cidr0-46";
inline constexpr std::string_view kZeroCidrSuffix = ".authmilter.invalid";

struct ZeroCidr {
  bool ip4 = false;  // an IPv4 client matches whenever the name has an A record
  bool ip6 = false;  // an IPv6 client matches whenever the name has an AAAA record
  bool any() const { return ip4 || ip6; }
};

// When `name` (an expanded target, trailing dot allowed) ends in a marker: removes it (case-
// insensitively) and says which families have length 0. Otherwise `name` stays as it is.
ZeroCidr take_zero_cidr_marker(std::string_view& name);

// The value a macro letter (RFC 7208 §7.3: s l o d i p h v c r t) stands for in this check,
// or nullopt when it is not known (yet). For "i" of an IPv6 client: the dotted nibbles.
using MacroValue = std::function<std::optional<std::string>(char letter)>;

// Returns `text` (a record or an exp= text) with the macro fixes above applied; macros whose
// value is nullopt, and all other text, are copied unchanged.
std::string fix_macros(std::string_view text, const MacroValue& value_of);

}  // namespace authmilter::spf

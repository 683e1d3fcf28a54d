// authmilter::util domain-name limits — the one home of RFC 1035's 253/63.
//
// What: the length limits every domain name we check, query or encode obeys (RFC 1035
//   §2.3.4: a label is at most 63 octets, a name at most 255 octets on the wire, which is 253
//   in text without the trailing dot), and the check of those lengths alone. Which characters
//   a label may hold differs per use (host names, DKIM key names, SPF domains, DMARC
//   domains): the callers check that themselves.
// Limits: kMaxDomainNameLength, kMaxLabelLength.
#pragma once

#include <cstddef>
#include <string_view>

namespace authmilter::util {

inline constexpr std::size_t kMaxDomainNameLength = 253;  // text, without the trailing dot
inline constexpr std::size_t kMaxLabelLength = 63;

// True when `name` (without a trailing dot) is 1..kMaxDomainNameLength octets of labels of
// 1..kMaxLabelLength octets each; characters are not examined.
bool fits_domain_name_limits(std::string_view name);

}  // namespace authmilter::util

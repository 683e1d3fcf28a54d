// authmilter::dmarc — domain names as DMARC compares them.
//
// What: normalize_domain() turns a domain taken from the From: field, the SPF identity or a
//   DKIM d= tag into the one form every DMARC step uses: ASCII lower case, no trailing dot,
//   U-labels converted to A-labels (RFC 7489 §6.6.1 "If the domain is a U-label, the domain
//   name MUST be converted to an A-label, as described in Section 2.3 of [IDNA]"; libidn2,
//   UTS #46 non-transitional processing). Alignment (RFC 7489 §3.1) then is plain string
//   equality of normalized names or of their organizational domains.
// Syntax: labels of letters, digits, '-' and '_' (underscores appear in real DNS names), none
//   empty; a domain literal ("[192.0.2.1]") or anything else is refused (std::nullopt).
// Limits: util::kMaxDomainNameLength octets (RFC 1035 §2.3.4: 255 on the wire = 253 in text)
//   and util::kMaxLabelLength octets per label, checked on the A-label form.
// Security: the input is hostile (8-bit, NUL, huge); it is checked before libidn2 or libpsl
//   ever see it, and refusing it is always safe (a From: domain that is refused gives
//   dmarc=permerror, an SPF or DKIM domain that is refused never aligns).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/util/domain_name.h"

namespace authmilter::dmarc {

std::optional<std::string> normalize_domain(std::string_view domain);

}  // namespace authmilter::dmarc

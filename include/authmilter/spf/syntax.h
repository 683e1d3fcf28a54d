// authmilter::spf syntax helpers — identity pre-checks and header-safe text.
//
// What: the checks our SPF layer applies before libspf2 sees anything, and the quoting the
//   Received-SPF writer needs.
// RFC 7208 §4.3: a malformed <domain> (empty label, label over 63 octets, not multi-label)
//   gives "none" without any DNS lookup; §2.3: a HELO that is not a FQDN (single label, address
//   literal) gives "none"; §4.8: an expanded name over 253 octets loses leading labels.
// RFC 7208 §9.1 / RFC 5322 §3.2: Received-SPF key=value pairs are dot-atoms or quoted-strings.
// Limits: util::kMaxDomainNameLength (253), util::kMaxLabelLength (63),
//   kMaxHeaderValueLength (per value).
// Security: every input here is attacker-controlled (MAIL FROM, HELO, DNS text). Nothing
//   returned by these helpers contains NUL, CR, LF or other control characters.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/util/domain_name.h"

namespace authmilter::spf {

// Each Received-SPF value (envelope-from, helo, ...) is cut to this many octets, so a hostile
// HELO cannot make the header arbitrarily long.
inline constexpr std::size_t kMaxHeaderValueLength = 320;

// Removes one trailing dot ("example.org." names the same domain as "example.org").
std::string_view strip_trailing_dot(std::string_view name);

// RFC 7208 §4.3 / §2.3: true when `domain` (trailing dot allowed) may be checked at all:
// at most 253 octets, at least two labels, every label 1..63 octets of letters, digits, '-'
// or '_', and a top label that is not all digits (so "1.2.3.4" and "[1.2.3.4]" are out).
bool is_checkable_domain(std::string_view domain);

// RFC 7208 §4.8: the name to query for an expanded domain-spec. Over 253 octets, leading
// labels are removed until it fits; nullopt when no DNS query can be composed from it (empty,
// an empty label, a label over 63 octets) — callers treat that as a non-existent name.
std::optional<std::string> query_name(std::string_view expanded);

// Text for a header comment or log line: controls dropped, invalid UTF-8 octets become '?',
// cut at `max_length` octets (at a character boundary).
std::string sanitize_text(std::string_view text, std::size_t max_length);

// RFC 7208 §4.6.1: the terms of a record, separated by one or more SP, the version ("v=spf1")
// first; empty ones (runs of SP, leading or trailing SP) are skipped. Views into `record`.
std::vector<std::string_view> record_terms(std::string_view record);

// RFC 5322 §3.2.3 dot-atom-text: atext runs separated by single dots.
bool is_dot_atom(std::string_view value);

// RFC 7208 §9.1 value: `value` itself when it is a dot-atom, else a quoted-string with '"' and
// '\' escaped. Controls are dropped first and the value is cut to kMaxHeaderValueLength.
std::string header_value(std::string_view value);

// RFC 5322 §3.2.2 comment content: sanitized, with '(' ')' '\' escaped as quoted-pairs.
std::string comment_text(std::string_view text);

}  // namespace authmilter::spf

// authmilter::mail — Authentication-Results reader (RFC 8601 §2.2), for TrustedAuthservIDs:
// results that a trusted upstream host already computed are reused instead of recomputed
// where they can no longer be right (after internal relays).
//
// What: parse_authentication_results() reads one header VALUE (no field name) into its
//   authserv-id, optional authres-version and resinfos, following the §2.2 ABNF:
//     [CFWS] authserv-id [CFWS authres-version] (no-result / 1*resinfo) [CFWS]
//     resinfo    = [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec]
//     methodspec = method [ "/" method-version ] "=" result     (CFWS around every token)
//     propspec   = ptype "." property "=" pvalue
//   CFWS is SP/HTAB, folds (CRLF or bare LF followed by WSP: libmilter hands over LF line ends)
//   and comments, nested up to mail::kMaxCommentDepth, with quoted-pairs. Quoted-strings
//   (authserv-id, reason, values) are unquoted and unfolded. method, result, ptype and
//   property are Keywords (letters, digits, '-', and '_' as seen in the wild), returned
//   lower-cased (ABNF strings are case-insensitive); "none" and "reason" in any case.
// Tolerant where real headers need it (checked against python authres and
//   Mail::AuthenticationResults on tests/data/authres, see the unit test):
//   - unknown methods, results and ptypes are kept (the caller decides what it trusts);
//   - a "key=value" without a ptype (x-bits=1024, action=none, a second reason=) is skipped,
//     as python authres does; its value is read like any pvalue;
//   - an unquoted pvalue is any run of visible characters other than ( ) ; " \ and WSP,
//     plus well-formed UTF-8: DKIM's header.b=ab/+c=, unquoted IPv6 in policy.iprev, "@dom";
//   - an empty unquoted pvalue ("x-ptr-lookup=", also before CFWS and the next propspec)
//     is an empty value;
//   - one ';' after the last resinfo ("...; dmarc=pass;", AOL, Microsoft);
//   - the payload's final CRLF (or LF) of the ABNF, when the caller passes it along.
// Strict where it matters: nullopt for no authserv-id, a missing or empty result, anything
//   between tokens that the grammar has no place for (a second authserv-id in the middle,
//   "foo bar = x", "a . . b", "none none", "none; spf=pass"), an unterminated quoted-string
//   or comment, comments nested deeper than kMaxCommentDepth, NUL and other controls outside
//   folds, a CR or LF that is not part of a fold, 8-bit bytes that are not well-formed UTF-8,
//   and the limits below. "example.com;" alone (no "none", no resinfo) is refused too.
// Versions: `version` (header) and ParsedResInfo::version are the digits as written, empty
//   when absent. RFC 8601 defines only version 1; a caller that honours a header SHOULD
//   ignore one (or a resinfo) whose version is neither empty nor "1".
// Limits: kMaxAuthResultsParseLength bytes of value (Postfix's header_size_limit default),
//   kMaxParsedResInfos resinfos, kMaxParsedProperties properties per resinfo, keywords of at
//   most mail::kMaxKeywordLength, authserv-ids of at most mail::kMaxAuthservIdLength bytes,
//   versions of at most kMaxAuthResultsVersionDigits digits. Past any limit: nullopt. One
//   linear pass, no recursion, never throws (except std::bad_alloc).
// Security: the header comes from the message. Only its authserv-id says who wrote it, and
//   only a header added by a trusted relay under a TrustedAuthservIDs id may be believed; the
//   caller checks both (same_authserv_id()). Values are returned raw (unquoted): sanitize
//   them (sanitize_for_header()) before writing them anywhere.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/header.h"

namespace authmilter::mail {

inline constexpr std::size_t kMaxAuthResultsParseLength = 102400;
inline constexpr std::size_t kMaxParsedResInfos = 256;
inline constexpr std::size_t kMaxParsedProperties = 64;
inline constexpr std::size_t kMaxAuthResultsVersionDigits = 9;

struct ParsedResInfo {
  std::string method;   // lower-cased: "spf", "dkim", "x-tls", ...
  std::string version;  // method-version digits ("spf/1=pass" -> "1"), empty when absent
  std::string result;   // lower-cased: "pass", "fail", ...
  std::string reason;   // reason="..." unquoted, empty when absent
  // {"smtp.mailfrom", "a@b.example"}: ptype.property lower-cased, value unquoted; in order.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct ParsedAuthResults {
  std::string authserv_id;  // as written (unquoted); compare with same_authserv_id()
  std::string version;      // authres-version digits, empty when absent
  std::vector<ParsedResInfo> results;
  bool none = false;  // "authserv-id; none"
};

// nullopt when the value is not an Authentication-Results payload (see above).
std::optional<ParsedAuthResults> parse_authentication_results(std::string_view value);

}  // namespace authmilter::mail

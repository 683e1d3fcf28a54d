// authmilter::mail — Authentication-Results header (RFC 8601): writer and authserv-id reader.
//
// Writer: format_authentication_results() returns one header VALUE (no field name, no final
//   line break):
//     mx.example.net;
//     <TAB>spf=pass smtp.mailfrom=alice@example.org;
//     <TAB>dmarc=pass (p=reject sp=reject pct=100) header.from=example.org
//   Each resinfo (RFC 8601 §2.2) starts on its own line, folded with "\n\t" (LF line ends,
//   as libmilter's smfi_insheader() expects; the MTA turns them into CRLF). A resinfo longer
//   than kMaxLineLength (78, RFC 5322 §2.1.1, the first line counting the 24 characters of
//   "Authentication-Results: ") is folded further at the spaces between its tokens (and
//   between the words of a comment); never inside a token or quoted-string, so one token
//   longer than a line stays whole. Per resinfo: method=result [reason="..."] [(comment)]
//   ptype.property=value... Values are written bare when they are an RFC 2045 token or an
//   address "[local-part] @ domain" of token characters (RFC 8601 pvalue), otherwise as a
//   quoted-string with \" and \\ escaped. Comments keep balanced parentheses (to
//   kMaxCommentDepth) and escape the others. With no (valid) methods: "authserv-id; none"
//   (RFC 8601 §2.2).
// Security: reason, comment and values come from the SMTP client or the message. They go
//   through sanitize_for_header() (no CR, LF, NUL, controls; 8-bit only as well-formed UTF-8,
//   RFC 6532) and are capped at kMaxValueLength / kMaxReasonLength / kMaxCommentLength bytes
//   (cut at a character boundary, "..." appended), so no input can add a header line or push
//   a line past RFC 5322's hard 998-character limit. Method, result, ptype and property are
//   our constants but are checked anyway (token characters without '.', at most
//   kMaxKeywordLength): a resinfo with a bad method/result or a property with a bad name is
//   left out rather than written malformed. The authserv-id must pass is_valid_authserv_id()
//   (config validates AuthservID at start-up); otherwise the writer throws
//   std::invalid_argument, because a header we could not recognise as ours later is worse
//   than none.
// Reader: authserv_id_of() returns the authserv-id of an existing header value (RFC 8601
//   §2.2 "authserv-id = value", i.e. token or quoted-string) so forged headers claiming our id
//   can be removed (RFC 8601 §5). It skips leading CFWS (nested comments with quoted-pairs,
//   folds as CRLF/LF + WSP), reads the id and stops at CFWS, ';', a version or anything else
//   that cannot be part of it. It is deliberately liberal about what follows the id (a
//   lenient downstream parser would still attribute the header to that id, so removal must
//   too), but returns nullopt when no id can be read: empty value, no token, an unbalanced or
//   too deeply nested (> kMaxCommentDepth) leading comment, an empty or unterminated
//   quoted-string, or a first token directly followed by '=', '/' or '.' (a resinfo without
//   an authserv-id). Iterative, linear, never throws.
// same_authserv_id(): ASCII case-insensitive (RFC 8601 §2.5), one trailing dot ignored (so
//   "mx.example.net." cannot dodge removal); an empty id never matches.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/mail/header.h"

namespace authmilter::mail {

struct MethodResult {
  std::string method;   // "spf", "dkim", "dmarc", "sender-id", ...
  std::string result;   // RFC 8601 token: "pass", "temperror", ...
  std::string reason;   // optional, written as reason="..."
  std::string comment;  // optional, written as (comment)
  std::vector<std::pair<std::string, std::string>> properties;  // {"smtp.mailfrom", "a@b"}
};

inline constexpr std::string_view kAuthResultsHeaderName = "Authentication-Results";
// "Authentication-Results: " precedes the value on the first line.
inline constexpr std::size_t kHeaderPrefixLength = kAuthResultsHeaderName.size() + 2;
// RFC 5322 §2.1.1: lines SHOULD be at most 78 characters and MUST be at most 998.
inline constexpr std::size_t kMaxLineLength = 78;
inline constexpr std::size_t kMaxHardLineLength = 998;
// A host name is at most 253 characters (RFC 1035 §2.3.4 plus dots).
inline constexpr std::size_t kMaxAuthservIdLength = 255;
// method, result, ptype and property names (all short IANA-registered keywords).
inline constexpr std::size_t kMaxKeywordLength = 64;
// Caps on untrusted text, in bytes after sanitizing. Chosen so the longest token (a
// ptype.property with a value of only '"', each escaped) stays below kMaxHardLineLength.
inline constexpr std::size_t kMaxValueLength = 400;
inline constexpr std::size_t kMaxReasonLength = 400;
inline constexpr std::size_t kMaxCommentLength = 400;
// Comment nesting: the reader rejects deeper leading comments, the writer escapes parentheses
// nested deeper than this.

// Throws std::invalid_argument when !is_valid_authserv_id(authserv_id).
std::string format_authentication_results(std::string_view authserv_id,
                                          const std::vector<MethodResult>& results);

// 1..kMaxAuthservIdLength bytes, each an RFC 2045 token character or part of well-formed
// non-ASCII UTF-8 (RFC 8601 §2.5 allows U-labels); i.e. writable without quoting.
bool is_valid_authserv_id(std::string_view authserv_id);

std::optional<std::string> authserv_id_of(std::string_view header_value);

// True when two authserv-ids are the same (case-insensitive, RFC 8601 §2.5).
bool same_authserv_id(std::string_view a, std::string_view b);

}  // namespace authmilter::mail

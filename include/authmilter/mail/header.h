// authmilter::mail — the header field of a message, and small helpers shared by the A-R
// writer/reader and the address helpers.
//
// HeaderField: the one representation of a header field everywhere (milter Transaction,
//   handlers, PRA, DMARC From:, DKIM feed, `check`'s message reader): the name without the
//   colon, and the value exactly as after the colon (leading whitespace and folding kept,
//   which DKIM's simple canonicalization needs, RFC 6376 §3.4.1); value() is that without
//   the leading whitespace, what every other reader wants.
// unfold(): RFC 5322 §2.2.3 unfolding. CRLF (or a bare LF, as libmilter and Postfix hand
//   values over with LF line ends) followed by WSP becomes that WSP; a CR or LF anywhere else
//   is dropped, so the result is one line and can never start a new header field.
// is_token_char(): RFC 2045 §5.1 token characters (printable US-ASCII except SPACE and
//   tspecials), the syntax of RFC 8601 "value" when not a quoted-string.
// utf8_sequence_length(), utf8_text_length(), iequals_ascii(): util/utf8.h and util/ascii.h,
//   re-exported here for the mail code and its callers.
// Limits: none; all functions are linear in the input and never recurse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "authmilter/util/ascii.h"
#include "authmilter/util/utf8.h"

namespace authmilter::mail {

struct HeaderField {
  std::string name;       // without the colon
  std::string raw_value;  // exactly as after the colon: leading whitespace and folding kept
  // raw_value without its leading SP/HTAB (folding inside kept).
  std::string_view value() const {
    std::string_view v = raw_value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return v;
  }
};

std::string unfold(std::string_view value);

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 2045 §5.1 tspecials.
// Deepest nesting of RFC 5322 comments any of our parsers follows (A-R, address lists);
// deeper input is refused rather than recursed into.
inline constexpr std::size_t kMaxCommentDepth = 32;

inline constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";

constexpr bool is_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;  // SPACE, CTLs, DEL, 8-bit
  return kTspecials.find(c) == std::string_view::npos;
}

// RFC 5322 §3.2.4 quoted-string of `text`: '"' and '\' escaped as quoted-pairs, nothing else
// changed (callers drop CR, LF and controls first).
std::string quoted_string(std::string_view text);

// The UTF-8 and ASCII case helpers live in util/ (one copy each); mail's callers use them
// under these names.
using util::iequals_ascii;
using util::utf8_sequence_length;
using util::utf8_text_length;

}  // namespace authmilter::mail

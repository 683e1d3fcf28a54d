// authmilter::mail — small header-field helpers shared by the A-R writer/reader and the
// address helpers.
//
// unfold(): RFC 5322 §2.2.3 unfolding. CRLF (or a bare LF, as libmilter and Postfix hand
//   values over with LF line ends) followed by WSP becomes that WSP; a CR or LF anywhere else
//   is dropped, so the result is one line and can never start a new header field.
// is_token_char(): RFC 2045 §5.1 token characters (printable US-ASCII except SPACE and
//   tspecials), the syntax of RFC 8601 "value" when not a quoted-string.
// utf8_sequence_length(): length of the well-formed UTF-8 sequence (RFC 3629 §4: no overlongs,
//   no surrogates, nothing above U+10FFFF) starting at a position, 0 when there is none. Used
//   to keep RFC 6532 8-bit text and replace everything else.
// Limits: none; all functions are linear in the input and never recurse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace authmilter::mail {

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

// 0 when text[pos] does not start a well-formed UTF-8 sequence (or pos is out of range);
// 1 for ASCII, 2..4 for a valid multi-byte sequence.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// Length of the well-formed non-ASCII UTF-8 sequence at pos that is not a C1 control
// (U+0080..U+009F, encoded C2 80..C2 9F): text, not a hidden control; 0 otherwise.
std::size_t utf8_text_length(std::string_view text, std::size_t pos);

// ASCII case-insensitive equality (header field names, authserv-ids, domain names).
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace authmilter::mail

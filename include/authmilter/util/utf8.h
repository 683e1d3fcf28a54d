// authmilter::util UTF-8 — the one well-formedness check for 8-bit text.
//
// What: the length of the well-formed UTF-8 sequence at a position (RFC 3629 §4: no
//   overlongs, no UTF-16 surrogates, nothing above U+10FFFF), used wherever RFC 6532 8-bit
//   text is kept and everything else is replaced or refused (A-R, addresses, header comments).
// Limits: none; constant time per call, never reads past the end of `text`.
// Security: input is hostile (headers, DNS text); a sequence cut short by the end of `text`
//   is not well-formed.
#pragma once

#include <cstddef>
#include <string_view>

namespace authmilter::util {

// 0 when text[pos] does not start a well-formed UTF-8 sequence (or pos is out of range);
// 1 for ASCII, 2..4 for a valid multi-byte sequence.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

// Length of the well-formed non-ASCII UTF-8 sequence at pos that is not a C1 control
// (U+0080..U+009F, encoded C2 80..C2 9F): text, not a hidden control; 0 otherwise.
std::size_t utf8_text_length(std::string_view text, std::size_t pos);

}  // namespace authmilter::util

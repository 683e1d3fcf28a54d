#include "authmilter/util/utf8.h"

namespace authmilter::util {

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return 0;
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;  // allowed range of the second byte (RFC 3629 §4 table)
  unsigned char hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
  } else if (b0 == 0xe0) {
    len = 3, lo = 0xa0;  // no overlongs
  } else if ((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef) {
    len = 3;
  } else if (b0 == 0xed) {
    len = 3, hi = 0x9f;  // no UTF-16 surrogates
  } else if (b0 == 0xf0) {
    len = 4, lo = 0x90;  // no overlongs
  } else if (b0 >= 0xf1 && b0 <= 0xf3) {
    len = 4;
  } else if (b0 == 0xf4) {
    len = 4, hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;  // 0x80..0xc1 (continuation or overlong lead), 0xf5..0xff
  }
  if (text.size() - pos < len) return 0;
  const auto b1 = static_cast<unsigned char>(text[pos + 1]);
  if (b1 < lo || b1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[pos + k]);
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return len;
}

std::size_t utf8_text_length(std::string_view text, std::size_t pos) {
  if (pos >= text.size() || static_cast<unsigned char>(text[pos]) < 0x80) return 0;
  const std::size_t len = utf8_sequence_length(text, pos);
  if (len == 2 && static_cast<unsigned char>(text[pos]) == 0xc2 &&
      static_cast<unsigned char>(text[pos + 1]) <= 0x9f) {
    return 0;
  }
  return len;
}

}  // namespace authmilter::util

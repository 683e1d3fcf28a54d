// authmilter::util ASCII helpers — the one case-insensitive compare of the code base.
//
// What: ASCII case folding and case-insensitive comparison, as every protocol we speak wants
//   it: header field names (RFC 5322 §1.2.2), DNS names (RFC 4343), SPF/DMARC/DKIM tags and
//   keywords, config keys and values. Only 'A'..'Z' fold; every other octet, 8-bit ones
//   included, compares exactly, so the result never depends on the process locale
//   (std::tolower would).
// Limits: none; every function is linear in its input and allocates at most one string.
#pragma once

#include <string>
#include <string_view>

namespace authmilter::util {

constexpr char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// `text` with 'A'..'Z' folded to 'a'..'z'.
std::string lowercase_ascii(std::string_view text);

// Folds 'A'..'Z' in `text` itself.
void make_lowercase_ascii(std::string& text);

bool iequals_ascii(std::string_view a, std::string_view b);

// Whether `text` starts (ends) with `affix`, ASCII case-insensitively.
bool istarts_with_ascii(std::string_view text, std::string_view prefix);
bool iends_with_ascii(std::string_view text, std::string_view suffix);

}  // namespace authmilter::util

#include "authmilter/util/ascii.h"

namespace authmilter::util {

std::string lowercase_ascii(std::string_view text) {
  std::string out(text);
  make_lowercase_ascii(out);
  return out;
}

void make_lowercase_ascii(std::string& text) {
  for (char& c : text) c = to_lower_ascii(c);
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower_ascii(a[i]) != to_lower_ascii(b[i])) return false;
  }
  return true;
}

bool istarts_with_ascii(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals_ascii(text.substr(0, prefix.size()), prefix);
}

bool iends_with_ascii(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         iequals_ascii(text.substr(text.size() - suffix.size()), suffix);
}

}  // namespace authmilter::util

#include "authmilter/spf/syntax.h"

#include <algorithm>

namespace authmilter::spf {
namespace {

bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629 §4), 0 if it is not.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // no overlong forms
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(text[i + k]);
    if (k == 1 ? (c < low || c > high) : (c < 0x80 || c > 0xbf)) return 0;
  }
  return length;
}

bool is_atext(unsigned char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return is_ascii_alnum(c) || kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string_view strip_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool is_checkable_domain(std::string_view domain) {
  domain = strip_trailing_dot(domain);
  if (domain.empty() || domain.size() > kMaxDomainLength) return false;
  std::size_t labels = 0;
  std::string_view last;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    const std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    for (const char ch : label) {
      const auto c = static_cast<unsigned char>(ch);
      if (!is_ascii_alnum(c) && c != '-' && c != '_') return false;
    }
    ++labels;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels < 2) return false;
  // An all-numeric top label is an IP address or a typo, never a registered domain.
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> query_name(std::string_view expanded) {
  std::string_view name = strip_trailing_dot(expanded);
  while (name.size() > kMaxDomainLength) {
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    name.remove_prefix(dot + 1);
  }
  if (name.empty()) return std::nullopt;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (end == start || end - start > kMaxLabelLength) return std::nullopt;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::string(name);
}

std::string sanitize_text(std::string_view text, std::size_t max_length) {
  std::string out;
  out.reserve(std::min(text.size(), max_length));
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_control(c)) {
        ++i;
        continue;
      }
      if (out.size() + 1 > max_length) break;
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      if (out.size() + 1 > max_length) break;
      out.push_back('?');
      ++i;
      continue;
    }
    if (out.size() + length > max_length) break;
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

bool is_dot_atom(std::string_view value) {
  if (value.empty() || value.front() == '.' || value.back() == '.') return false;
  char previous = 0;
  for (const char ch : value) {
    if (ch == '.') {
      if (previous == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(ch))) {
      return false;
    }
    previous = ch;
  }
  return true;
}

std::string header_value(std::string_view value) {
  const std::string clean = sanitize_text(value, kMaxHeaderValueLength);
  if (is_dot_atom(clean)) return clean;
  std::string out = "\"";
  for (const char ch : clean) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

std::string comment_text(std::string_view text) {
  const std::string clean = sanitize_text(text, kMaxHeaderValueLength * 2);
  std::string out;
  out.reserve(clean.size());
  for (const char ch : clean) {
    if (ch == '(' || ch == ')' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

}  // namespace authmilter::spf

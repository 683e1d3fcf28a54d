#include "authmilter/spf/syntax.h"

#include <algorithm>

#include "authmilter/mail/header.h"
#include "authmilter/util/domain_name.h"
#include "authmilter/util/utf8.h"

namespace authmilter::spf {
namespace {

bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

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
  if (!util::fits_domain_name_limits(domain)) return false;
  const std::size_t last_dot = domain.rfind('.');
  if (last_dot == std::string_view::npos) return false;  // one label
  const bool letters_digits_hyphens = std::all_of(domain.begin(), domain.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return is_ascii_alnum(c) || c == '-' || c == '_' || c == '.';
  });
  if (!letters_digits_hyphens) return false;
  const std::string_view last = domain.substr(last_dot + 1);
  // An all-numeric top label is an IP address or a typo, never a registered domain.
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::string> query_name(std::string_view expanded) {
  std::string_view name = strip_trailing_dot(expanded);
  while (name.size() > util::kMaxDomainNameLength) {
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    name.remove_prefix(dot + 1);
  }
  if (!util::fits_domain_name_limits(name)) return std::nullopt;
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
    const std::size_t length = util::utf8_sequence_length(text, i);
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

std::vector<std::string_view> record_terms(std::string_view record) {
  std::vector<std::string_view> terms;
  std::size_t start = 0;
  while (start <= record.size()) {
    std::size_t end = record.find(' ', start);
    if (end == std::string_view::npos) end = record.size();
    if (end > start) terms.push_back(record.substr(start, end - start));
    start = end + 1;
  }
  return terms;
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
  return is_dot_atom(clean) ? clean : mail::quoted_string(clean);
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

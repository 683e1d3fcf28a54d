#include "authmilter/mail/address.h"

#include <cstddef>

#include "authmilter/mail/header.h"
#include "authmilter/util/ascii.h"

namespace authmilter::mail {
namespace {

constexpr std::string_view kBlanks = " \t\r\n";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kBlanks);
  return s.substr(first, last - first + 1);
}

// Position of the first `wanted` outside a quoted-string (with its quoted-pairs), or npos.
// `last` selects the last such position instead.
std::size_t find_unquoted(std::string_view s, char wanted, bool last) {
  std::size_t found = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // quoted-pair: the next byte is literal, even a '"'
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == wanted) {
      found = i;
      if (!last) break;
    }
  }
  return found;
}

// The address without brackets or source route, as envelope_address() but for any input.
std::string_view bare_address(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '<') {
    s.remove_prefix(1);
    const auto close = find_unquoted(s, '>', false);
    if (close != std::string_view::npos) s = s.substr(0, close);
    s = trim(s);
  }
  // A source route "@a,@b:" ends at the first ':'; routes hold domains only, never quotes.
  if (!s.empty() && s.front() == '@') {
    const auto colon = s.find(':');
    if (colon != std::string_view::npos) s = trim(s.substr(colon + 1));
  }
  return s;
}

}  // namespace

std::string envelope_address(std::string_view mail_from_argument) {
  return std::string(bare_address(mail_from_argument));
}

std::string domain_of(std::string_view address) {
  const std::string_view bare = bare_address(address);
  const auto at = find_unquoted(bare, '@', true);
  if (at == std::string_view::npos) return {};
  std::string_view domain = trim(bare.substr(at + 1));
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return util::lowercase_ascii(domain);
}

std::string local_part_of(std::string_view address) {
  const std::string_view bare = bare_address(address);
  const auto at = find_unquoted(bare, '@', true);
  if (at == std::string_view::npos) return std::string(bare);
  return std::string(bare.substr(0, at));
}

std::string sanitize_for_header(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x80) {
      if (u == '\t') {
        out.push_back(' ');
      } else if (u >= 0x20 && u != 0x7f) {
        out.push_back(text[i]);
      }
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    // C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
    const bool c1 = u == 0xc2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (!c1) out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace authmilter::mail

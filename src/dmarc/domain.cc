#include "authmilter/dmarc/domain.h"
#include "authmilter/util/ascii.h"

#include <idn2.h>

#include <algorithm>
#include <memory>

namespace authmilter::dmarc {
namespace {

struct Idn2Free {
  void operator()(char* p) const { idn2_free(p); }
};

// A U-label form is at most 4 octets per character of its A-label form; anything longer can
// never fit util::kMaxDomainNameLength and is refused before libidn2 works on it.
constexpr std::size_t kMaxInputLength = 4 * util::kMaxDomainNameLength;

bool is_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool valid_ascii_domain(std::string_view d) {
  // Lengths, and no empty label (leading dot or "..").
  if (!util::fits_domain_name_limits(d)) return false;
  return std::all_of(d.begin(), d.end(), [](char c) { return c == '.' || is_domain_char(c); });
}

}  // namespace

std::optional<std::string> normalize_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxInputLength) return std::nullopt;
  if (domain.back() == '.') domain.remove_suffix(1);  // the root label, once
  std::string lower;
  lower.reserve(domain.size());
  bool eight_bit = false;
  for (const char c : domain) {
    if (c == '\0') return std::nullopt;
    if (static_cast<unsigned char>(c) >= 0x80) eight_bit = true;
    lower.push_back(util::to_lower_ascii(c));
  }
  if (eight_bit) {
    // RFC 7489 §6.6.1: U-labels become A-labels. libidn2 refuses ill-formed UTF-8 and
    // code points IDNA2008 disallows, and maps (case-folds) per UTS #46.
    char* out = nullptr;
    const int rc = idn2_to_ascii_8z(lower.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    std::unique_ptr<char, Idn2Free> owned(out);
    if (rc != IDN2_OK || owned == nullptr) return std::nullopt;
    lower = util::lowercase_ascii(owned.get());
  }
  if (!valid_ascii_domain(lower)) return std::nullopt;
  return lower;
}

}  // namespace authmilter::dmarc

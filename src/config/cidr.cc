// IPv4/IPv6 networks: parsing with inet_pton, matching with IPv4-mapped addresses folded in.
#include "authmilter/config/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "authmilter/util/ascii.h"

namespace authmilter::config {
namespace {

// The IPv4 address inside an IPv4-mapped IPv6 address, or the address itself.
IpAddress unmapped(const IpAddress& address) {
  if (!address.is_v4_mapped()) return address;
  IpAddress v4;
  std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.bytes.begin());
  return v4;
}

// Clears the bits after `prefix`.
void mask(std::array<std::uint8_t, 16>& bytes, unsigned prefix, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t bit = i * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (bit + 8 > prefix) {
      const unsigned keep = prefix - static_cast<unsigned>(bit);
      bytes[i] = static_cast<std::uint8_t>(bytes[i] & (0xffu << (8 - keep)));
    }
  }
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto m = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (a[whole] & m) == (b[whole] & m);
}

bool is_separator(char c) { return c == ',' || c == ' ' || c == '\t'; }

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  // A NUL would end the C string early and let "192.0.2.1\0junk" pass.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  if (text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') return std::nullopt;
    text = text.substr(1, text.size() - 2);
  }
  bool want_v6 = false;
  if (util::istarts_with_ascii(text, "IPv6:")) {
    text.remove_prefix(5);
    want_v6 = true;
  }
  if (text.empty()) return std::nullopt;
  const std::string copy(text);
  IpAddress address;
  if (!want_v6 && inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) return address;
  if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
    address.v6 = true;
    return address;
  }
  return std::nullopt;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer) == nullptr) {
    return {};
  }
  return buffer;
}

bool IpAddress::is_v4_mapped() const {
  if (!v6) return false;
  for (std::size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.rfind('/');
  const std::string_view address_text = text.substr(0, slash);
  auto address = IpAddress::parse(address_text);
  if (!address) return std::nullopt;
  const unsigned max_prefix = address->v6 ? 128 : 32;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    // from_chars would accept neither sign nor space, but it does accept "032"; allow at most
    // three digits so a huge number cannot wrap.
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    if (prefix > max_prefix) return std::nullopt;
  }
  mask(address->bytes, prefix, address->v6 ? 16 : 4);
  return Cidr{*address, prefix};
}

bool Cidr::contains(const IpAddress& address) const {
  if (network.v6 == address.v6) return prefix_equal(network.bytes, address.bytes, prefix);
  if (!network.v6) {
    // IPv4 network, IPv6 client: only an IPv4-mapped client can match.
    if (!address.is_v4_mapped()) return false;
    return prefix_equal(network.bytes, unmapped(address).bytes, prefix);
  }
  // IPv6 network, IPv4 client: only an IPv4-mapped network can match; "::/0" means all of
  // IPv6, not all of IPv4.
  if (prefix < 96 || !network.is_v4_mapped()) return false;
  IpAddress mapped;
  mapped.v6 = true;
  mapped.bytes[10] = 0xff;
  mapped.bytes[11] = 0xff;
  std::copy(address.bytes.begin(), address.bytes.begin() + 4, mapped.bytes.begin() + 12);
  return prefix_equal(network.bytes, mapped.bytes, prefix);
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

std::optional<CidrList> CidrList::parse(std::string_view text, std::string* bad) {
  std::vector<Cidr> cidrs;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_separator(text[pos])) {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < text.size() && !is_separator(text[end])) ++end;
    const std::string_view item = text.substr(pos, end - pos);
    pos = end;
    auto cidr = Cidr::parse(item);
    if (!cidr || cidrs.size() == kMaxCidrListEntries) {
      if (bad != nullptr) *bad = std::string(item);
      return std::nullopt;
    }
    cidrs.push_back(*cidr);
  }
  return CidrList(std::move(cidrs));
}

bool CidrList::contains(const IpAddress& address) const {
  return std::any_of(cidrs_.begin(), cidrs_.end(),
                     [&](const Cidr& cidr) { return cidr.contains(address); });
}

bool CidrList::contains(std::string_view address) const {
  const auto parsed = IpAddress::parse(address);
  return parsed && contains(*parsed);
}

std::string CidrList::to_string() const {
  std::string out;
  for (const Cidr& cidr : cidrs_) {
    if (!out.empty()) out += ", ";
    out += cidr.to_string();
  }
  return out;
}

}  // namespace authmilter::config

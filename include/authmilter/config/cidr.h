// authmilter::config::CidrList — IPv4/IPv6 networks for InternalHosts, TrustedRelays, ...
//
// Accepts "192.0.2.0/24", "192.0.2.1" (a /32), "2001:db8::/32", "::1", "[2001:db8::]/32"; an
// IPv4-mapped IPv6 client address (::ffff:192.0.2.1) matches IPv4 networks, and an IPv4
// address matches an IPv4-mapped IPv6 network. Prefix lengths are /0../32 and /0../128; a
// longer one, a sign, or a missing number is an error. Host bits set under the mask are
// cleared ("192.0.2.1/24" is 192.0.2.0/24), as Postfix's mynetworks does.
// IpAddress::parse also takes the forms MTAs hand us: "[192.0.2.1]", "[::1]", "IPv6:::1",
//   "[IPv6:2001:db8::1]" (SMTP address literals, Postfix's {client_addr}); no zone ids.
// Limits: kMaxAddressText characters per address, kMaxCidrListEntries entries per list.
// Security: input is untrusted text (config, milter macros); all parsing is by inet_pton on a
//   bounded, NUL-free copy, so embedded NULs cannot truncate what is checked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authmilter::config {

// Longest address text accepted: the longest IPv6 text (INET6_ADDRSTRLEN - 1 = 45, e.g.
// "0000:0000:0000:0000:0000:ffff:255.255.255.255") in "[IPv6:" ... "]".
inline constexpr std::size_t kMaxAddressText = 52;
// Most networks in one list: far more than any real InternalHosts, small enough that the
// linear scan per connection stays cheap.
inline constexpr std::size_t kMaxCidrListEntries = 1024;

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};                          // IPv4 uses the first 4
  static std::optional<IpAddress> parse(std::string_view text);  // also strips [ ] and IPv6:
  std::string to_string() const;
  // True for ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
  bool is_v4_mapped() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Cidr {
  IpAddress network;
  unsigned prefix = 0;
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  std::string to_string() const;  // "192.0.2.0/24", "2001:db8::/32"
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

class CidrList {
 public:
  CidrList() = default;
  explicit CidrList(std::vector<Cidr> cidrs) : cidrs_(std::move(cidrs)) {}
  // Comma- and/or space-separated list; nullopt and `bad` set to the offending item on error.
  // Empty text gives an empty list; more than kMaxCidrListEntries entries is an error.
  static std::optional<CidrList> parse(std::string_view text, std::string* bad = nullptr);
  bool contains(const IpAddress& address) const;
  bool contains(std::string_view address) const;  // false for unparsable text
  bool empty() const { return cidrs_.empty(); }
  const std::vector<Cidr>& entries() const { return cidrs_; }
  std::string to_string() const;  // "127.0.0.1/32, ::1/128"
  friend bool operator==(const CidrList&, const CidrList&) = default;

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace authmilter::config

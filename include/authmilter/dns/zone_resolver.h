// authmilter::dns::ZoneResolver — in-memory zones behind the Resolver interface, for tests.
//
// What: answers from records added in code or loaded from a small master-file-like text, so
//   unit and conformance tests run the very engines the daemon runs, without a network.
// Zone text: one record a line, `name [ttl] TYPE rdata`, `#` or `;` comments, for example
//     example.org TXT "v=spf1 " "mx -all"
//     example.org 60 MX 10 mx.example.org
//     mx.example.org A 192.0.2.10
//   and fault directives in the manner of authentication_milter's t/zonefile:
//     ;ERROR,example.org,TXT,TIMEOUT      (also SERVFAIL, NXDOMAIN, NODATA, ERROR)
// Semantics: a name with records of other types answers NODATA; a name that exists only as
//   the parent of other names (empty non-terminal, RFC 8020) answers NODATA; any other name
//   NXDOMAIN. A `*.parent` owner answers for names below parent that do not exist, when
//   parent is their closest existing ancestor (RFC 4592 §3.3.1 closest encloser). TIMEOUT
//   answers kTimeout at once, as a real resolver does once DNSTimeout has passed.
// CNAME: a name with a CNAME and no records of the asked type answers with the records of
//   the CNAME target (RFC 1034 §3.6.2), followed within the zone; a loop or a chain longer
//   than kMaxCnameChain answers kError, as wire::parse_response() does for real replies.
//   Asking for type CNAME returns the CNAME itself.
// Limits: no DNSSEC other than set_authenticated().
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/dns/resolver.h"

namespace authmilter::dns {

class ZoneResolver final : public Resolver {
 public:
  ZoneResolver() = default;

  // Adds one record. For A/AAAA `data` is the textual address; for TXT/SPF one string (use
  // add_txt for several); for MX the exchange with `preference`; for PTR/CNAME/NS the target.
  // Throws std::invalid_argument on an unparsable address.
  void add(std::string_view name, RrType type, std::string_view data, std::uint16_t preference = 0,
           std::uint32_t ttl = kDefaultTtl);
  void add_txt(std::string_view name, std::vector<std::string> strings,
               std::uint32_t ttl = kDefaultTtl, RrType type = RrType::kTxt);
  // Every lookup of (name, type) answers `status` (kTimeout, kServFail, kNxDomain, ...).
  void set_error(std::string_view name, RrType type, Status status);
  // Answers carry the AD bit (as if a validating resolver vouched for them).
  void set_authenticated(bool authenticated);
  // Parses zone text (format above); throws std::invalid_argument("line N: ...").
  void load(std::string_view zone_text);

  PendingAnswer start(std::string_view name, RrType type) override;
  PendingAnswer peek(std::string_view name, RrType type) override { return start(name, type); }
  Answer answer(std::string_view name, RrType type) const;

  // How many lookups were started, per (normalized name, type), for tests of limits/caching.
  std::size_t query_count() const;
  std::size_t query_count(std::string_view name, RrType type) const;

  static constexpr std::uint32_t kDefaultTtl = 300;
  // CNAMEs followed per lookup (wire::kMaxCnameChain, as c-ares and most stub resolvers).
  static constexpr std::size_t kMaxCnameChain = 8;

 private:
  using Key = std::pair<std::string, RrType>;
  bool name_exists_locked(const std::string& name) const;
  // The answer at `key_name` alone; `*cnames` is set to the name's CNAME records when it has
  // no records of `type` but a CNAME (the caller follows it).
  Answer answer_locked(const std::string& key_name, RrType type,
                       const std::vector<Record>** cnames) const;

  mutable std::mutex mutex_;
  std::map<Key, std::vector<Record>> records_;
  std::map<Key, Status> errors_;
  std::map<Key, std::size_t> queries_;
  std::size_t total_queries_ = 0;
  bool authenticated_ = false;
};

// Parses "A", "txt", "Aaaa", ... (case-insensitive); false when unknown.
bool parse_rr_type(std::string_view text, RrType& type);

}  // namespace authmilter::dns

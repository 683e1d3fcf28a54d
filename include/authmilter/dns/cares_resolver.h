// authmilter::dns::CaresResolver — the production Resolver: c-ares on one event-loop thread,
// with the AnswerCache in front.
//
// What: start() answers from the cache, joins an identical lookup in flight, or queues a new
//   one and wakes the loop thread (eventfd). Only that thread touches the c-ares channel
//   (channels are not thread-safe). Queries are built with ares_create_query (class IN,
//   RD=1, EDNS0 OPT with a 1232-octet UDP size, DNS Flag Day 2020) plus the AD bit
//   (RFC 6840 §5.7), so a validating upstream reports whether it validated; sent with
//   ares_send; replies are parsed by wire::parse_response(). A truncated UDP reply (TC=1) is
//   sent again over TCP (RFC 7766 §5) on a second, TCP-only channel, so that a TCP failure is
//   reported as such ("truncated over UDP and TCP failed (...)").
// Config keys: DNSServers (options.servers; empty: /etc/resolv.conf), DNSTimeout
//   (options.timeout: one lookup overall, all tries and servers included), CacheSize.
// Status mapping: NOERROR with records kNoError, without kNoData, NXDOMAIN kNxDomain,
//   SERVFAIL kServFail (no fallback to the next server: ARES_FLAG_NOCHECKRESP hands us the
//   reply so the rcode is reported as it is), no reply in time kTimeout, REFUSED/FORMERR/
//   malformed/truncated kError. A name c-ares refuses to send (".onion", RFC 7686) is
//   kNxDomain; an unencodable one (NUL, empty label, > 255 octets) kError, not sent.
// Metrics (MetricsListen): stats() counts per query type the upstream queries, the lookups
//   answered without one (cache or a lookup in flight), timeouts and SERVFAIL replies, and
//   times each upstream query (relaxed atomics, no lock).
// Security: message IDs come from arc4random (not predictable); c-ares drops replies whose ID,
//   question or source address do not match, and parse_response() checks them again. c-ares
//   1.18 keeps one UDP socket per server, so the source port does not change per query: point
//   DNSServers at a trusted (local, validating) resolver.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/metrics/metrics.h"

namespace authmilter::dns {

struct CaresOptions {
  // "1.2.3.4", "1.2.3.4:5353", "[::1]:5353", "::1"; empty: /etc/resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{5000};  // DNSTimeout: per lookup overall
  int tries = 2;                            // rounds over the servers, 1..kMaxTries
  std::size_t cache_size = 10000;           // max entries (LRU); 0: no caching
  std::uint32_t cache_max_ttl = 86400;
  std::uint32_t negative_ttl_cap = 3600;
  // Clock for cache expiry only (tests inject one); empty: Clock::now.
  std::function<Clock::time_point()> clock{};
};

// One DNSServers entry: address and port.
struct ServerAddress {
  int family = 0;                  // AF_INET or AF_INET6
  unsigned char address[16] = {};  // 4 or 16 octets, network order
  std::uint16_t port = 53;
  std::string to_string() const;  // "1.2.3.4:53", "[::1]:53"
};

// Parses one server spec; throws std::runtime_error naming the bad spec.
ServerAddress parse_server(std::string_view spec);
// Parses a DNSServers value: specs separated by commas and/or white space.
std::vector<std::string> split_server_list(std::string_view text);

class CaresResolver final : public Resolver {
 public:
  struct Stats {
    std::uint64_t queries_sent = 0;  // handed to c-ares (one per upstream lookup)
    std::uint64_t cache_hits = 0;
    std::uint64_t coalesced = 0;  // start() calls that joined a lookup in flight
    struct ByType {
      std::string type;              // "A", "TXT", ...; "other" for the rest
      std::uint64_t queries = 0;     // sent upstream
      std::uint64_t cache_hits = 0;  // answered from the cache or by a lookup in flight
      std::uint64_t timeouts = 0;    // no reply within DNSTimeout
      std::uint64_t servfail = 0;    // SERVFAIL replies
    };
    std::vector<ByType> by_type;                  // kMetricTypes order, then "other"
    metrics::Histogram::Snapshot query_duration;  // upstream queries, sent to answered
  };

  // The query types counted on their own; every other type counts as "other".
  static constexpr RrType kMetricTypes[] = {RrType::kA,  RrType::kAaaa, RrType::kTxt,
                                            RrType::kMx, RrType::kPtr,  RrType::kCname,
                                            RrType::kNs, RrType::kSoa,  RrType::kSpf};

  static constexpr int kMaxTries = 10;
  static constexpr std::uint16_t kEdnsUdpSize = 1232;

  // Throws std::runtime_error on a bad server spec or when c-ares cannot be set up.
  explicit CaresResolver(CaresOptions options);
  // Stops the loop thread; lookups still pending end with kError ("resolver shut down").
  ~CaresResolver() override;

  PendingAnswer start(std::string_view name, RrType type) override;
  PendingAnswer peek(std::string_view name, RrType type) override;

  Stats stats() const;
  std::size_t cache_entries() const;
  void clear_cache();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace authmilter::dns

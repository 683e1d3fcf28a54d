// authmilter::integration fault_dns — a DNS responder that misbehaves on purpose.
//
// What: one thread serving 127.0.0.1:port over UDP and TCP (RFC 1035 §4.2.1/§4.2.2, two-octet
//   length prefix on TCP) from a small in-memory zone (TXT, A and CNAME records; SOA for
//   negative answers), where each query name can be given a Fault instead of its normal
//   answer: no reply, a reply after a delay, a reply with another message ID, garbage,
//   SERVFAIL, REFUSED, TC=1 over UDP with the TCP connection reset, TC=1 over UDP with the
//   full answer over TCP, NXDOMAIN with the zone's SOA in the authority section (RFC 2308
//   §3), or a CNAME loop. Names without records get NXDOMAIN + SOA, like an authoritative
//   server. Replies over UDP that exceed the client's size (512, or the EDNS0 OPT payload
//   size, RFC 6891 §6.2.5) are truncated: TC=1, no records (RFC 2181 §9).
// Why: the daemon's resolver (c-ares) and the SPF/DMARC engines must turn every one of these
//   into a readable temperror (or the normal result where the answer is reachable), in time;
//   NSD cannot be made to misbehave like this.
// Test side only: an implementation independent of src/dns/wire.cc, so a bug shared by the
//   daemon's parser and this encoder cannot hide.
// Limits: queries over kMaxQueryBytes are dropped; at most kMaxTcpClients TCP connections at
//   once; delayed replies are kept at most kMaxPendingReplies. Names compare case-insensitively.
// Security: binds 127.0.0.1 only; nothing here trusts the packets beyond bounds checks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net.h"

namespace authmilter::integration {

inline constexpr std::size_t kMaxQueryBytes = 4096;
inline constexpr std::size_t kMaxTcpClients = 32;
inline constexpr std::size_t kMaxPendingReplies = 256;

enum class DnsFault {
  kNone,               // the zone's answer
  kSilent,             // never replies (UDP or TCP)
  kLate,               // the zone's answer, after late_delay() (set it past DNSTimeout)
  kWrongId,            // the zone's answer with the message ID changed
  kGarbage,            // the query's header and question, then bytes that are no records
  kNoise,              // random bytes, nothing of the query kept
  kServFail,           // rcode 2
  kRefused,            // rcode 5
  kTruncatedTcpReset,  // UDP: TC=1 and no records; TCP: the connection is reset (RST)
  kTruncatedThenTcp,   // UDP: TC=1 and no records; TCP: the zone's answer
  kNxDomainSoa,        // rcode 3 with the zone's SOA in authority, whatever the zone holds
};
std::string_view to_string(DnsFault fault);

class FaultDns {
 public:
  // Binds UDP and TCP on one free loopback port and starts serving `origin` (no trailing
  // dot); throws std::runtime_error when no port can be had.
  static std::unique_ptr<FaultDns> start(std::string origin);
  ~FaultDns();
  FaultDns(const FaultDns&) = delete;
  FaultDns& operator=(const FaultDns&) = delete;

  std::uint16_t port() const { return port_; }

  // Zone content (names absolute, without a trailing dot). A TXT RR is its character-strings,
  // each at most 255 octets.
  void add_txt(std::string_view name, std::vector<std::string> strings);
  void add_a(std::string_view name, std::string_view dotted_quad);
  void add_cname(std::string_view name, std::string_view target);
  void set_fault(std::string_view name, DnsFault fault);
  void set_late_delay(std::chrono::milliseconds delay);

  // Queries seen for `name` (any type, UDP and TCP), to show a test reached its fault.
  int queries_for(std::string_view name) const;
  // Every question seen, "name/TYPE/udp" in arrival order, for failure messages.
  std::vector<std::string> query_log() const;

 private:
  struct Rr {
    std::uint16_t type = 0;
    std::vector<std::uint8_t> rdata;
  };
  struct Pending {
    std::chrono::steady_clock::time_point when;
    std::vector<std::uint8_t> reply;
    std::vector<std::uint8_t> peer;  // sockaddr_in bytes
  };
  struct TcpClient {
    UniqueFd fd;
    std::vector<std::uint8_t> in;
  };

  explicit FaultDns(std::string origin) : origin_(std::move(origin)) {}
  void run();
  // The reply to `query` over UDP (tcp=false) or TCP; empty: no reply. `reset`: TCP RST.
  std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& query, bool tcp, bool& reset,
                                   bool& late);
  void serve_udp();
  void accept_tcp();
  bool serve_tcp(TcpClient& client);  // false: close the connection

  std::string origin_;
  std::uint16_t port_ = 0;
  UniqueFd udp_;
  UniqueFd tcp_;
  UniqueFd stop_;  // eventfd
  std::thread thread_;

  mutable std::mutex mutex_;
  std::multimap<std::string, Rr> records_;  // lower-case owner -> RR
  std::map<std::string, DnsFault> faults_;  // lower-case name -> fault
  std::chrono::milliseconds late_delay_{1500};
  std::map<std::string, int> query_counts_;
  std::vector<std::string> query_log_;

  // Loop thread only.
  std::vector<std::unique_ptr<TcpClient>> clients_;
  std::vector<Pending> pending_;
};

}  // namespace authmilter::integration

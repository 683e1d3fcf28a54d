// Test support (authmilter_test_support): a DNS responder on a loopback port, run by the test
// itself, and a one-shot DNS query for probing a server.
//
// What: LoopbackDnsServer binds UDP and TCP on the same ephemeral port of 127.0.0.1 (or ::1)
//   and answers each query (RFC 1035 §4.2: UDP datagrams, TCP with a 2-octet length prefix)
//   with whatever its Handler returns: any number of raw packets (so tests can send forged,
//   truncated, duplicate or no replies), optionally held back until release(). It counts and
//   logs the queries it saw. answer_from() makes a Handler that answers from a
//   dns::ZoneResolver through dns::wire::encode_response() (the zone constructor uses it).
//   Used by the CaresResolver unit tests, the benchmarks, the soak program and whatever else
//   needs a real DNS server (CaresResolver, the daemon's DNSServers) without a network.
//   query_udp() sends one query to 127.0.0.1:port and summarises the reply (integration
//   tests probe NSD with it).
// Limits: queries that do not parse are dropped; at most one thread serves; replies carry no
//   EDNS OPT record (c-ares accepts that); a reply over kMaxMessageSize cannot be built.
// Security: loopback only; test code, never linked into the daemon.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/dns/wire.h"
#include "authmilter/dns/zone_resolver.h"

namespace authmilter::test_support {

using DnsPacket = std::vector<std::uint8_t>;

// What the responder does with one query.
struct DnsServerReply {
  std::vector<DnsPacket> packets;  // sent in order; none: stay silent
  bool defer = false;              // UDP only: hold the packets until release()
};

class LoopbackDnsServer {
 public:
  using Handler = std::function<DnsServerReply(const dns::wire::Query&, bool tcp)>;

  // Binds an ephemeral loopback port for UDP and TCP (`family` AF_INET or AF_INET6) and
  // starts serving on a thread; throws std::runtime_error when it cannot bind.
  explicit LoopbackDnsServer(Handler handler, int family = AF_INET);
  // Answers every query from `zone` (answer_from(), below); `zone` must outlive the server.
  explicit LoopbackDnsServer(const dns::ZoneResolver& zone, int family = AF_INET);
  ~LoopbackDnsServer();
  LoopbackDnsServer(const LoopbackDnsServer&) = delete;
  LoopbackDnsServer& operator=(const LoopbackDnsServer&) = delete;

  // "127.0.0.1:PORT" or "[::1]:PORT", for CaresOptions::servers / DNSServers.
  std::string spec() const;
  std::uint16_t port() const { return port_; }

  std::size_t queries(const std::string& name, dns::RrType type) const;
  std::size_t total() const;
  std::uint64_t queries() const { return total(); }  // all queries seen so far
  std::size_t tcp_queries() const;
  std::vector<dns::wire::Query> log() const;
  // Waits until `n` queries have arrived or `limit` passes; false on timeout.
  bool wait_for_total(std::size_t n, std::chrono::milliseconds limit);
  // Sends the deferred UDP replies.
  void release();

 private:
  bool bind_both(int family);
  void close_all();
  void send_udp(const sockaddr_storage& to, const DnsPacket& packet);
  DnsServerReply handle(std::span<const std::uint8_t> packet, bool tcp);
  void run();

  Handler handler_;
  int family_ = AF_INET;
  int udp_ = -1;
  int tcp_ = -1;
  std::uint16_t port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::vector<int> clients_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::pair<std::string, std::uint16_t>, std::size_t> counts_;
  std::size_t total_ = 0;
  std::size_t tcp_count_ = 0;
  std::vector<dns::wire::Query> log_;
  std::vector<std::pair<sockaddr_storage, DnsPacket>> deferred_;
};

// A Handler answering every query from `zone` (which must outlive the server); an answer
// that cannot be encoded gets no reply, so the client times out.
LoopbackDnsServer::Handler answer_from(const dns::ZoneResolver& zone);

// What query_udp() saw in a reply.
struct DnsProbeResult {
  int rcode = -1;                // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
  int answer_count = 0;          // ANCOUNT
  std::vector<std::string> txt;  // TXT answers, character-strings concatenated
  bool authoritative = false;    // AA bit
};

// One UDP query for (name, type) to 127.0.0.1:`port`, resent while the port refuses (the
// server is still starting); nullopt on timeout or an unparsable reply.
std::optional<DnsProbeResult> query_udp(std::uint16_t port, std::string_view name,
                                        std::uint16_t type, std::chrono::milliseconds timeout);

}  // namespace authmilter::test_support

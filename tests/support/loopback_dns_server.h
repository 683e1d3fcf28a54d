// A DNS responder on 127.0.0.1 answering from an in-memory zone, for benchmarks and programs
// that run the real daemon (DNSServers pointing at it) or CaresResolver without a network.
//
// What: one UDP socket on 127.0.0.1 (ephemeral port) answering every query from a
//   dns::ZoneResolver through dns::wire::encode_response(), on its own thread. Queries that
//   do not parse are dropped; a name the zone cannot encode gets no answer (the client times
//   out). Replies carry no EDNS OPT record, which c-ares accepts.
// Limits: UDP only, one query at a time; a reply larger than a UDP datagram is not truncated.
// Security: loopback only; test code, nothing here is linked into the daemon.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "authmilter/dns/zone_resolver.h"

namespace authmilter::test_support {

class LoopbackDnsServer {
 public:
  // Binds 127.0.0.1:0 and starts answering from `zone` (which must outlive the server).
  explicit LoopbackDnsServer(const dns::ZoneResolver& zone);
  ~LoopbackDnsServer();
  LoopbackDnsServer(const LoopbackDnsServer&) = delete;
  LoopbackDnsServer& operator=(const LoopbackDnsServer&) = delete;

  std::string spec() const;  // "127.0.0.1:PORT" for CaresOptions::servers / DNSServers
  std::uint64_t queries() const;

 private:
  void run();

  const dns::ZoneResolver& zone_;
  int socket_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> queries_{0};
  std::thread thread_;
};

}  // namespace authmilter::test_support

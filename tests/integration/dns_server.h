// authmilter::integration dns_server — a real authoritative DNS server (NSD) on loopback.
//
// What: writes zone files and an nsd.conf into a directory, starts `nsd -d` (foreground) on
//   127.0.0.1 at a free port (UDP and TCP), and waits until it answers a SOA query. Names
//   outside its zones get REFUSED, which the SPF tests use to provoke DNS temperror: c-ares
//   1.18 reports a REFUSED answer from its only server as ARES_ECONNREFUSED at once (or
//   ARES_EREFUSED with ARES_FLAG_NOCHECKRESP); both must become temporary failures.
// dns_query(): one UDP query (test_support::query_udp) to probe readiness and check the test
//   zones.
// Limits: start-up bounded by kNsdStartTimeout; a query by its timeout; replies over 4 KiB
//   are truncated by the server (we never need TCP for the test data).
// Security: nsd runs as root without chroot or privilege drop (username: ""), only on
//   127.0.0.1, remote-control disabled; everything lives in the test's temp directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loopback_dns_server.h"
#include "process.h"

namespace authmilter::integration {

inline constexpr std::chrono::seconds kNsdStartTimeout{15};

struct Zone {
  std::string origin;  // "example", no trailing dot
  std::string text;    // zone file contents (master file format)
};

class NsdServer {
 public:
  // Starts nsd serving `zones` from files under `dir`; throws std::runtime_error with
  // nsd's log when it does not come up.
  static std::unique_ptr<NsdServer> start(const std::filesystem::path& dir,
                                          const std::vector<Zone>& zones);
  ~NsdServer();

  std::uint16_t port() const { return port_; }
  // SIGTERM, then SIGKILL to its group after a grace period.
  ExitStatus stop();
  std::string log() const;

 private:
  NsdServer() = default;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  ChildProcess process_;
};

using DnsReply = test_support::DnsProbeResult;

// One UDP query to 127.0.0.1:`port` (tests/support's probe); nullopt on timeout or an
// unparsable reply.
inline std::optional<DnsReply> dns_query(std::uint16_t port, std::string_view name,
                                         std::uint16_t type, std::chrono::milliseconds timeout) {
  return test_support::query_udp(port, name, type, timeout);
}

inline constexpr std::uint16_t kTypeSoa = 6;
inline constexpr std::uint16_t kTypeTxt = 16;

}  // namespace authmilter::integration

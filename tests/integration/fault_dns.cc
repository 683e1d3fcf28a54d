#include "fault_dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace authmilter::integration {
namespace {

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeSoaRr = 6;
constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kTypeTxtRr = 16;
constexpr std::uint16_t kTypeOpt = 41;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kFlagQr = 0x8000;
constexpr std::uint16_t kFlagAa = 0x0400;
constexpr std::uint16_t kFlagTc = 0x0200;
constexpr std::uint16_t kFlagRd = 0x0100;
constexpr std::uint16_t kRcodeNxDomain = 3;
constexpr std::uint16_t kRcodeServFail = 2;
constexpr std::uint16_t kRcodeRefused = 5;
constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kPlainUdpLimit = 512;  // RFC 1035 §4.2.1, without EDNS0
constexpr std::uint32_t kTtl = 60;
constexpr std::size_t kMaxCnameHops = 16;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}

std::uint16_t get16(const std::vector<std::uint8_t>& in, std::size_t at) {
  return static_cast<std::uint16_t>((in[at] << 8) | in[at + 1]);
}

void set16(std::vector<std::uint8_t>& out, std::size_t at, std::uint16_t v) {
  out[at] = static_cast<std::uint8_t>(v >> 8);
  out[at + 1] = static_cast<std::uint8_t>(v & 0xff);
}

// Uncompressed wire form of a dotted name (RFC 1035 §3.1); the root for "".
std::vector<std::uint8_t> name_wire(std::string_view name) {
  std::vector<std::uint8_t> out;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::size_t length = std::min<std::size_t>(dot - start, 63);
    out.push_back(static_cast<std::uint8_t>(length));
    for (std::size_t i = 0; i < length; ++i)
      out.push_back(static_cast<std::uint8_t>(name[start + i]));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

struct Question {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::string name;                // lower-case, no trailing dot
  std::vector<std::uint8_t> wire;  // the question section as received
  std::uint16_t type = 0;
  std::size_t udp_limit = kPlainUdpLimit;
};

// The first question of `packet`, plus the EDNS0 payload size when an OPT RR follows it.
bool parse_question(const std::vector<std::uint8_t>& packet, Question& q) {
  if (packet.size() < kHeaderBytes) return false;
  q.id = get16(packet, 0);
  q.flags = get16(packet, 2);
  if ((q.flags & kFlagQr) != 0 || get16(packet, 4) != 1) return false;
  std::size_t at = kHeaderBytes;
  while (true) {
    if (at >= packet.size()) return false;
    const std::uint8_t length = packet[at++];
    if (length == 0) break;
    if (length > 63 || at + length > packet.size()) return false;  // no compression in queries
    if (!q.name.empty()) q.name += '.';
    q.name.append(reinterpret_cast<const char*>(&packet[at]), length);
    at += length;
  }
  if (at + 4 > packet.size()) return false;
  q.type = get16(packet, at);
  at += 4;
  q.wire.assign(packet.begin() + kHeaderBytes, packet.begin() + static_cast<long>(at));
  q.name = lower(q.name);
  // RFC 6891 §6.1.2: OPT has the root as owner; its CLASS is the requestor's payload size.
  if (get16(packet, 10) >= 1 && at + 11 <= packet.size() && packet[at] == 0 &&
      get16(packet, at + 1) == kTypeOpt) {
    q.udp_limit = std::max<std::size_t>(kPlainUdpLimit, get16(packet, at + 3));
  }
  return true;
}

struct Section {
  std::vector<std::uint8_t> bytes;
  std::uint16_t count = 0;
};

void add_rr(Section& section, std::string_view owner, std::uint16_t type,
            const std::vector<std::uint8_t>& rdata) {
  auto owner_wire = name_wire(owner);
  section.bytes.insert(section.bytes.end(), owner_wire.begin(), owner_wire.end());
  put16(section.bytes, type);
  put16(section.bytes, kClassIn);
  put32(section.bytes, kTtl);
  put16(section.bytes, static_cast<std::uint16_t>(rdata.size()));
  section.bytes.insert(section.bytes.end(), rdata.begin(), rdata.end());
  ++section.count;
}

std::vector<std::uint8_t> message(const Question& q, std::uint16_t flags_and_rcode,
                                  const Section& answer, const Section& authority) {
  std::vector<std::uint8_t> out;
  put16(out, q.id);
  put16(out, static_cast<std::uint16_t>(kFlagQr | kFlagAa | (q.flags & kFlagRd) | flags_and_rcode));
  put16(out, 1);
  put16(out, answer.count);
  put16(out, authority.count);
  put16(out, 0);
  out.insert(out.end(), q.wire.begin(), q.wire.end());
  out.insert(out.end(), answer.bytes.begin(), answer.bytes.end());
  out.insert(out.end(), authority.bytes.begin(), authority.bytes.end());
  return out;
}

std::vector<std::uint8_t> soa_rdata(const std::string& origin) {
  std::vector<std::uint8_t> out = name_wire("ns." + origin);
  auto rname = name_wire("hostmaster." + origin);
  out.insert(out.end(), rname.begin(), rname.end());
  for (std::uint32_t field : {1u, 3600u, 600u, 86400u, kTtl}) put32(out, field);
  return out;
}

}  // namespace

std::string_view to_string(DnsFault fault) {
  switch (fault) {
    case DnsFault::kNone:
      return "none";
    case DnsFault::kSilent:
      return "silent";
    case DnsFault::kLate:
      return "late";
    case DnsFault::kWrongId:
      return "wrong-id";
    case DnsFault::kGarbage:
      return "garbage";
    case DnsFault::kNoise:
      return "noise";
    case DnsFault::kServFail:
      return "servfail";
    case DnsFault::kRefused:
      return "refused";
    case DnsFault::kTruncatedTcpReset:
      return "truncated-tcp-reset";
    case DnsFault::kTruncatedThenTcp:
      return "truncated-then-tcp";
    case DnsFault::kNxDomainSoa:
      return "nxdomain-soa";
  }
  return "?";
}

std::unique_ptr<FaultDns> FaultDns::start(std::string origin) {
  std::unique_ptr<FaultDns> dns(new FaultDns(lower(origin)));
  // The kernel's pick for TCP is nearly always free for UDP too; bounded retries otherwise.
  for (int attempt = 0; attempt < 50 && !dns->udp_.valid(); ++attempt) {
    UniqueFd tcp = listen_tcp(0, 16);
    const std::uint16_t port = local_port(tcp.get());
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!udp.valid()) throw std::runtime_error("socket(UDP) failed");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) continue;
    dns->tcp_ = std::move(tcp);
    dns->udp_ = std::move(udp);
    dns->port_ = port;
  }
  if (!dns->udp_.valid()) throw std::runtime_error("no loopback port free for UDP and TCP");
  dns->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!dns->stop_.valid()) throw std::runtime_error("eventfd failed");
  dns->thread_ = std::thread([d = dns.get()] { d->run(); });
  return dns;
}

FaultDns::~FaultDns() {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t written = ::write(stop_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void FaultDns::add_txt(std::string_view name, std::vector<std::string> strings) {
  Rr rr;
  rr.type = kTypeTxtRr;
  for (const auto& s : strings) {
    if (s.size() > 255) throw std::invalid_argument("TXT character-string over 255 octets");
    rr.rdata.push_back(static_cast<std::uint8_t>(s.size()));
    rr.rdata.insert(rr.rdata.end(), s.begin(), s.end());
  }
  std::lock_guard lock(mutex_);
  records_.emplace(lower(name), std::move(rr));
}

void FaultDns::add_a(std::string_view name, std::string_view dotted_quad) {
  Rr rr;
  rr.type = kTypeA;
  rr.rdata.resize(4);
  if (::inet_pton(AF_INET, std::string(dotted_quad).c_str(), rr.rdata.data()) != 1) {
    throw std::invalid_argument("not an IPv4 address: " + std::string(dotted_quad));
  }
  std::lock_guard lock(mutex_);
  records_.emplace(lower(name), std::move(rr));
}

void FaultDns::add_cname(std::string_view name, std::string_view target) {
  Rr rr;
  rr.type = kTypeCname;
  rr.rdata = name_wire(lower(target));
  std::lock_guard lock(mutex_);
  records_.emplace(lower(name), std::move(rr));
}

void FaultDns::set_fault(std::string_view name, DnsFault fault) {
  std::lock_guard lock(mutex_);
  faults_[lower(name)] = fault;
}

void FaultDns::set_late_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  late_delay_ = delay;
}

int FaultDns::queries_for(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = query_counts_.find(lower(name));
  return it == query_counts_.end() ? 0 : it->second;
}

std::vector<std::string> FaultDns::query_log() const {
  std::lock_guard lock(mutex_);
  return query_log_;
}

std::vector<std::uint8_t> FaultDns::answer(const std::vector<std::uint8_t>& query, bool tcp,
                                           bool& reset, bool& late) {
  reset = false;
  late = false;
  Question q;
  if (!parse_question(query, q)) return {};

  std::lock_guard lock(mutex_);
  ++query_counts_[q.name];
  if (query_log_.size() < 1000) {
    query_log_.push_back(q.name + "/" + std::to_string(q.type) + (tcp ? "/tcp" : "/udp"));
  }
  auto fault_it = faults_.find(q.name);
  const DnsFault fault = fault_it == faults_.end() ? DnsFault::kNone : fault_it->second;
  const Section none;

  switch (fault) {
    case DnsFault::kSilent:
      return {};
    case DnsFault::kServFail:
      return message(q, kRcodeServFail, none, none);
    case DnsFault::kRefused:
      return message(q, kRcodeRefused, none, none);
    case DnsFault::kNoise: {
      // Nothing of the query survives, not even its ID (the XOR makes sure of that).
      std::vector<std::uint8_t> out;
      put16(out, static_cast<std::uint16_t>(q.id ^ 0xa5a5));
      for (std::uint8_t i = 0; i < 35; ++i) out.push_back(static_cast<std::uint8_t>(i * 37 + 11));
      return out;
    }
    case DnsFault::kGarbage: {
      // Header and question as a server would send them; then three "records" of 0xff:
      // 0xff starts a compression pointer past the end of the message (RFC 1035 §4.1.4).
      Section junk;
      junk.bytes.assign(40, 0xff);
      junk.count = 3;
      return message(q, 0, junk, none);
    }
    case DnsFault::kTruncatedTcpReset:
      if (tcp) {
        reset = true;
        return {};
      }
      return message(q, kFlagTc, none, none);
    case DnsFault::kTruncatedThenTcp:
      if (!tcp) return message(q, kFlagTc, none, none);
      break;
    case DnsFault::kLate:
      late = true;
      break;
    case DnsFault::kNone:
    case DnsFault::kWrongId:
    case DnsFault::kNxDomainSoa:
      break;
  }

  Section authority;
  std::vector<std::uint8_t> reply;
  if (fault == DnsFault::kNxDomainSoa) {
    add_rr(authority, origin_, kTypeSoaRr, soa_rdata(origin_));
    reply = message(q, kRcodeNxDomain, none, authority);
  } else {
    // Follow CNAMEs in the zone (RFC 1034 §4.3.2 step 3.a), each name once: a loop ends
    // when it comes back to a name already answered, as the loop itself is the answer.
    Section answer_section;
    std::string current = q.name;
    std::set<std::string> visited;
    bool exists = false;
    for (std::size_t hop = 0; hop < kMaxCnameHops && visited.insert(current).second; ++hop) {
      auto [begin, end] = records_.equal_range(current);
      exists = exists || begin != end;
      const Rr* cname = nullptr;
      for (auto it = begin; it != end; ++it) {
        if (it->second.type == kTypeCname) cname = &it->second;
      }
      if (cname == nullptr || q.type == kTypeCname) {
        for (auto it = begin; it != end; ++it) {
          if (it->second.type == q.type) add_rr(answer_section, current, q.type, it->second.rdata);
        }
        exists = begin != end;
        break;
      }
      add_rr(answer_section, current, kTypeCname, cname->rdata);
      // The target's dotted form from its wire form (labels written by name_wire).
      std::string target;
      for (std::size_t at = 0; at < cname->rdata.size() && cname->rdata[at] != 0;) {
        const std::size_t length = cname->rdata[at];
        if (!target.empty()) target += '.';
        target.append(reinterpret_cast<const char*>(&cname->rdata[at + 1]), length);
        at += 1 + length;
      }
      current = target;
    }
    std::uint16_t rcode = 0;
    if (answer_section.count == 0) {
      add_rr(authority, origin_, kTypeSoaRr, soa_rdata(origin_));
      if (!exists) rcode = kRcodeNxDomain;
    }
    reply = message(q, rcode, answer_section, authority);
  }
  if (!tcp && reply.size() > q.udp_limit) {
    // RFC 2181 §9: a truncated reply may not carry a partial RRset; send none at all.
    reply = message(q, kFlagTc, none, none);
  }
  if (fault == DnsFault::kWrongId) set16(reply, 0, static_cast<std::uint16_t>(q.id ^ 0x5a5a));
  return reply;
}

void FaultDns::run() {
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({stop_.get(), POLLIN, 0});
    fds.push_back({udp_.get(), POLLIN, 0});
    fds.push_back({tcp_.get(), POLLIN, 0});
    for (const auto& client : clients_) fds.push_back({client->fd.get(), POLLIN, 0});
    int timeout_ms = -1;
    const auto now = std::chrono::steady_clock::now();
    for (const auto& p : pending_) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(p.when - now).count();
      const int ms = static_cast<int>(std::max<long long>(0, left));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;

    // Delayed replies whose time has come.
    const auto after = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->when > after) {
        ++it;
        continue;
      }
      [[maybe_unused]] ssize_t sent = ::sendto(udp_.get(), it->reply.data(), it->reply.size(), 0,
                                               reinterpret_cast<const sockaddr*>(it->peer.data()),
                                               static_cast<socklen_t>(it->peer.size()));
      it = pending_.erase(it);
    }
    if (ready <= 0) continue;
    if (fds[1].revents != 0) serve_udp();
    if (fds[2].revents != 0) accept_tcp();
    // Clients in fds[3..] match clients_ as it was before accept_tcp() appended any.
    std::vector<std::unique_ptr<TcpClient>> kept;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      const bool polled = i + 3 < fds.size();
      if (polled && fds[i + 3].revents != 0 && !serve_tcp(*clients_[i])) continue;
      kept.push_back(std::move(clients_[i]));
    }
    clients_ = std::move(kept);
  }
}

void FaultDns::serve_udp() {
  // Bounded: a burst larger than this waits for the next poll round.
  for (int i = 0; i < 64; ++i) {
    std::vector<std::uint8_t> packet(kMaxQueryBytes);
    sockaddr_in peer{};
    socklen_t peer_length = sizeof peer;
    const ssize_t got = ::recvfrom(udp_.get(), packet.data(), packet.size(), 0,
                                   reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (got < 0) return;
    packet.resize(static_cast<std::size_t>(got));
    bool reset = false;
    bool late = false;
    std::vector<std::uint8_t> reply = answer(packet, false, reset, late);
    if (reply.empty()) continue;
    if (late) {
      if (pending_.size() >= kMaxPendingReplies) continue;
      std::chrono::milliseconds delay;
      {
        std::lock_guard lock(mutex_);
        delay = late_delay_;
      }
      const auto* peer_bytes = reinterpret_cast<const std::uint8_t*>(&peer);
      pending_.push_back({std::chrono::steady_clock::now() + delay, std::move(reply),
                          std::vector<std::uint8_t>(peer_bytes, peer_bytes + peer_length)});
      continue;
    }
    [[maybe_unused]] ssize_t sent = ::sendto(udp_.get(), reply.data(), reply.size(), 0,
                                             reinterpret_cast<sockaddr*>(&peer), peer_length);
  }
}

void FaultDns::accept_tcp() {
  UniqueFd fd(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd.valid() || clients_.size() >= kMaxTcpClients) return;
  auto client = std::make_unique<TcpClient>();
  client->fd = std::move(fd);
  clients_.push_back(std::move(client));
}

bool FaultDns::serve_tcp(TcpClient& client) {
  std::uint8_t buffer[2048];
  const ssize_t got = ::recv(client.fd.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  if (got == 0) return false;
  if (got < 0) return errno == EAGAIN || errno == EINTR;
  client.in.insert(client.in.end(), buffer, buffer + got);
  while (client.in.size() >= 2) {
    const std::size_t length = get16(client.in, 0);
    if (length > kMaxQueryBytes) return false;
    if (client.in.size() < 2 + length) break;
    std::vector<std::uint8_t> query(client.in.begin() + 2,
                                    client.in.begin() + static_cast<long>(2 + length));
    client.in.erase(client.in.begin(), client.in.begin() + static_cast<long>(2 + length));
    bool reset = false;
    bool late = false;
    std::vector<std::uint8_t> reply = answer(query, true, reset, late);
    if (reset) {
      // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
      linger hard{1, 0};
      ::setsockopt(client.fd.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      return false;
    }
    // A late reply over TCP is not delayed: only the UDP path is under test for lateness.
    if (reply.empty()) continue;
    std::vector<std::uint8_t> framed;
    put16(framed, static_cast<std::uint16_t>(reply.size()));
    framed.insert(framed.end(), reply.begin(), reply.end());
    std::size_t off = 0;
    // Loopback and a few KiB: fits the socket buffer; bounded by the retry count anyway.
    for (int tries = 0; off < framed.size() && tries < 100; ++tries) {
      const ssize_t sent =
          ::send(client.fd.get(), framed.data() + off, framed.size() - off, MSG_NOSIGNAL);
      if (sent < 0 && errno != EINTR && errno != EAGAIN) return false;
      if (sent > 0) off += static_cast<std::size_t>(sent);
    }
    if (off < framed.size()) return false;
  }
  return true;
}

}  // namespace authmilter::integration

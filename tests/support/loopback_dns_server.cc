#include "loopback_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>

namespace authmilter::test_support {

namespace wire = dns::wire;

LoopbackDnsServer::LoopbackDnsServer(Handler handler, int family) : handler_(std::move(handler)) {
  for (int attempt = 0; attempt < 50 && !bind_both(family); ++attempt) close_all();
  if (udp_ < 0) throw std::runtime_error("cannot bind the loopback DNS server");
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    close_all();
    throw std::runtime_error("pipe2 failed");
  }
  thread_ = std::thread([this] { run(); });
}

LoopbackDnsServer::LoopbackDnsServer(const dns::ZoneResolver& zone, int family)
    : LoopbackDnsServer(answer_from(zone), family) {}

LoopbackDnsServer::~LoopbackDnsServer() {
  [[maybe_unused]] auto n = ::write(stop_pipe_[1], "x", 1);
  thread_.join();
  for (int fd : clients_) ::close(fd);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  close_all();
}

std::string LoopbackDnsServer::spec() const {
  return family_ == AF_INET ? "127.0.0.1:" + std::to_string(port_)
                            : "[::1]:" + std::to_string(port_);
}

std::size_t LoopbackDnsServer::queries(const std::string& name, dns::RrType type) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find({dns::normalize_name(name), static_cast<std::uint16_t>(type)});
  return it == counts_.end() ? 0 : it->second;
}

std::size_t LoopbackDnsServer::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t LoopbackDnsServer::tcp_queries() const {
  std::lock_guard lock(mutex_);
  return tcp_count_;
}

std::vector<wire::Query> LoopbackDnsServer::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

bool LoopbackDnsServer::wait_for_total(std::size_t n, std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return total_ >= n; });
}

void LoopbackDnsServer::release() {
  std::vector<std::pair<sockaddr_storage, DnsPacket>> held;
  {
    std::lock_guard lock(mutex_);
    held.swap(deferred_);
  }
  for (auto& [to, packet] : held) send_udp(to, packet);
}

bool LoopbackDnsServer::bind_both(int family) {
  family_ = family;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  }
  udp_ = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp_ < 0 || ::bind(udp_, reinterpret_cast<sockaddr*>(&addr), len) != 0) return false;
  if (::getsockname(udp_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  // The same port for TCP; taken by someone else now and then, hence the retries.
  tcp_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return tcp_ >= 0 && ::bind(tcp_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
         ::listen(tcp_, 8) == 0;
}

void LoopbackDnsServer::close_all() {
  if (udp_ >= 0) ::close(udp_);
  if (tcp_ >= 0) ::close(tcp_);
  udp_ = tcp_ = -1;
}

void LoopbackDnsServer::send_udp(const sockaddr_storage& to, const DnsPacket& packet) {
  const socklen_t len = to.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  ::sendto(udp_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), len);
}

DnsServerReply LoopbackDnsServer::handle(std::span<const std::uint8_t> packet, bool tcp) {
  auto query = wire::parse_query(packet);
  if (!query) return {};
  {
    std::lock_guard lock(mutex_);
    ++counts_[{dns::normalize_name(query->name), query->type}];
    ++total_;
    if (tcp) ++tcp_count_;
    log_.push_back(*query);
  }
  changed_.notify_all();
  return handler_(*query, tcp);
}

void LoopbackDnsServer::run() {
  std::vector<std::uint8_t> buffer(wire::kMaxMessageSize + 1);
  std::map<int, DnsPacket> pending;  // TCP client -> bytes read so far
  while (true) {
    std::vector<pollfd> fds = {{stop_pipe_[0], POLLIN, 0}, {udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
    for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
    if (fds[0].revents != 0) return;
    if (fds[1].revents & POLLIN) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(udp_, buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n > 0) {
        DnsServerReply reply = handle({buffer.data(), static_cast<std::size_t>(n)}, false);
        if (reply.defer) {
          std::lock_guard lock(mutex_);
          for (auto& packet : reply.packets) deferred_.emplace_back(from, packet);
        } else {
          for (auto& packet : reply.packets) send_udp(from, packet);
        }
      }
    }
    if (fds[2].revents & POLLIN) {
      const int client = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) clients_.push_back(client);
    }
    for (std::size_t i = 3; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n <= 0) {
        ::close(fd);
        clients_.erase(std::find(clients_.begin(), clients_.end(), fd));
        pending.erase(fd);
        continue;
      }
      DnsPacket& got = pending[fd];
      got.insert(got.end(), buffer.begin(), buffer.begin() + n);
      // RFC 1035 §4.2.2: each message is preceded by its length in two octets.
      const auto length_prefix = [&got] {
        return static_cast<std::size_t>((got[0] << 8) | got[1]);
      };
      while (got.size() >= 2 && got.size() >= 2u + length_prefix()) {
        const std::size_t len = length_prefix();
        DnsServerReply reply = handle({got.data() + 2, len}, true);
        got.erase(got.begin(), got.begin() + 2 + static_cast<long>(len));
        for (auto& packet : reply.packets) {
          DnsPacket framed = {static_cast<std::uint8_t>(packet.size() >> 8),
                              static_cast<std::uint8_t>(packet.size() & 0xff)};
          framed.insert(framed.end(), packet.begin(), packet.end());
          [[maybe_unused]] auto w = ::write(fd, framed.data(), framed.size());
        }
      }
    }
  }
}

LoopbackDnsServer::Handler answer_from(const dns::ZoneResolver& zone) {
  return [&zone](const wire::Query& query, bool /*tcp*/) -> DnsServerReply {
    const auto type = static_cast<dns::RrType>(query.type);
    try {
      return {{wire::encode_response(query.id, query.name, type, zone.answer(query.name, type))}};
    } catch (const std::exception&) {
      return {};  // unencodable: stay silent, the client times out
    }
  };
}

std::optional<DnsProbeResult> query_udp(std::uint16_t port, std::string_view name,
                                        std::uint16_t type, std::chrono::milliseconds timeout) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const auto id = static_cast<std::uint16_t>(rng());
  DnsPacket query;
  try {
    query = wire::encode_query(id, name, type);
  } catch (const std::exception&) {
    return std::nullopt;  // not a name that can be asked
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return std::nullopt;
  if (::send(fd, query.data(), query.size(), 0) != static_cast<ssize_t>(query.size())) {
    return std::nullopt;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::uint8_t> buffer(wire::kMaxMessageSize);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;  // EINTR or timeout
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      // ECONNREFUSED (nothing listening yet) arrives as an error on a connected UDP socket:
      // wait a little and ask again.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (::send(fd, query.data(), query.size(), 0) < 0) return std::nullopt;
      continue;
    }
    const std::span<const std::uint8_t> reply(buffer.data(), static_cast<std::size_t>(n));
    wire::Header header;
    if (!wire::parse_header(reply, header) || header.id != id) continue;  // late or junk
    DnsProbeResult result;
    result.rcode = header.rcode();
    result.authoritative = header.has(wire::kFlagAa);
    result.answer_count = header.ancount;
    if (type == static_cast<std::uint16_t>(dns::RrType::kTxt) && header.ancount > 0) {
      const dns::Answer answer = wire::parse_response(reply, name, dns::RrType::kTxt, id);
      if (answer.status != dns::Status::kNoError) return std::nullopt;
      for (const dns::Record& record : answer.records) {
        std::string text;
        for (const std::string& part : record.strings) text += part;
        result.txt.push_back(std::move(text));
      }
    }
    return result;
  }
}

}  // namespace authmilter::test_support

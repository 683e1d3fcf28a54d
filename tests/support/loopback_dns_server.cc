#include "loopback_dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "authmilter/dns/wire.h"

namespace authmilter::test_support {

LoopbackDnsServer::LoopbackDnsServer(const dns::ZoneResolver& zone) : zone_(zone) {
  socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(socket_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    ::close(socket_);
    throw std::runtime_error("cannot set up the loopback DNS server");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

LoopbackDnsServer::~LoopbackDnsServer() {
  [[maybe_unused]] const auto n = ::write(stop_pipe_[1], "x", 1);
  thread_.join();
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  ::close(socket_);
}

std::string LoopbackDnsServer::spec() const { return "127.0.0.1:" + std::to_string(port_); }

std::uint64_t LoopbackDnsServer::queries() const { return queries_.load(); }

void LoopbackDnsServer::run() {
  std::vector<std::uint8_t> buffer(dns::wire::kMaxMessageSize);
  for (;;) {
    pollfd fds[2] = {{socket_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t got = ::recvfrom(socket_, buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got <= 0) continue;
    const std::optional<dns::wire::Query> query = dns::wire::parse_query(
        std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(got)));
    if (!query) continue;
    queries_.fetch_add(1);
    const auto type = static_cast<dns::RrType>(query->type);
    std::vector<std::uint8_t> reply;
    try {
      reply =
          dns::wire::encode_response(query->id, query->name, type, zone_.answer(query->name, type));
    } catch (const std::exception&) {
      continue;  // unencodable: stay silent, the client times out
    }
    ::sendto(socket_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
  }
}

}  // namespace authmilter::test_support

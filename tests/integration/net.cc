#include "net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace authmilter::integration {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

int remaining_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, 60'000));
}

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

UniqueFd listen_tcp(std::uint16_t port, int backlog) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw sys_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw sys_error("bind");
  if (::listen(fd.get(), backlog) != 0) throw sys_error("listen");
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    throw sys_error("getsockname");
  }
  return ntohs(sa.sin_port);
}

std::uint16_t pick_free_port() {
  // A bounded number of attempts: the kernel's pick for TCP is usually free for UDP too.
  for (int attempt = 0; attempt < 50; ++attempt) {
    UniqueFd tcp = listen_tcp(0, 1);
    std::uint16_t port = local_port(tcp.get());
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!udp.valid()) throw sys_error("socket");
    sockaddr_in sa = loopback(port);
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return port;
  }
  throw std::runtime_error("no port free for both TCP and UDP on 127.0.0.1");
}

UniqueFd connect_tcp(std::uint16_t port, Deadline deadline) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw sys_error("socket");
  sockaddr_in sa = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno != EINPROGRESS) return {};
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1) return {};
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return {};
  }
  return fd;
}

bool wait_for_tcp_port(std::uint16_t port, Deadline deadline) {
  // Servers we start bind within milliseconds; poll with a short, growing pause so a
  // ready server is noticed at once and a slow one costs little CPU.
  auto pause = std::chrono::milliseconds(2);
  while (true) {
    if (connect_tcp(port, std::min(deadline, deadline_in(std::chrono::seconds(1)))).valid()) {
      return true;
    }
    if (Clock::now() + pause >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

Readiness wait_readable(int fd, Deadline deadline, int also) {
  pollfd p[2] = {{fd, POLLIN, 0}, {also, POLLIN, 0}};
  while (true) {
    int n = ::poll(p, also >= 0 ? 2 : 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Readiness::kTimeout;
    if (also >= 0 && p[1].revents != 0) return Readiness::kOther;
    return Readiness::kReady;
  }
}

std::optional<std::string> LineConnection::read_line(Deadline deadline) {
  while (fd_.valid()) {
    auto eol = buffer_.find('\n');
    if (eol != std::string::npos) {
      std::string line = buffer_.substr(0, eol);
      buffer_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buffer_.size() > kMaxLineBytes) return std::nullopt;
    if (wait_readable(fd_.get(), deadline, stop_fd_) != Readiness::kReady) return std::nullopt;
    char chunk[16384];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return std::nullopt;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return std::nullopt;
}

bool LineConnection::write_all(std::string_view data, Deadline deadline) {
  while (!data.empty() && fd_.valid()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    pollfd p[2] = {{fd_.get(), POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    int ready = ::poll(p, stop_fd_ >= 0 ? 2 : 1, remaining_ms(deadline));
    if (ready <= 0 || (stop_fd_ >= 0 && p[1].revents != 0)) return false;
  }
  return data.empty();
}

}  // namespace authmilter::integration

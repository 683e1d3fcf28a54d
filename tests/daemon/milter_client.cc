#include "milter_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace authmilter::testing {
namespace {

void put32(std::string& out, std::uint32_t v) {
  const std::uint32_t n = htonl(v);
  out.append(reinterpret_cast<const char*>(&n), 4);
}

void put16(std::string& out, std::uint16_t v) {
  const std::uint16_t n = htons(v);
  out.append(reinterpret_cast<const char*>(&n), 2);
}

std::uint32_t get32(const std::string& in, std::size_t at) {
  std::uint32_t n = 0;
  std::memcpy(&n, in.data() + at, 4);
  return ntohl(n);
}

// "name\0value\0" as the MTA sends a header or a macro.
std::string pair(const std::string& a, const std::string& b) { return a + '\0' + b + '\0'; }

}  // namespace

MilterClient::MilterClient(const std::string& unix_path, std::uint16_t port,
                           std::chrono::milliseconds timeout) {
  fd_ = ::socket(unix_path.empty() ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw MilterError("socket() failed");
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const timeval tv{static_cast<time_t>(seconds.count()),
                   static_cast<suseconds_t>((timeout - seconds).count() * 1000)};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc = -1;
  if (unix_path.empty()) {
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", unix_path.c_str());
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (rc != 0) {
    ::close(fd_);
    fd_ = -1;
    throw MilterError(std::string("cannot connect to the milter: ") + std::strerror(errno));
  }
}

MilterClient::~MilterClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint32_t MilterClient::negotiate(std::uint32_t steps) {
  std::string data;
  put32(data, kMilterVersion);
  put32(data, kAllActions);
  put32(data, steps);
  send('O', data);
  const auto [command, reply] = receive();
  if (command != 'O' || reply.size() < 12) throw MilterError("bad option negotiation reply");
  return get32(reply, 8);
}

void MilterClient::connect_and_helo(const std::string& client_ip, const std::string& helo) {
  std::string connect = helo + '\0' + '4';
  put16(connect, 25);
  connect += client_ip + '\0';
  if (exchange('C', connect) != 'c') throw MilterError("connect not answered continue");
  if (exchange('H', helo + '\0') != 'c') throw MilterError("HELO not answered continue");
}

char MilterClient::mail_from(const std::string& address, const std::string& queue_id) {
  send('D', std::string("M") + pair("i", queue_id));
  return exchange('M', "<" + address + ">" + '\0');
}

char MilterClient::rcpt_to(const std::string& address) {
  return exchange('R', "<" + address + ">" + '\0');
}

char MilterClient::header(const std::string& name, const std::string& value) {
  return exchange('L', pair(name, value));
}

char MilterClient::end_of_headers() { return exchange('N', ""); }

char MilterClient::body(const std::string& chunk) { return exchange('B', chunk); }

EndOfMessage MilterClient::end_of_message() {
  send('E', "");
  EndOfMessage result;
  for (;;) {
    auto [command, data] = receive();
    if (command == 'i' && data.size() >= 4) {  // insheader: index, name, value
      data.erase(0, 4);
    }
    if (command == 'i' || command == 'h') {
      const std::size_t nul = data.find('\0');
      std::string name = data.substr(0, nul);
      std::string value = nul == std::string::npos ? std::string() : data.substr(nul + 1);
      if (!value.empty() && value.back() == '\0') value.pop_back();
      result.added.emplace_back(std::move(name), std::move(value));
      continue;
    }
    if (command == 'p' || command == 'm' || command == 'e' || command == '+' || command == '-' ||
        command == 'q') {
      continue;  // progress, chgheader, chgfrom, addrcpt, delrcpt, quarantine
    }
    result.reply = command;
    if (command == 'y') result.reply_text = data;
    return result;
  }
}

void MilterClient::abort_message() { send('A', ""); }

void MilterClient::quit() { send('Q', ""); }

void MilterClient::send(char command, const std::string& data) {
  std::string packet;
  put32(packet, static_cast<std::uint32_t>(data.size() + 1));
  packet.push_back(command);
  packet += data;
  std::size_t done = 0;
  while (done < packet.size()) {
    const ssize_t n = ::send(fd_, packet.data() + done, packet.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw MilterError("milter connection: send failed");
    done += static_cast<std::size_t>(n);
  }
}

void MilterClient::read_exactly(char* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::recv(fd_, out + done, size - done, 0);
    if (n == 0) throw MilterError("milter connection closed by the filter");
    if (n < 0 && errno == ECONNRESET) throw MilterError("milter connection reset by the filter");
    if (n < 0) throw MilterError("milter connection: no reply (timeout)");
    done += static_cast<std::size_t>(n);
  }
}

std::pair<char, std::string> MilterClient::receive() {
  char length_bytes[4];
  read_exactly(length_bytes, 4);
  std::uint32_t length = 0;
  std::memcpy(&length, length_bytes, 4);
  length = ntohl(length);
  if (length == 0 || length > kMaxReplyBytes) throw MilterError("bad reply length");
  std::string packet(length, '\0');
  read_exactly(packet.data(), length);
  return {packet[0], packet.substr(1)};
}

bool MilterClient::closed_by_peer() {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

char MilterClient::exchange(char command, const std::string& data) {
  send(command, data);
  return receive().first;
}

}  // namespace authmilter::testing

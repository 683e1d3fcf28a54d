#include "milter_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace authmilter::test_support {
namespace {

void put32(std::string& out, std::uint32_t value) {
  const std::uint32_t net = htonl(value);
  out.append(reinterpret_cast<const char*>(&net), 4);
}

void put16(std::string& out, std::uint16_t value) {
  const std::uint16_t net = htons(value);
  out.append(reinterpret_cast<const char*>(&net), 2);
}

std::uint32_t get32(std::string_view in, std::size_t at) {
  std::uint32_t net = 0;
  std::memcpy(&net, in.data() + at, 4);
  return ntohl(net);
}

std::string nul_terminated(std::string_view text) {
  std::string out(text);
  out.push_back('\0');
  return out;
}

void set_timeouts(int fd, std::chrono::seconds timeout) {
  const timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool is_verdict(char reply) {
  switch (reply) {
    case kReplyAccept:
    case kReplyContinue:  // at end of message, continue means accept
    case kReplyDiscard:
    case kReplyReject:
    case kReplyTempfail:
    case kReplyReplyCode:
      return true;
    default:
      return false;
  }
}

std::string EomOutcome::authentication_results() const {
  for (const Reply& change : changes) {
    std::string_view data = change.data;
    // SMFIR_INSHEADER carries a 4-octet index first; SMFIR_ADDHEADER does not.
    if (change.command == kReplyInsHeader && data.size() >= 4) {
      data.remove_prefix(4);
    } else if (change.command != kReplyAddHeader) {
      continue;
    }
    const std::size_t nul = data.find('\0');
    if (nul == std::string_view::npos) continue;
    if (!iequals(data.substr(0, nul), "Authentication-Results")) continue;
    std::string_view value = data.substr(nul + 1);
    if (const std::size_t end = value.find('\0'); end != std::string_view::npos) {
      value = value.substr(0, end);
    }
    return std::string(value);
  }
  return {};
}

std::string milter_packet(char command, std::string_view data) {
  std::string packet;
  packet.reserve(data.size() + 5);
  put32(packet, static_cast<std::uint32_t>(data.size() + 1));
  packet.push_back(command);
  packet.append(data);
  return packet;
}

std::string negotiate_packet(std::uint32_t steps) {
  std::string data;
  put32(data, kMilterVersion);
  put32(data, kAllActions);
  put32(data, steps | kProtoHdrLeadspc);
  return milter_packet(kCmdOptneg, data);
}

std::string connect_packet(std::string_view hostname, std::string_view client_ip,
                           std::uint16_t port) {
  std::string data = nul_terminated(hostname);
  data.push_back(client_ip.find(':') == std::string_view::npos ? '4' : '6');
  put16(data, port);
  data += nul_terminated(client_ip);
  return milter_packet(kCmdConnect, data);
}

std::string helo_packet(std::string_view helo) {
  return milter_packet(kCmdHelo, nul_terminated(helo));
}

std::vector<Stage> message_stages(const MilterMessage& message) {
  std::vector<Stage> stages;
  // The queue id macro, as Postfix sends it before MAIL FROM ({i} for SMFIC_MAIL).
  stages.push_back(
      {kCmdMacro,
       milter_packet(kCmdMacro, "M" + nul_terminated("i") + nul_terminated(message.queue_id)),
       false});
  stages.push_back({kCmdMail, milter_packet(kCmdMail, nul_terminated(message.mail_from)), true});
  for (const std::string& recipient : message.recipients) {
    stages.push_back({kCmdRcpt, milter_packet(kCmdRcpt, nul_terminated(recipient)), true});
  }
  for (const auto& [name, value] : message.headers) {
    stages.push_back({kCmdHeader,
                      milter_packet(kCmdHeader, nul_terminated(name) + nul_terminated(value)),
                      true});
  }
  stages.push_back({kCmdEoh, milter_packet(kCmdEoh, ""), true});
  for (std::size_t pos = 0; pos < message.body.size(); pos += kBodyChunk) {
    stages.push_back(
        {kCmdBody, milter_packet(kCmdBody, std::string_view(message.body).substr(pos, kBodyChunk)),
         true});
  }
  stages.push_back({kCmdEom, milter_packet(kCmdEom, ""), true});
  return stages;
}

std::optional<Reply> ReplyReader::next() {
  if (buffer_.size() < 4) return std::nullopt;
  const std::uint32_t length = get32(buffer_, 0);
  if (length == 0 || length > kMaxReplyLength) {
    throw std::runtime_error("milter reply with bad length " + std::to_string(length));
  }
  if (buffer_.size() < 4 + static_cast<std::size_t>(length)) return std::nullopt;
  Reply reply{buffer_[4], buffer_.substr(5, length - 1)};
  buffer_.erase(0, 4 + static_cast<std::size_t>(length));
  return reply;
}

MilterClient MilterClient::tcp(std::uint16_t port, std::chrono::seconds io_timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  set_timeouts(fd, io_timeout);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as Postfix does
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to the milter on 127.0.0.1:" + std::to_string(port));
  }
  return MilterClient(fd);
}

MilterClient MilterClient::unix_socket(const std::string& path, std::chrono::seconds io_timeout) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  set_timeouts(fd, io_timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to the milter on " + path);
  }
  return MilterClient(fd);
}

MilterClient::MilterClient(MilterClient&& other) noexcept
    : fd_(other.fd_),
      reader_(std::move(other.reader_)),
      offered_(other.offered_),
      steps_(other.steps_) {
  other.fd_ = -1;
}

MilterClient::~MilterClient() {
  if (fd_ < 0) return;
  const std::string quit = milter_packet(kCmdQuit, "");
  (void)::send(fd_, quit.data(), quit.size(), MSG_NOSIGNAL);
  ::close(fd_);
}

void MilterClient::write_all(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("milter connection: send failed");
    done += static_cast<std::size_t>(n);
  }
}

void MilterClient::send(char command, std::string_view data) {
  write_all(milter_packet(command, data));
}

Reply MilterClient::receive() {
  for (;;) {
    if (std::optional<Reply> reply = reader_.next()) return std::move(*reply);
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n == 0) throw std::runtime_error("milter connection: closed by the milter");
    if (errno == ECONNRESET) throw std::runtime_error("milter connection: reset by the milter");
    if (n < 0) throw std::runtime_error("milter connection: no reply (timeout)");
    reader_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

void MilterClient::expect_continue(char command, std::string_view data) {
  send(command, data);
  const Reply reply = receive();
  if (reply.command != kReplyContinue) {
    throw std::runtime_error(std::string("stage '") + command + "' answered '" + reply.command +
                             "' " + reply.data);
  }
}

std::uint32_t MilterClient::negotiate(std::uint32_t steps) {
  write_all(negotiate_packet(steps));
  const Reply reply = receive();
  if (reply.command != kCmdOptneg || reply.data.size() < 12) {
    throw std::runtime_error("bad option negotiation reply");
  }
  const std::uint32_t asked = get32(reply.data, 8);
  if ((asked & kProtoHdrLeadspc) == 0) {
    throw std::runtime_error("the milter refused SMFIP_HDR_LEADSPC");
  }
  if ((asked & ~(steps | kProtoHdrLeadspc)) != 0) {
    throw std::runtime_error("the milter asked for protocol steps not offered");
  }
  offered_ = steps;
  steps_ = asked;
  return asked;
}

bool MilterClient::answered(char command) const {
  switch (command) {
    case kCmdConnect:
      return (steps_ & kProtoNrConn) == 0;
    case kCmdHelo:
      return (steps_ & kProtoNrHelo) == 0;
    case kCmdMail:
      return (steps_ & kProtoNrMail) == 0;
    case kCmdRcpt:
      return (steps_ & kProtoNrRcpt) == 0;
    case kCmdData:
      return (steps_ & kProtoNrData) == 0;
    case kCmdHeader:
      return (steps_ & kProtoNrHdr) == 0;
    case kCmdEoh:
      return (steps_ & kProtoNrEoh) == 0;
    case kCmdBody:
      return (steps_ & kProtoNrBody) == 0;
    case kCmdMacro:
    case kCmdQuit:
    case kCmdAbort:
      return false;
    default:
      return true;
  }
}

void MilterClient::connect_and_helo(std::string_view helo, std::string_view client_ip) {
  for (const std::string& packet : {connect_packet(helo, client_ip), helo_packet(helo)}) {
    write_all(packet);
    if (!answered(packet[4])) continue;
    const Reply reply = receive();
    if (reply.command != kReplyContinue) {
      throw std::runtime_error(std::string("connect/HELO answered '") + reply.command + "'");
    }
  }
}

EomOutcome MilterClient::message(const MilterMessage& message) {
  std::vector<Stage> stages = message_stages(message);
  if ((offered_ & kProtoNoData) != 0 && (steps_ & kProtoNoData) == 0) {
    // Offered like Postfix and DATA not declined: DATA goes after the last RCPT.
    const auto first_header = std::find_if(stages.begin(), stages.end(), [](const Stage& stage) {
      return stage.command != kCmdMacro && stage.command != kCmdMail && stage.command != kCmdRcpt;
    });
    stages.insert(first_header, Stage{kCmdData, milter_packet(kCmdData, ""), true});
  }
  for (const Stage& stage : stages) {
    write_all(stage.packet);
    if (!stage.answered || !answered(stage.command)) continue;
    if (stage.command == kCmdEom) break;
    const Reply reply = receive();
    if (reply.command != kReplyContinue) {
      throw std::runtime_error(std::string("stage '") + stage.command + "' answered '" +
                               reply.command + "' " + reply.data);
    }
  }
  EomOutcome outcome;
  for (;;) {
    Reply reply = receive();
    if (is_verdict(reply.command)) {
      outcome.verdict = reply.command;
      outcome.verdict_text = std::move(reply.data);
      return outcome;
    }
    if (reply.command != kReplyProgress) outcome.changes.push_back(std::move(reply));
  }
}

}  // namespace authmilter::test_support

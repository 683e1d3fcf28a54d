// authmilter::integration net — loopback sockets for the integration harness.
//
// What: an owning file descriptor, free-port selection (bind to port 0, read it, close), TCP
//   connect and readiness probes, and a line-oriented connection whose every read and write
//   is bounded by a deadline (poll(2) with timeouts; nothing here blocks without one).
// Limits: kMaxLineBytes per protocol line (SMTP allows 1000 octets; Postfix folds long
//   headers, our own helpers never send more than a few hundred).
// Security: binds and connects to 127.0.0.1 only; nothing listens on other interfaces.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authmilter::integration {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Longest protocol line we accept before giving up on the peer.
inline constexpr std::size_t kMaxLineBytes = 1024 * 1024;

inline Deadline deadline_in(Clock::duration d) { return Clock::now() + d; }

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A listening TCP socket on 127.0.0.1:`port` (0: the kernel picks). Throws on failure.
UniqueFd listen_tcp(std::uint16_t port, int backlog);
// The local port a socket is bound to.
std::uint16_t local_port(int fd);
// A port on 127.0.0.1 that was free for both TCP and UDP a moment ago (nsd binds both).
// Another process may take it before the caller binds; callers that start servers retry.
std::uint16_t pick_free_port();

// Connects to 127.0.0.1:`port`; an invalid fd when refused or when `deadline` passes.
UniqueFd connect_tcp(std::uint16_t port, Deadline deadline);
// True when something accepts connections on 127.0.0.1:`port` before `deadline`.
bool wait_for_tcp_port(std::uint16_t port, Deadline deadline);

// Waits until `fd` is readable (or `also` is readable, when given); false on timeout.
enum class Readiness { kReady, kOther, kTimeout };
Readiness wait_readable(int fd, Deadline deadline, int also = -1);

// CRLF line protocol over a connected socket. Lines are returned without the CRLF (a bare
// LF also ends a line, as Postfix and sendmail accept). Every call is bounded.
class LineConnection {
 public:
  explicit LineConnection(UniqueFd fd, int stop_fd = -1) : fd_(std::move(fd)), stop_fd_(stop_fd) {}

  // One line, or nullopt on EOF, error, overlong line, stop request or deadline.
  std::optional<std::string> read_line(Deadline deadline);
  // Writes all of `data`; false on error, stop request or deadline.
  bool write_all(std::string_view data, Deadline deadline);
  bool valid() const { return fd_.valid(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  int stop_fd_;
  std::string buffer_;
};

}  // namespace authmilter::integration

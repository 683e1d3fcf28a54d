// authmilter::integration smtp_sink — the next hop Postfix delivers to.
//
// What: an SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on
//   127.0.0.1 at a kernel-chosen port, inside the test process. It accepts every message and
//   keeps its envelope and its data exactly as received (dot-unstuffed, CRLF line ends), so
//   tests can assert the headers Postfix and the milter left on it.
// Waiting: wait_for() blocks on a condition variable until a matching message arrives or the
//   timeout passes — no polling, no unbounded waits.
// Limits: kMaxSinkConnections concurrent sessions (Postfix's smtp client opens several),
//   kMaxSinkMessageBytes per message (552 beyond), kSinkIdleTimeout per command.
// Security: listens on 127.0.0.1 only; greets as sink.test.example, never as Postfix's own
//   myhostname (Postfix would detect a mail loop).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net.h"

namespace authmilter::integration {

inline constexpr std::size_t kMaxSinkConnections = 32;
inline constexpr std::size_t kMaxSinkMessageBytes = 32 * 1024 * 1024;
inline constexpr std::chrono::seconds kSinkIdleTimeout{60};

struct SinkMessage {
  std::string helo;
  std::string mail_from;  // without angle brackets; empty for the null sender
  std::vector<std::string> recipients;
  std::string data;  // header and body, CRLF line ends, without the final "."
};

class SmtpSink {
 public:
  SmtpSink();  // binds and starts serving; throws on failure
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  std::uint16_t port() const { return port_; }
  // The first message whose data contains `needle`, waiting up to `timeout` for it.
  std::optional<SinkMessage> wait_for(std::string_view needle, std::chrono::milliseconds timeout);
  // All messages received so far whose data contains `needle`.
  std::vector<SinkMessage> find(std::string_view needle) const;
  std::size_t message_count() const;
  // Stops accepting and ends all sessions; idempotent.
  void stop();

 private:
  void accept_loop();
  void serve(UniqueFd fd);

  UniqueFd listener_;
  UniqueFd stop_read_;
  UniqueFd stop_write_;
  std::uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<SinkMessage> messages_;
  std::vector<std::thread> sessions_;
  std::size_t active_sessions_ = 0;
  bool stopped_ = false;
};

}  // namespace authmilter::integration

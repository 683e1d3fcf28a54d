#include "smtp_sink.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace authmilter::integration {
namespace {

bool starts_with_nocase(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(line[i])) !=
        std::toupper(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// "MAIL FROM:<a@b> SIZE=10" -> "a@b"; nullopt when there are no angle brackets.
std::optional<std::string> path_argument(std::string_view line) {
  auto open = line.find('<');
  auto close = line.find('>', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(open + 1, close - open - 1));
}

}  // namespace

SmtpSink::SmtpSink() {
  listener_ = listen_tcp(0, 64);
  port_ = local_port(listener_.get());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  stop_read_.reset(fds[0]);
  stop_write_.reset(fds[1]);
  acceptor_ = std::thread([this] { accept_loop(); });
}

SmtpSink::~SmtpSink() { stop(); }

void SmtpSink::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Closing nothing yet: a byte on the stop pipe wakes every poll() in every session.
  [[maybe_unused]] auto ignored = ::write(stop_write_.get(), "x", 1);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> sessions;
  {
    std::lock_guard lock(mutex_);
    sessions.swap(sessions_);
  }
  for (auto& t : sessions) t.join();
  arrived_.notify_all();
}

void SmtpSink::accept_loop() {
  while (true) {
    Readiness r =
        wait_readable(listener_.get(), deadline_in(std::chrono::hours(1)), stop_read_.get());
    if (r == Readiness::kOther) return;
    if (r == Readiness::kTimeout) continue;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    if (active_sessions_ >= kMaxSinkConnections) {
      // Refuse politely; Postfix retries the delivery later.
      LineConnection c(std::move(conn));
      c.write_all("421 4.3.2 too many connections\r\n", deadline_in(std::chrono::seconds(1)));
      continue;
    }
    ++active_sessions_;
    sessions_.emplace_back([this, fd = std::move(conn)]() mutable { serve(std::move(fd)); });
  }
}

void SmtpSink::serve(UniqueFd fd) {
  LineConnection conn(std::move(fd), stop_read_.get());
  auto reply = [&](std::string_view text) {
    return conn.write_all(std::string(text) + "\r\n", deadline_in(kSinkIdleTimeout));
  };
  SinkMessage current;
  std::string helo;
  bool have_sender = false;
  if (reply("220 sink.test.example ESMTP integration sink")) {
    while (auto line = conn.read_line(deadline_in(kSinkIdleTimeout))) {
      std::string_view cmd(*line);
      if (starts_with_nocase(cmd, "EHLO ")) {
        helo = std::string(cmd.substr(5));
        have_sender = false;
        if (!reply(
                "250-sink.test.example\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES"))
          break;
      } else if (starts_with_nocase(cmd, "HELO ")) {
        helo = std::string(cmd.substr(5));
        have_sender = false;
        if (!reply("250 sink.test.example")) break;
      } else if (starts_with_nocase(cmd, "MAIL FROM:")) {
        auto path = path_argument(cmd);
        if (!path) {
          if (!reply("501 5.5.4 bad sender")) break;
          continue;
        }
        current = SinkMessage{};
        current.helo = helo;
        current.mail_from = *path;
        have_sender = true;
        if (!reply("250 2.1.0 Ok")) break;
      } else if (starts_with_nocase(cmd, "RCPT TO:")) {
        auto path = path_argument(cmd);
        if (!have_sender || !path) {
          if (!reply("503 5.5.1 need MAIL and a path")) break;
          continue;
        }
        current.recipients.push_back(*path);
        if (!reply("250 2.1.5 Ok")) break;
      } else if (starts_with_nocase(cmd, "DATA")) {
        if (!have_sender || current.recipients.empty()) {
          if (!reply("503 5.5.1 need RCPT")) break;
          continue;
        }
        if (!reply("354 go ahead")) break;
        bool complete = false;
        bool too_big = false;
        while (auto data_line = conn.read_line(deadline_in(kSinkIdleTimeout))) {
          if (*data_line == ".") {
            complete = true;
            break;
          }
          std::string_view l(*data_line);
          if (!l.empty() && l.front() == '.') l.remove_prefix(1);  // RFC 5321 §4.5.2
          if (current.data.size() + l.size() + 2 > kMaxSinkMessageBytes) too_big = true;
          if (!too_big) {
            current.data.append(l);
            current.data.append("\r\n");
          }
        }
        if (!complete) break;
        have_sender = false;
        if (too_big) {
          if (!reply("552 5.3.4 message too big for the sink")) break;
          continue;
        }
        {
          std::lock_guard lock(mutex_);
          messages_.push_back(std::move(current));
        }
        arrived_.notify_all();
        current = SinkMessage{};
        if (!reply("250 2.0.0 Ok: stored")) break;
      } else if (starts_with_nocase(cmd, "RSET")) {
        have_sender = false;
        if (!reply("250 2.0.0 Ok")) break;
      } else if (starts_with_nocase(cmd, "NOOP")) {
        if (!reply("250 2.0.0 Ok")) break;
      } else if (starts_with_nocase(cmd, "QUIT")) {
        reply("221 2.0.0 Bye");
        break;
      } else {
        if (!reply("502 5.5.2 command not implemented")) break;
      }
    }
  }
  conn.close();
  std::lock_guard lock(mutex_);
  --active_sessions_;
}

std::optional<SinkMessage> SmtpSink::wait_for(std::string_view needle,
                                              std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<SinkMessage> found;
  arrived_.wait_for(lock, timeout, [&] {
    for (const auto& m : messages_) {
      if (m.data.find(needle) != std::string::npos) {
        found = m;
        return true;
      }
    }
    return stopped_;
  });
  return found;
}

std::vector<SinkMessage> SmtpSink::find(std::string_view needle) const {
  std::lock_guard lock(mutex_);
  std::vector<SinkMessage> out;
  std::copy_if(messages_.begin(), messages_.end(), std::back_inserter(out),
               [&](const SinkMessage& m) { return m.data.find(needle) != std::string::npos; });
  return out;
}

std::size_t SmtpSink::message_count() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

}  // namespace authmilter::integration

// authmilter::integration smtp_client — the sending side of every integration test.
//
// What: an SMTP client (RFC 5321) that speaks to the private Postfix: greeting, EHLO, the
//   Postfix XCLIENT extension (XCLIENT_README: ADDR, NAME, HELO; the server answers with a
//   fresh 220 greeting and the client must EHLO again) so Postfix and the milter see a
//   client address other than 127.0.0.1, then MAIL, RCPT, DATA with dot-stuffing.
//   Every reply is kept with its code, RFC 3463 enhanced status code and text.
// send_mail() stops at the first reply that is not positive and says at which stage;
//   send_session() runs several transactions over one connection (RSET after a refusal).
// Limits: every read and write is bounded by the caller's overall deadline
//   (kSmtpSessionTimeout by default); reply lines are capped by kMaxLineBytes (net.h), a
//   reply by kMaxReplyLines.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.h"

namespace authmilter::integration {

inline constexpr std::chrono::seconds kSmtpSessionTimeout{40};
inline constexpr std::size_t kMaxReplyLines = 100;

struct SmtpReply {
  int code = 0;          // 0: no reply (connection lost or timed out)
  std::string enhanced;  // "5.7.23", empty when the reply has none
  std::string text;      // the text after the enhanced code; lines joined with '\n'

  bool positive() const { return code >= 200 && code < 400; }
  std::string str() const;  // "550 5.7.23 text" for failure messages
};

// Parses the lines of one reply ("250-a", "250 b"); code 0 when malformed.
SmtpReply parse_reply(const std::vector<std::string>& lines);

enum class SmtpStage {
  kConnect,
  kGreeting,
  kEhlo,
  kXclient,
  kXclientEhlo,
  kMailFrom,
  kRcptTo,
  kData,
  kEndOfData,
};
std::string_view to_string(SmtpStage stage);

struct Envelope {
  // When set, XCLIENT ADDR=<this> NAME=[UNAVAILABLE] HELO=<helo> is sent first.
  std::string xclient_addr;
  std::string helo = "mail.spf-pass.example";
  std::string mail_from;  // without brackets; empty: the null sender <>
  std::vector<std::string> recipients;
  std::string data;  // header + body; LF or CRLF line ends, dot-stuffed on the way out
};

struct SmtpOutcome {
  SmtpStage stage = SmtpStage::kConnect;  // where the session ended
  SmtpReply reply;                        // the reply at that stage
  std::string queue_id;                   // from "250 2.0.0 Ok: queued as X"
  std::vector<std::string> transcript;    // "C: ..." / "S: ..." lines, for failure messages

  // Postfix took the message (250 after the final dot).
  bool accepted() const { return stage == SmtpStage::kEndOfData && reply.code == 250; }
  std::string describe() const;  // stage, reply and transcript
};

// One complete SMTP session to 127.0.0.1:`port` delivering `envelope`, ending with QUIT.
SmtpOutcome send_mail(std::uint16_t port, const Envelope& envelope,
                      std::chrono::milliseconds timeout = kSmtpSessionTimeout);
// Several transactions in one session (EHLO and XCLIENT from the first envelope), one
// outcome per envelope; a single outcome when the session fails before the first MAIL.
std::vector<SmtpOutcome> send_session(std::uint16_t port, const std::vector<Envelope>& mails,
                                      std::chrono::milliseconds timeout = kSmtpSessionTimeout);

// Converts LF or CRLF line ends to CRLF and dot-stuffs (RFC 5321 §4.5.2); the result ends
// with CRLF and excludes the terminating ".".
std::string smtp_data_encode(std::string_view data);

}  // namespace authmilter::integration

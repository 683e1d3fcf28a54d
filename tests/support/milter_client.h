// The MTA side of the milter protocol (version 6, as Postfix and Sendmail speak it), for
// benchmarks, the soak program and tests that drive the real daemon over its socket.
//
// What: packets are built by plain functions (milter_packet(), negotiate_packet(), ...), so a
//   caller with its own event loop (tests/soak) can send them on non-blocking sockets and
//   decode replies with ReplyReader; MilterClient is the blocking client on top (one socket,
//   every read and write bounded by a timeout) for callers that run a conversation per thread.
//   The client offers every action and SMFIP_HDR_LEADSPC and no "no reply" steps, so every
//   stage except macros, abort and quit is answered; MilterClient::negotiate(kPostfixSteps)
//   offers what Postfix offers instead (every SMFIP_NR_* step, SMFIP_NODATA, ...), and then
//   waits for replies only in the steps the milter did not take without reply, and sends
//   DATA unless the milter asked for SMFIP_NODATA, as Postfix does.
// Protocol: libmilter's wire format: a 4-octet big-endian length, one command octet, data;
//   command and reply codes as in libmilter/mfdef.h (SMFIC_*, SMFIR_*).
// Limits: a reply longer than kMaxReplyLength is an error; a body is sent in kBodyChunk
//   pieces (MILTER_CHUNK_SIZE), as the MTAs do.
// Security: test code only, loopback sockets only; nothing here is linked into the daemon.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authmilter::test_support {

inline constexpr std::uint32_t kMilterVersion = 6;
inline constexpr std::uint32_t kAllActions = 0x1ff;
inline constexpr std::uint32_t kProtoHdrLeadspc = 0x100000;  // SMFIP_HDR_LEADSPC
// Protocol steps (SMFIP_*, libmilter/mfdef.h) the client acts on when the milter asks.
inline constexpr std::uint32_t kProtoNoData = 0x200;    // SMFIP_NODATA
inline constexpr std::uint32_t kProtoNrConn = 0x1000;   // SMFIP_NR_CONN
inline constexpr std::uint32_t kProtoNrHelo = 0x2000;   // SMFIP_NR_HELO
inline constexpr std::uint32_t kProtoNrMail = 0x4000;   // SMFIP_NR_MAIL
inline constexpr std::uint32_t kProtoNrRcpt = 0x8000;   // SMFIP_NR_RCPT
inline constexpr std::uint32_t kProtoNrData = 0x10000;  // SMFIP_NR_DATA
inline constexpr std::uint32_t kProtoNrHdr = 0x80;      // SMFIP_NR_HDR
inline constexpr std::uint32_t kProtoNrEoh = 0x40000;   // SMFIP_NR_EOH
inline constexpr std::uint32_t kProtoNrBody = 0x80000;  // SMFIP_NR_BODY
// What Postfix 3.x offers with milter_protocol = 6 (milter8.c MILTER8_V6_PROTO_MASK): every
// step flag from SMFIP_NOCONNECT to SMFIP_HDR_LEADSPC.
inline constexpr std::uint32_t kPostfixSteps = 0x1fffff;
inline constexpr std::size_t kBodyChunk = 65535;  // MILTER_CHUNK_SIZE
inline constexpr std::size_t kMaxReplyLength = 16 * 1024 * 1024;

// Commands (SMFIC_*).
inline constexpr char kCmdAbort = 'A';
inline constexpr char kCmdBody = 'B';
inline constexpr char kCmdConnect = 'C';
inline constexpr char kCmdData = 'T';
inline constexpr char kCmdMacro = 'D';
inline constexpr char kCmdEom = 'E';
inline constexpr char kCmdHelo = 'H';
inline constexpr char kCmdHeader = 'L';
inline constexpr char kCmdMail = 'M';
inline constexpr char kCmdEoh = 'N';
inline constexpr char kCmdOptneg = 'O';
inline constexpr char kCmdQuit = 'Q';
inline constexpr char kCmdRcpt = 'R';

// Replies (SMFIR_*).
inline constexpr char kReplyAccept = 'a';
inline constexpr char kReplyContinue = 'c';
inline constexpr char kReplyDiscard = 'd';
inline constexpr char kReplyAddHeader = 'h';
inline constexpr char kReplyInsHeader = 'i';
inline constexpr char kReplyChgHeader = 'm';
inline constexpr char kReplyProgress = 'p';
inline constexpr char kReplyQuarantine = 'q';
inline constexpr char kReplyReject = 'r';
inline constexpr char kReplyTempfail = 't';
inline constexpr char kReplyReplyCode = 'y';

struct Reply {
  char command = 0;
  std::string data;
};

// True for a reply that ends the MTA's wait at end of message (a verdict); false for the
// modifications and progress notes that may come before it.
bool is_verdict(char reply);

// One message as the MTA hands it over: envelope, header fields and the body with CRLF line
// ends.
struct MilterMessage {
  std::string queue_id = "4ABCD1234";
  std::string mail_from;                // with angle brackets
  std::vector<std::string> recipients;  // with angle brackets
  // Name and value; the value as it follows the colon, leading space included, as an MTA
  // sends it once SMFIP_HDR_LEADSPC is agreed (mail::HeaderField::raw_value).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// What the MTA saw at end of message.
struct EomOutcome {
  char verdict = 0;            // kReplyAccept, kReplyReject, ...
  std::string verdict_text;    // the SMTP reply text of kReplyReplyCode
  std::vector<Reply> changes;  // header insertions and changes, quarantine, in order
  // The value of the first inserted or added Authentication-Results field ("" when none).
  std::string authentication_results() const;
};

// ---- packets ----

std::string milter_packet(char command, std::string_view data);
std::string negotiate_packet(std::uint32_t steps = kProtoHdrLeadspc);
std::string connect_packet(std::string_view hostname, std::string_view client_ip,
                           std::uint16_t port = 25);
std::string helo_packet(std::string_view helo);
// One SMFIC_* packet per stage of `message`, in order: macros (queue id), MAIL, each RCPT,
// each header, EOH, the body chunks, EOM. Each entry says whether the MTA waits for a reply
// (every command except the macros).
struct Stage {
  char command = 0;
  std::string packet;
  bool answered = true;
};
std::vector<Stage> message_stages(const MilterMessage& message);

// Decodes replies from a byte stream read in arbitrary pieces.
class ReplyReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole reply, if one has arrived; throws std::runtime_error on a bad length.
  std::optional<Reply> next();

 private:
  std::string buffer_;
};

// ---- a blocking client ----

class MilterClient {
 public:
  // TCP to 127.0.0.1:`port`.
  static MilterClient tcp(std::uint16_t port, std::chrono::seconds io_timeout = kDefaultTimeout);
  // A unix-domain socket.
  static MilterClient unix_socket(const std::string& path,
                                  std::chrono::seconds io_timeout = kDefaultTimeout);
  MilterClient(MilterClient&& other) noexcept;
  MilterClient& operator=(MilterClient&&) = delete;
  MilterClient(const MilterClient&) = delete;
  ~MilterClient();  // sends SMFIC_QUIT (ignoring errors), closes

  // Option negotiation offering `steps` (SMFIP_* flags; SMFIP_HDR_LEADSPC always); throws when
  // the daemon refuses SMFIP_HDR_LEADSPC or answers badly. Returns the steps the milter asked.
  std::uint32_t negotiate(std::uint32_t steps = kProtoHdrLeadspc);
  // connect + HELO, each answered with continue (else throws).
  void connect_and_helo(std::string_view helo, std::string_view client_ip);
  // Every stage of `message` up to end of message; throws when a stage before EOM is not
  // answered with continue or the connection fails.
  EomOutcome message(const MilterMessage& message);

  void send(char command, std::string_view data);
  Reply receive();
  // send(), then throws unless the reply is continue.
  void expect_continue(char command, std::string_view data);

  static constexpr std::chrono::seconds kDefaultTimeout{10};

 private:
  explicit MilterClient(int fd) : fd_(fd) {}
  void write_all(std::string_view bytes);

  // Whether the MTA waits for a reply to `command`, given the negotiated steps.
  bool answered(char command) const;

  int fd_ = -1;
  ReplyReader reader_;
  std::uint32_t offered_ = 0;  // the steps offered in the negotiation
  std::uint32_t steps_ = 0;    // what the milter asked for
};

}  // namespace authmilter::test_support

// authmilter::testing MilterClient — the MTA side of the milter protocol (version 6), for
// tests and benchmarks that talk to the daemon directly, without an MTA.
//
// What: one connection (TCP to 127.0.0.1:PORT or a unix socket), raw commands and replies
//   (4-byte length, command byte, data), option negotiation with chosen protocol steps, and
//   the stages of a message: connect, HELO, MAIL, RCPT, header fields, end of headers, body,
//   end of message; end_of_message() collects the header edits and the final reply.
// Bounds: every read and write gives up after the timeout given at construction; a reply
//   longer than kMaxReplyBytes is an error. Loopback only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace authmilter::testing {

inline constexpr std::uint32_t kMilterVersion = 6;
inline constexpr std::uint32_t kAllActions = 0x1ff;
inline constexpr std::uint32_t kStepHdrLeadspc = 0x100000;  // SMFIP_HDR_LEADSPC
inline constexpr std::uint32_t kStepMds256K = 0x10000000;   // SMFIP_MDS_256K
inline constexpr std::uint32_t kStepMds1M = 0x20000000;     // SMFIP_MDS_1M
inline constexpr std::size_t kBodyChunk = 65535;            // MILTER_CHUNK_SIZE
inline constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;

struct MilterError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The reply to end of message.
struct EndOfMessage {
  char reply = 0;                                          // 'a' accept, 'r', 't', 'y', ...
  std::string reply_text;                                  // SMFIR_REPLYCODE text
  std::vector<std::pair<std::string, std::string>> added;  // insheader/addheader: name, value
};

class MilterClient {
 public:
  // `unix_path` empty: TCP to 127.0.0.1:`port`. Throws MilterError when it cannot connect.
  MilterClient(const std::string& unix_path, std::uint16_t port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~MilterClient();
  MilterClient(const MilterClient&) = delete;
  MilterClient& operator=(const MilterClient&) = delete;

  // Sends SMFIC_OPTNEG offering `steps`; returns the protocol steps the filter answered.
  std::uint32_t negotiate(std::uint32_t steps = kStepHdrLeadspc);
  // SMFIC_CONNECT (IPv4 `client_ip`) and SMFIC_HELO; each must be answered continue.
  void connect_and_helo(const std::string& client_ip, const std::string& helo);
  // SMFIC_MACRO for `stage` with one macro, then the stage itself; returns the reply command.
  char mail_from(const std::string& address, const std::string& queue_id);
  char rcpt_to(const std::string& address);
  char header(const std::string& name, const std::string& value);
  char end_of_headers();
  char body(const std::string& chunk);
  EndOfMessage end_of_message();
  void abort_message();  // SMFIC_ABORT (no reply)
  void quit();           // SMFIC_QUIT (no reply)

  void send(char command, const std::string& data);
  std::pair<char, std::string> receive();
  // Reads until the peer closes (true) or the timeout (false); discards what arrives.
  bool closed_by_peer();
  int fd() const { return fd_; }

 private:
  char exchange(char command, const std::string& data);
  void read_exactly(char* out, std::size_t size);
  int fd_ = -1;
};

}  // namespace authmilter::testing

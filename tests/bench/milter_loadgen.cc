// authmilter_milter_loadgen: the MTA side of the side-by-side benchmark
// (tests/bench/compare_milters.py, docs/PERFORMANCE.md "Side by side ...").
//
//   authmilter_milter_loadgen --dkim-record
//       prints the TXT strings of the benchmark key's record (rsa2048._domainkey.example.org)
//       as a zone file wants them: "..." "..." on one line.
//   authmilter_milter_loadgen --target SOCKET[,SOCKET2] [--expect N:TEXT]... [--concurrency C]
//                             [--messages N] [--seconds S] [--sizes 4096,20480,...]
//                             [--show-edits] [--visible-inserts]
//       SOCKET is unix:/path or inet:PORT@127.0.0.1. Prints one JSON object with the figures;
//       --show-edits also prints the first message's end-of-message edits per filter (stderr).
//       --visible-inserts: a header a filter inserts at index 0 goes below cleanup's own
//       Received: instead of above it, so the next filter sees it (what upstream OpenDKIM's
//       index 1 gives; Debian's OpenDKIM inserts at 0, and Postfix hides that header).
//
// What: plays Postfix 3.7 towards one milter or a chain of two. Protocol version 6; it offers
//   every action and every protocol bit Postfix offers (the SMFIP_NO* steps, the SMFIP_NR_*
//   no-reply bits, SMFIP_SKIP, SMFIP_HDR_LEADSPC, ...) and honours what each filter keeps: a
//   stage the filter turned off is not sent, a stage it marked no-reply is not waited for, a
//   body chunk answered with skip ends that filter's body. Macros go as Postfix's defaults
//   send them (milter_*_macros): j {daemon_name} {daemon_addr} v _ at connect; {mail_addr}
//   {mail_host} {mailer} at MAIL; i {rcpt_addr} {rcpt_host} {rcpt_mailer} at RCPT; i at DATA,
//   before each header, at end of headers, before each body chunk and at end of message; also
//   for an envelope stage the filter turned off (milter8_event() sends them first; content
//   stages it turned off get none); undefined ones such as {auth_authen} without SMTP AUTH
//   are left out, as Postfix does; a filter's own macro list from the negotiation restricts
//   them. Header values keep their leading space only for a filter that asked for
//   SMFIP_HDR_LEADSPC (else one space is eaten, as Postfix does); cleanup's own Received:
//   heads the header list and is never shown to a filter (insert positions count it, change
//   positions do not); folded header lines are joined with a bare LF, as Postfix keeps them;
//   the body goes with CRLF line ends in chunks of 65535 octets (MILTER_CHUNK_SIZE), each
//   copied once, from the shared message into the socket's buffer.
//   A new connection per message (negotiate, connect, HELO, MAIL, RCPT, DATA, headers, end of
//   headers, body, end of message, QUIT), as Postfix's smtpd and cleanup do with default
//   settings. For a chain: each envelope stage goes to milter 1, then milter 2; at end of DATA
//   the whole content goes to milter 1 up to its end-of-message verdict, its header edits
//   (add, insert, change, delete) are applied, and the edited content goes to milter 2, as
//   Postfix's cleanup does. C conversations run at once on one thread with epoll (non-blocking
//   sockets, TCP_NODELAY for inet), so the client costs little CPU.
// Checks: every reply is checked; an envelope stage must get continue, end of message accept
//   or continue, and `--expect N:TEXT` requires that milter N (1 or 2) add or insert an
//   Authentication-Results field containing TEXT in every message. The first unexpected reply
//   stops the run with exit status 1 and says what came back: a benchmark of a failing path
//   would measure the wrong thing.
// Figures (JSON on stdout): messages, seconds, msg/s; per message the total time (connect to
//   the last filter's verdict, QUIT not included) and the EOM time (end of message written
//   into milter 1's socket, behind any no-reply body chunks still in the kernel's buffer, to
//   the last filter's verdict): p50/p99 overall and by message size.
// Bounds: at most --messages messages (default 100000) and --seconds seconds (default 10) of
//   starting new ones; the count is rounded up to whole rounds of the size mix so each size
//   is measured as often; a conversation silent for 30 s fails the run.
// Security: benchmark code only; connects to the given sockets and nothing else.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_support.h"
#include "milter_client.h"

namespace authmilter::bench {
namespace {

using Clock = std::chrono::steady_clock;
using test_support::milter_packet;
using test_support::Reply;
using test_support::ReplyReader;

// What Postfix 3.7 offers (milter8.c, protocol version 6).
constexpr std::uint32_t kVersion = 6;
constexpr std::uint32_t kOfferedActions = 0x1ff;  // SMFIF_ADDHDRS ... SMFIF_SETSYMLIST
// SMFIP_NOCONNECT ... SMFIP_HDR_LEADSPC, SMFIP_NR_*, SMFIP_SKIP, SMFIP_RCPT_REJ: all 21 bits.
constexpr std::uint32_t kOfferedProtocol = 0x1fffff;

constexpr std::uint32_t kNoConnect = 0x1;
constexpr std::uint32_t kNoHelo = 0x2;
constexpr std::uint32_t kNoMail = 0x4;
constexpr std::uint32_t kNoRcpt = 0x8;
constexpr std::uint32_t kNoBody = 0x10;
constexpr std::uint32_t kNoHeaders = 0x20;
constexpr std::uint32_t kNoEoh = 0x40;
constexpr std::uint32_t kNrHeader = 0x80;
constexpr std::uint32_t kSkip = 0x400;
constexpr std::uint32_t kNrConnect = 0x1000;
constexpr std::uint32_t kNrHelo = 0x2000;
constexpr std::uint32_t kNrMail = 0x4000;
constexpr std::uint32_t kNrRcpt = 0x8000;
constexpr std::uint32_t kNrData = 0x10000;
constexpr std::uint32_t kNrEoh = 0x40000;
constexpr std::uint32_t kNrBody = 0x80000;
constexpr std::uint32_t kHeaderLeadingSpace = 0x100000;
constexpr std::uint32_t kNoData = 0x200;

constexpr char kCmdData = 'T';
constexpr char kReplySkip = 's';
constexpr auto kSilenceLimit = std::chrono::seconds(30);

// Macro stages (SMFIM_*), the index into a filter's macro list.
enum MacroStage {
  kMacroConnect = 0,
  kMacroHelo,
  kMacroMail,
  kMacroRcpt,
  kMacroData,
  kMacroEom,
  kMacroEoh,
  kMacroStages
};

const char kClientName[] = "mail.example.org";
const char kQueueId[] = "4ABCD1234";

// ---- the messages ----

struct BenchMessage {
  std::size_t size = 0;                                      // octets, header and body
  std::vector<std::pair<std::string, std::string>> headers;  // name, raw value (leading SP)
  std::string body;                                          // CRLF lines
};

BenchMessage make_message(std::size_t size, EVP_PKEY* key) {
  Message message = typical_message(size > 900 ? size - 900 : size);
  const std::string signature = dkim_sign(message, "rsa-sha256", kDomain, kRsaSelector, key);
  message = with_signatures(message, {signature});
  BenchMessage out;
  for (const std::string& field : message.fields) {
    const std::size_t colon = field.find(':');
    std::string value = field.substr(colon + 1);
    // Postfix keeps folded header lines joined by a bare LF.
    for (std::size_t at = value.find("\r\n"); at != std::string::npos; at = value.find("\r\n", at))
      value.erase(at, 1);
    out.headers.emplace_back(field.substr(0, colon), value);
  }
  out.body = message.body;
  out.size = message.text().size();
  return out;
}

// ---- packet helpers ----

void put32(std::string& out, std::uint32_t value) {
  const std::uint32_t net = htonl(value);
  out.append(reinterpret_cast<const char*>(&net), 4);
}

std::uint32_t get32(std::string_view data, std::size_t at) {
  if (data.size() < at + 4) throw std::runtime_error("short milter reply");
  std::uint32_t net = 0;
  std::memcpy(&net, data.data() + at, 4);
  return ntohl(net);
}

std::string nul(std::string_view text) {
  std::string out(text);
  out.push_back('\0');
  return out;
}

using MacroList = std::vector<std::pair<std::string, std::string>>;

// Postfix's default macros per stage with the values this client has (undefined: left out).
const std::array<MacroList, kMacroStages>& postfix_macros() {
  static const std::array<MacroList, kMacroStages> macros = [] {
    std::array<MacroList, kMacroStages> m;
    m[kMacroConnect] = {{"j", "mx.bench.example"},
                        {"{daemon_name}", "mx.bench.example"},
                        {"{daemon_addr}", "127.0.0.1"},
                        {"v", "Postfix 3.7.11"},
                        {"_", std::string(kClientName) + " [" + std::string(kClientIp) + "]"}};
    m[kMacroHelo] = {};  // TLS macros: no TLS here
    m[kMacroMail] = {
        {"{mail_addr}", "alice@example.org"}, {"{mail_host}", "example.org"}, {"{mailer}", "smtp"}};
    m[kMacroRcpt] = {{"i", kQueueId},
                     {"{rcpt_addr}", "bob@example.net"},
                     {"{rcpt_host}", "example.net"},
                     {"{rcpt_mailer}", "smtp"}};
    m[kMacroData] = {{"i", kQueueId}};
    m[kMacroEoh] = {{"i", kQueueId}};
    m[kMacroEom] = {{"i", kQueueId}};
    return m;
  }();
  return macros;
}

// ---- one filter connection ----

struct Filter {
  int fd = -1;
  std::uint32_t protocol = 0;  // what the filter keeps of our offer
  std::uint32_t actions = 0;
  // Macro names the filter asked for per stage; nullopt: Postfix's defaults.
  std::array<std::optional<std::vector<std::string>>, kMacroStages> wanted_macros;
  ReplyReader reader;
  std::string out;
  std::size_t out_at = 0;
  bool want_write = false;
  std::vector<Reply> eom_changes;
  ~Filter() {
    if (fd >= 0) ::close(fd);
  }
};

// What a step waits for.
enum class Await { kNothing, kNegotiation, kContinue, kBodyChunk, kVerdict };

struct Step {
  int filter = 0;
  std::string packet;  // a whole packet; for a body chunk only its length and command
  Await await = Await::kNothing;
  char command = 0;
  std::string_view payload;  // a body chunk, in the shared message (copied once, when sent)
};

struct Target {
  std::vector<std::string> sockets;
  std::vector<std::pair<int, std::string>> expect;  // filter index, A-R substring
  bool visible_inserts = false;  // a header inserted at the top goes below cleanup's Received:
};

int open_socket(const std::string& spec) {
  int fd = -1;
  if (spec.rfind("unix:", 0) == 0 || spec.rfind("local:", 0) == 0) {
    const std::string path = spec.substr(spec.find(':') + 1);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("cannot connect to " + spec + ": " + std::strerror(errno));
    }
  } else if (spec.rfind("inet:", 0) == 0) {
    const std::size_t at = spec.find('@');
    const int port = std::stoi(spec.substr(5, at - 5));
    const std::string host = at == std::string::npos ? "127.0.0.1" : spec.substr(at + 1);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as Postfix does
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
      throw std::runtime_error("bad address in " + spec);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("cannot connect to " + spec + ": " + std::strerror(errno));
    }
  } else {
    throw std::runtime_error("socket must be unix:/path or inet:PORT@HOST: " + spec);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// A reply as text (NULs shown as '|'), at most `limit` octets of its data.
std::string describe(const Reply& reply, std::size_t limit = 400) {
  std::string text(1, reply.command);
  std::string data;
  for (char c : reply.data.substr(0, limit)) data.push_back(c == '\0' ? '|' : c);
  return "'" + text + "' " + data;
}

// ---- one message through the target ----

struct HeaderField {
  std::string name;
  std::string value;         // as after the colon, leading space included
  bool postfix_own = false;  // cleanup's Received:, never shown to a filter
};

const char kPostfixReceived[] =
    " from mail.example.org (mail.example.org [192.0.2.10])\n\tby mx.bench.example (Postfix) "
    "with ESMTP id 4ABCD1234\n\tfor <bob@example.net>; Sat,  5 Dec 2026 03:00:00 +0000 (UTC)";

class Conversation {
 public:
  Conversation(const Target& target, const BenchMessage& message, std::size_t size_class,
               int epoll_fd, bool show_edits)
      : target_(target),
        message_(message),
        size_class_(size_class),
        epoll_fd_(epoll_fd),
        show_edits_(show_edits) {
    start_ = Clock::now();
    last_activity_ = start_;
    for (std::size_t i = 0; i < target.sockets.size(); ++i) {
      auto filter = std::make_unique<Filter>();
      filter->fd = open_socket(target.sockets[i]);
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.fd = filter->fd;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, filter->fd, &event) != 0)
        throw std::runtime_error("epoll_ctl failed");
      filters_.push_back(std::move(filter));
    }
    // cleanup puts its own Received: on top and never shows a filter the first header of the
    // queue file (milter8_header(): Sendmail compatibility); insert positions count it.
    headers_.push_back({"Received", kPostfixReceived, true});
    for (const auto& [name, value] : message.headers) headers_.push_back({name, value, false});
    for (std::size_t i = 0; i < filters_.size(); ++i) {
      std::string data;
      put32(data, kVersion);
      put32(data, kOfferedActions);
      put32(data, kOfferedProtocol);
      steps_.push_back({static_cast<int>(i),
                        milter_packet(test_support::kCmdOptneg, data),
                        Await::kNegotiation,
                        test_support::kCmdOptneg,
                        {}});
    }
    phase_ = Phase::kNegotiate;
    run();
  }
  ~Conversation() {
    for (auto& filter : filters_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, filter->fd, nullptr);
  }

  bool done() const { return phase_ == Phase::kDone; }
  std::vector<int> fds() const {
    std::vector<int> out;
    for (const auto& filter : filters_) out.push_back(filter->fd);
    return out;
  }
  std::size_t size_class() const { return size_class_; }
  double total_seconds() const { return std::chrono::duration<double>(end_ - start_).count(); }
  double eom_seconds() const { return std::chrono::duration<double>(end_ - eom_sent_).count(); }
  Clock::time_point last_activity() const { return last_activity_; }

  // The socket of filter `fd` is readable or writable.
  void on_event(int fd, std::uint32_t events) {
    last_activity_ = Clock::now();
    for (std::size_t i = 0; i < filters_.size(); ++i) {
      Filter& filter = *filters_[i];
      if (filter.fd != fd) continue;
      if (events & EPOLLOUT) flush(filter);
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_replies(static_cast<int>(i));
    }
    run();
  }

 private:
  enum class Phase { kNegotiate, kEnvelope, kContent, kDone };

  void fail(const std::string& what) const {
    throw std::runtime_error("filter " + std::to_string(current_.filter + 1) + " (" +
                             target_.sockets[static_cast<std::size_t>(current_.filter)] +
                             "), message of " + std::to_string(message_.size) + " octets: " + what);
  }

  void queue_macros(int index, MacroStage stage, char command) {
    const Filter& filter = *filters_[static_cast<std::size_t>(index)];
    std::string data(1, command);
    for (const auto& [name, value] : postfix_macros()[stage]) {
      const auto& wanted = filter.wanted_macros[stage];
      if (wanted && std::find(wanted->begin(), wanted->end(), name) == wanted->end()) continue;
      data += nul(name);
      data += nul(value);
    }
    if (data.size() > 1)
      steps_.push_back({index,
                        milter_packet(test_support::kCmdMacro, data),
                        Await::kNothing,
                        test_support::kCmdMacro,
                        {}});
  }

  // A stage the filter may have turned off (`no`) or marked no-reply (`no_reply`).
  void queue_stage(int index, char command, std::string data, std::uint32_t no,
                   std::uint32_t no_reply, Await await = Await::kContinue) {
    const std::uint32_t protocol = filters_[static_cast<std::size_t>(index)]->protocol;
    if (no != 0 && (protocol & no)) return;
    steps_.push_back({index,
                      milter_packet(command, data),
                      (protocol & no_reply) ? Await::kNothing : await,
                      command,
                      {}});
  }

  void queue_envelope() {
    for (int i = 0; i < static_cast<int>(filters_.size()); ++i) {
      queue_macros(i, kMacroConnect, test_support::kCmdConnect);
      std::string data = nul(kClientName);
      data.push_back('4');
      data.push_back(static_cast<char>(0xc3));  // port 50000
      data.push_back(static_cast<char>(0x50));
      data += nul(kClientIp);
      queue_stage(i, test_support::kCmdConnect, data, kNoConnect, kNrConnect);
    }
    for (int i = 0; i < static_cast<int>(filters_.size()); ++i) {
      queue_macros(i, kMacroHelo, test_support::kCmdHelo);
      queue_stage(i, test_support::kCmdHelo, nul(kHelo), kNoHelo, kNrHelo);
    }
    for (int i = 0; i < static_cast<int>(filters_.size()); ++i) {
      queue_macros(i, kMacroMail, test_support::kCmdMail);
      queue_stage(i, test_support::kCmdMail, nul("<alice@example.org>"), kNoMail, kNrMail);
    }
    for (int i = 0; i < static_cast<int>(filters_.size()); ++i) {
      queue_macros(i, kMacroRcpt, test_support::kCmdRcpt);
      queue_stage(i, test_support::kCmdRcpt, nul("<bob@example.net>"), kNoRcpt, kNrRcpt);
    }
    for (int i = 0; i < static_cast<int>(filters_.size()); ++i) {
      queue_macros(i, kMacroData, kCmdData);
      queue_stage(i, kCmdData, "", kNoData, kNrData);
    }
  }

  // The whole content (as edited by the filters before) to filter `index`.
  void queue_content(int index) {
    const std::uint32_t protocol = filters_[static_cast<std::size_t>(index)]->protocol;
    for (std::size_t i = 1; i < headers_.size(); ++i) {
      std::string_view text = headers_[i].value;
      // Without SMFIP_HDR_LEADSPC Postfix eats one space (not a tab) after the colon.
      if (!(protocol & kHeaderLeadingSpace) && !text.empty() && text.front() == ' ')
        text.remove_prefix(1);
      // Postfix sends the end-of-header macros before every header, the end-of-data ones before
      // every body chunk (milter8_event()); content stages a filter turned off are not even
      // visited (milter8_message()), so they get no macros either.
      if (!(protocol & kNoHeaders)) queue_macros(index, kMacroEoh, test_support::kCmdHeader);
      queue_stage(index, test_support::kCmdHeader, nul(headers_[i].name) + nul(text), kNoHeaders,
                  kNrHeader);
    }
    if (!(protocol & kNoEoh)) queue_macros(index, kMacroEoh, test_support::kCmdEoh);
    queue_stage(index, test_support::kCmdEoh, "", kNoEoh, kNrEoh);
    for (std::size_t at = 0; at < message_.body.size(); at += test_support::kBodyChunk) {
      if (protocol & kNoBody) break;
      queue_macros(index, kMacroEom, test_support::kCmdBody);
      const std::string_view chunk =
          std::string_view(message_.body).substr(at, test_support::kBodyChunk);
      std::string header;
      put32(header, static_cast<std::uint32_t>(chunk.size() + 1));
      header.push_back(test_support::kCmdBody);
      steps_.push_back({index, std::move(header),
                        (protocol & kNrBody) ? Await::kNothing : Await::kBodyChunk,
                        test_support::kCmdBody, chunk});
    }
    queue_macros(index, kMacroEom, test_support::kCmdEom);
    steps_.push_back({index,
                      milter_packet(test_support::kCmdEom, ""),
                      Await::kVerdict,
                      test_support::kCmdEom,
                      {}});
  }

  // Applies filter `index`'s header edits to the content the next filter sees (cleanup).
  void apply_header_edits(int index) {
    const Filter& filter = *filters_[static_cast<std::size_t>(index)];
    const bool leading_space = filter.protocol & kHeaderLeadingSpace;
    for (const Reply& change : filter.eom_changes) {
      std::size_t at = 0;
      std::uint32_t position = 0;
      if (change.command == test_support::kReplyInsHeader ||
          change.command == test_support::kReplyChgHeader) {
        position = get32(change.data, 0);
        at = 4;
      } else if (change.command != test_support::kReplyAddHeader) {
        continue;
      }
      const std::size_t name_end = change.data.find('\0', at);
      const std::size_t value_end = change.data.find('\0', name_end + 1);
      if (name_end == std::string::npos || value_end == std::string::npos)
        fail("malformed header edit " + describe(change));
      std::string name = change.data.substr(at, name_end - at);
      std::string value = change.data.substr(name_end + 1, value_end - name_end - 1);
      if (!leading_space && !value.empty()) value.insert(0, " ");
      if (change.command == test_support::kReplyAddHeader) {
        headers_.push_back({name, value, false});
      } else if (change.command == test_support::kReplyInsHeader) {
        // Relative to the message as delivered, cleanup's own Received: included; with
        // --visible-inserts never above it (as upstream OpenDKIM's index 1 lands).
        const std::size_t wanted =
            target_.visible_inserts ? std::max<std::size_t>(position, 1) : std::size_t{position};
        const std::size_t where = std::min<std::size_t>(wanted, headers_.size());
        headers_.insert(headers_.begin() + static_cast<std::ptrdiff_t>(where),
                        {name, value, false});
      } else {
        // Relative to the message as received: cleanup's own Received: not counted; index 0
        // means 1 (Sendmail compatibility).
        const std::uint32_t wanted = position == 0 ? 1 : position;
        std::uint32_t seen = 0;
        for (auto it = headers_.begin(); it != headers_.end(); ++it) {
          if (it->postfix_own || strcasecmp(it->name.c_str(), name.c_str()) != 0 ||
              ++seen != wanted)
            continue;
          if (value.empty())
            headers_.erase(it);
          else
            it->value = value;
          break;
        }
      }
    }
  }

  void print_edits(int index) const {
    const Filter& filter = *filters_[static_cast<std::size_t>(index)];
    std::string text = "filter " + std::to_string(index + 1) + " (" +
                       target_.sockets[static_cast<std::size_t>(index)] + ") protocol 0x";
    char hex[16];
    std::snprintf(hex, sizeof hex, "%06x", filter.protocol);
    text += hex;
    text += ", end of message edits:";
    for (const Reply& change : filter.eom_changes) text += "\n  " + describe(change, 4096);
    std::fprintf(stderr, "%s\n", text.c_str());
  }

  void check_expectations(int index) {
    const Filter& filter = *filters_[static_cast<std::size_t>(index)];
    for (const auto& [which, text] : target_.expect) {
      if (which != index) continue;
      bool found = false;
      for (const Reply& change : filter.eom_changes) {
        std::size_t at = 0;
        if (change.command == test_support::kReplyInsHeader)
          at = 4;
        else if (change.command != test_support::kReplyAddHeader)
          continue;
        const std::size_t name_end = change.data.find('\0', at);
        if (name_end == std::string::npos ||
            strcasecmp(change.data.substr(at, name_end - at).c_str(), "Authentication-Results") !=
                0)
          continue;
        if (change.data.find(text, name_end) != std::string::npos) found = true;
      }
      if (!found) {
        std::string seen;
        for (const Reply& change : filter.eom_changes) seen += "\n  " + describe(change);
        fail("no Authentication-Results with \"" + text + "\"; its edits:" + seen);
      }
    }
  }

  void send(const Step& step) {
    Filter& filter = *filters_[static_cast<std::size_t>(step.filter)];
    filter.out += step.packet;
    filter.out += step.payload;
    flush(filter);
  }

  void flush(Filter& filter) {
    while (filter.out_at < filter.out.size()) {
      const ssize_t sent = ::send(filter.fd, filter.out.data() + filter.out_at,
                                  filter.out.size() - filter.out_at, MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        fail(std::string("send failed: ") + std::strerror(errno));
      }
      filter.out_at += static_cast<std::size_t>(sent);
    }
    if (filter.out_at == filter.out.size()) {
      filter.out.clear();
      filter.out_at = 0;
      if (eom_queued_ && &filter == filters_.front().get()) {
        eom_sent_ = Clock::now();
        eom_queued_ = false;
      }
    }
    const bool want_write = !filter.out.empty();
    if (want_write != filter.want_write) {
      epoll_event event{};
      event.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
      event.data.fd = filter.fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, filter.fd, &event);
      filter.want_write = want_write;
    }
  }

  void read_replies(int index) {
    Filter& filter = *filters_[static_cast<std::size_t>(index)];
    char buffer[16384];
    for (;;) {
      const ssize_t got = ::recv(filter.fd, buffer, sizeof buffer, 0);
      if (got > 0) {
        filter.reader.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
        continue;
      }
      if (got == 0) {
        if (phase_ != Phase::kDone) {
          current_.filter = index;
          fail("the filter closed the connection");
        }
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      current_.filter = index;
      fail(std::string("recv failed: ") + std::strerror(errno));
    }
  }

  void handle_negotiation(Filter& filter, const Reply& reply) {
    if (reply.command != test_support::kCmdOptneg) fail("negotiation answered " + describe(reply));
    if (get32(reply.data, 0) < 2) fail("filter protocol version too old");
    filter.actions = get32(reply.data, 4);
    filter.protocol = get32(reply.data, 8);
    if (filter.protocol & ~kOfferedProtocol)
      fail("filter asked for protocol bits we did not offer");
    // Optional macro lists: (stage, "name name ...") pairs.
    std::size_t at = 12;
    while (at + 4 <= reply.data.size()) {
      const std::uint32_t stage = get32(reply.data, at);
      const std::size_t end = reply.data.find('\0', at + 4);
      const std::string list =
          reply.data.substr(at + 4, (end == std::string::npos ? reply.data.size() : end) - at - 4);
      if (stage < kMacroStages) {
        std::vector<std::string> names;
        std::istringstream words(list);
        for (std::string word; words >> word;) names.push_back(word);
        filter.wanted_macros[stage] = names;
      }
      at = end == std::string::npos ? reply.data.size() : end + 1;
    }
  }

  // Drives the steps until one waits for a reply (or all are done).
  void run() {
    for (;;) {
      if (waiting_) {
        Filter& filter = *filters_[static_cast<std::size_t>(current_.filter)];
        std::optional<Reply> reply = filter.reader.next();
        if (!reply) return;
        if (current_.await == Await::kNegotiation) {
          handle_negotiation(filter, *reply);
        } else if (reply->command == test_support::kReplyProgress) {
          continue;
        } else if (current_.await == Await::kVerdict) {
          if (!test_support::is_verdict(reply->command)) {
            filter.eom_changes.push_back(std::move(*reply));
            continue;
          }
          if (reply->command != test_support::kReplyAccept &&
              reply->command != test_support::kReplyContinue)
            fail("end of message answered " + describe(*reply));
          if (show_edits_) print_edits(current_.filter);
          check_expectations(current_.filter);
        } else if (current_.await == Await::kBodyChunk && reply->command == kReplySkip &&
                   (filter.protocol & kSkip)) {
          // Neither the later chunks nor their macros go to this filter.
          while (!steps_.empty() && steps_.front().filter == current_.filter &&
                 (steps_.front().command == test_support::kCmdBody ||
                  (steps_.front().command == test_support::kCmdMacro &&
                   steps_.front().packet[5] == test_support::kCmdBody)))
            steps_.pop_front();
        } else if (reply->command != test_support::kReplyContinue) {
          fail(std::string("command '") + current_.command + "' answered " + describe(*reply));
        }
        waiting_ = false;
      }
      // Replies nobody waits for (a stage marked no-reply must not answer).
      for (std::size_t i = 0; i < filters_.size(); ++i) {
        if (std::optional<Reply> extra = filters_[i]->reader.next()) {
          current_.filter = static_cast<int>(i);
          fail("unexpected reply " + describe(*extra));
        }
      }
      if (steps_.empty() && !next_phase()) return;
      current_ = std::move(steps_.front());
      steps_.pop_front();
      // The EOM clock starts once the packet is in the socket, as when Postfix's blocking
      // write returns: before a no-reply body the filter has not read yet, that is later than
      // queueing it here.
      if (current_.command == test_support::kCmdEom && current_.filter == 0) eom_queued_ = true;
      send(current_);
      waiting_ = current_.await != Await::kNothing;
    }
  }

  // Queues the next phase's steps; false when the message is done.
  bool next_phase() {
    switch (phase_) {
      case Phase::kNegotiate:
        phase_ = Phase::kEnvelope;
        queue_envelope();
        return true;
      case Phase::kEnvelope:
        phase_ = Phase::kContent;
        content_filter_ = 0;
        queue_content(0);
        return true;
      case Phase::kContent:
        if (content_filter_ + 1 < static_cast<int>(filters_.size())) {
          apply_header_edits(content_filter_);
          ++content_filter_;
          queue_content(content_filter_);
          return true;
        }
        end_ = Clock::now();
        phase_ = Phase::kDone;
        for (auto& filter : filters_) {
          filter->out += milter_packet(test_support::kCmdQuit, "");
          flush(*filter);
        }
        return false;
      case Phase::kDone:
        return false;
    }
    return false;
  }

  const Target& target_;
  const BenchMessage& message_;
  std::size_t size_class_;
  int epoll_fd_;
  bool show_edits_;
  std::vector<std::unique_ptr<Filter>> filters_;
  std::vector<HeaderField> headers_;
  std::deque<Step> steps_;
  Step current_;
  bool waiting_ = false;
  Phase phase_ = Phase::kNegotiate;
  int content_filter_ = 0;
  Clock::time_point start_, eom_sent_, end_, last_activity_;
  bool eom_queued_ = false;  // end of message to filter 1 waits in its out buffer
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p * static_cast<double>(values.size() - 1);
  const auto low = static_cast<std::size_t>(rank);
  const std::size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (rank - static_cast<double>(low));
}

struct Options {
  Target target;
  int concurrency = 1;
  long messages = 100000;
  double seconds = 10;
  std::vector<std::size_t> sizes = {4096, 20480, 204800, 2097152};
  bool show_edits = false;  // print the first message's end-of-message edits to stderr
};

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> sizes;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) sizes.push_back(std::stoul(item));
  if (sizes.empty()) throw std::runtime_error("--sizes: empty");
  return sizes;
}

int run_load(const Options& options) {
  const Key key = rsa2048_key();
  std::vector<BenchMessage> messages;
  for (std::size_t size : options.sizes) messages.push_back(make_message(size, key.get()));

  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) throw std::runtime_error("epoll_create1 failed");
  struct EpollCloser {
    int fd;
    ~EpollCloser() { ::close(fd); }
  } epoll_closer{epoll_fd};

  const std::size_t mix = messages.size();
  std::vector<std::unique_ptr<Conversation>> active;
  std::vector<std::vector<double>> totals(mix), eoms(mix);
  std::map<int, Conversation*> by_fd;
  long started = 0;
  long finished = 0;
  const Clock::time_point begin = Clock::now();
  const auto start_deadline = begin + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(options.seconds));
  auto may_start = [&] {
    if (started % static_cast<long>(mix) != 0) return true;  // finish the round of the mix
    return started < options.messages && Clock::now() < start_deadline;
  };
  auto start_one = [&] {
    const std::size_t size_class = static_cast<std::size_t>(started) % mix;
    ++started;
    active.push_back(std::make_unique<Conversation>(options.target, messages[size_class],
                                                    size_class, epoll_fd,
                                                    options.show_edits && started == 1));
    for (int fd : active.back()->fds()) by_fd[fd] = active.back().get();
  };
  auto reap = [&] {
    for (std::size_t i = 0; i < active.size();) {
      if (active[i]->done()) {
        totals[active[i]->size_class()].push_back(active[i]->total_seconds());
        eoms[active[i]->size_class()].push_back(active[i]->eom_seconds());
        ++finished;
        for (int fd : active[i]->fds()) by_fd.erase(fd);
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  };
  while (static_cast<int>(active.size()) < options.concurrency && may_start()) start_one();
  std::array<epoll_event, 64> events{};
  while (!active.empty()) {
    const int ready = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 1000);
    if (ready < 0 && errno != EINTR) throw std::runtime_error("epoll_wait failed");
    for (int i = 0; i < ready; ++i) {
      const epoll_event& event = events[static_cast<std::size_t>(i)];
      // Conversations are reaped after the batch, so no fd here was closed and reused.
      const auto owner = by_fd.find(event.data.fd);
      if (owner != by_fd.end()) owner->second->on_event(event.data.fd, event.events);
    }
    reap();
    const Clock::time_point now = Clock::now();
    for (const auto& conversation : active) {
      if (now - conversation->last_activity() > kSilenceLimit)
        throw std::runtime_error("a conversation got no reply for 30 s");
    }
    while (static_cast<int>(active.size()) < options.concurrency && may_start()) start_one();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  // The client's own CPU (message set-up included, small): what it takes from the two cores.
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double client_cpu =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;

  std::vector<double> all_totals, all_eoms, small_eoms;
  for (std::size_t c = 0; c < mix; ++c) {
    all_totals.insert(all_totals.end(), totals[c].begin(), totals[c].end());
    all_eoms.insert(all_eoms.end(), eoms[c].begin(), eoms[c].end());
    if (messages[c].size <= 205000)
      small_eoms.insert(small_eoms.end(), eoms[c].begin(), eoms[c].end());
  }
  std::printf(
      "{\"messages\": %ld, \"seconds\": %.4f, \"msg_per_s\": %.2f, "
      "\"concurrency\": %d, \"client_cpu_ms_per_msg\": %.3f, \"total_p50_ms\": %.3f, "
      "\"total_p99_ms\": %.3f, "
      "\"eom_p50_ms\": %.3f, \"eom_p99_ms\": %.3f, \"eom_p99_small_ms\": %.3f, "
      "\"sizes\": [",
      finished, elapsed, static_cast<double>(finished) / elapsed, options.concurrency,
      client_cpu * 1e3 / static_cast<double>(std::max(finished, 1L)),
      percentile(all_totals, 0.5) * 1e3, percentile(all_totals, 0.99) * 1e3,
      percentile(all_eoms, 0.5) * 1e3, percentile(all_eoms, 0.99) * 1e3,
      percentile(small_eoms, 0.99) * 1e3);
  for (std::size_t c = 0; c < mix; ++c) {
    std::printf(
        "%s{\"octets\": %zu, \"messages\": %zu, \"total_p50_ms\": %.3f, "
        "\"total_p99_ms\": %.3f, \"eom_p50_ms\": %.3f, \"eom_p99_ms\": %.3f}",
        c ? ", " : "", messages[c].size, totals[c].size(), percentile(totals[c], 0.5) * 1e3,
        percentile(totals[c], 0.99) * 1e3, percentile(eoms[c], 0.5) * 1e3,
        percentile(eoms[c], 0.99) * 1e3);
  }
  std::printf("]}\n");
  return 0;
}

void print_dkim_record() {
  const Key key = rsa2048_key();
  std::string line;
  for (const std::string& piece : dkim::testing::txt_strings(key_record(key.get())))
    line += (line.empty() ? "\"" : " \"") + piece + "\"";
  std::printf("%s\n", line.c_str());
}

}  // namespace
}  // namespace authmilter::bench

int main(int argc, char** argv) {
  using namespace authmilter::bench;
  try {
    Options options;
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(std::string(arg) + " needs a value");
        return argv[++i];
      };
      if (arg == "--dkim-record") {
        print_dkim_record();
        return 0;
      } else if (arg == "--target") {
        std::istringstream in(value());
        for (std::string item; std::getline(in, item, ',');) options.target.sockets.push_back(item);
      } else if (arg == "--expect") {
        const std::string spec = value();
        const std::size_t colon = spec.find(':');
        if (colon == std::string::npos) throw std::runtime_error("--expect N:TEXT");
        options.target.expect.emplace_back(std::stoi(spec.substr(0, colon)) - 1,
                                           spec.substr(colon + 1));
      } else if (arg == "--concurrency") {
        options.concurrency = std::stoi(value());
      } else if (arg == "--messages") {
        options.messages = std::stol(value());
      } else if (arg == "--seconds") {
        options.seconds = std::stod(value());
      } else if (arg == "--visible-inserts") {
        options.target.visible_inserts = true;
      } else if (arg == "--show-edits") {
        options.show_edits = true;
      } else if (arg == "--sizes") {
        options.sizes = parse_sizes(value());
      } else {
        throw std::runtime_error("unknown argument " + std::string(arg));
      }
    }
    if (options.target.sockets.empty() || options.target.sockets.size() > 2)
      throw std::runtime_error("--target: one or two sockets");
    if (options.concurrency < 1 || options.concurrency > 256)
      throw std::runtime_error("--concurrency: 1 to 256");
    if (options.messages < 1 || options.messages > 10000000 || options.seconds <= 0 ||
        options.seconds > 3600)
      throw std::runtime_error("--messages 1..10^7, --seconds up to 3600");
    return run_load(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "authmilter_milter_loadgen: %s\n", error.what());
    return 1;
  }
}

// authmilter_soak: many concurrent milter connections against the real daemon, clients that
// vanish, and the daemon's resources afterwards (issue 10 §5; docs/PERFORMANCE.md, "Soak").
//
//   build/tests/soak/authmilter_soak [--connections N] [--duration SECONDS] [--unix]
//       [--think-ms MS] [--burst-limit-ms MS] [--rss-limit-mb MB] [--settle SECONDS]
//
// What: starts a loopback DNS responder (tests/support) serving a small zone, writes a config
//   (Socket inet on a free 127.0.0.1 port, or a unix socket with --unix; DNSServers that
//   responder; Syslog no; the daemon's stderr to a log file), raises RLIMIT_NOFILE (the
//   daemon inherits it), runs the authmilter binary of this build in the foreground, sends one
//   warm-up message and takes the daemon's baseline (open fds, threads). Then:
//   1. Burst: N connections are opened at once (non-blocking connects from one thread) and
//      each negotiates options (protocol 6, like Postfix); the time from the first connect to
//      the last negotiation reply is the burst time.
//   2. Soak for SECONDS: the N connections are kept open, each in a role by its index:
//      60 % idle (connect, HELO, then nothing until the end, when each sends one message),
//      20 % messengers (one ~10 kB message after another, a pause of about --think-ms
//      between them), 8 % resetters (a pause, a message up to the middle of a body packet,
//      or every other time up to end of message, then a TCP RST, before the verdict; again on
//      a new connection), 8 % aborters (a pause, a message up to the
//      body, SMFIC_ABORT, a whole message on the same connection, quit; again on a new
//      connection), 4 % open-and-close (connect and close at once, every other time after
//      negotiating, with a pause between). The pauses are jittered by +-50 %. A connection
//      that ends is replaced, so all but the open-and-close ones (about 0.96 N) stay open.
//      Every second the daemon's VmRSS, fds and threads are sampled and its liveness checked.
//   3. End: messengers finish their message, idle connections each send one, everything quits;
//      then the daemon's fds and threads must come back to the baseline within --settle
//      seconds, a fresh connection must still get a verdict, and SIGTERM must end it with
//      exit status 0.
//   Every message that reached end of message must get a verdict (accept, with an inserted
//   Authentication-Results saying spf=pass, dkim=pass and dmarc=pass: each message carries an
//   rsa-sha256 2048-bit signature whose key the zone publishes).
// Checks (exit status 1 when one fails, 2 on a usage or set-up error): the daemon never dies;
//   no connection error (a stage not answered with continue, a reply timeout of
//   kReplyTimeout, an unexpected close); every completed message got its verdict; fds and
//   threads back to baseline; the last message answered; exit 0 on SIGTERM; the burst within
//   --burst-limit-ms (default 1000; 0 reports only); the peak RSS (VmHWM) at or under
//   --rss-limit-mb (default 64; 0 reports only).
// Bounds: N at most kMaxConnections, SECONDS at most kMaxDuration; every reply waited for at
//   most kReplyTimeout; the burst at most kBurstTimeout; the end phase at most kEndTimeout;
//   loopback only. The CTest smoke version (tests/soak/CMakeLists.txt) runs a few hundred
//   connections for a few seconds with the timing and RSS limits off (shared CI machines,
//   sanitizer builds).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "authmilter/cli/cli.h"
#include "authmilter/dns/zone_resolver.h"
#include "daemon_process.h"
#include "dkim_test_support.h"
#include "loopback_dns_server.h"
#include "milter_client.h"

namespace authmilter::soak {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace ts = test_support;

constexpr int kMaxConnections = 10000;
constexpr int kMaxDuration = 3600;
constexpr auto kReplyTimeout = 30s;  // longer than the daemon's MessageTimeout (20 s)
constexpr auto kBurstTimeout = 30s;
constexpr auto kEndTimeout = 60s;
constexpr auto kStartTimeout = 15s;
constexpr auto kTick = 20ms;  // timer resolution of the event loop
// Descriptors the soak process needs beyond one per connection (DNS responder, epoll, logs).
constexpr rlim_t kSpareFds = 256;

constexpr std::string_view kClientIp = "192.0.2.10";
constexpr std::string_view kHelo = "mail.example.org";

// SPF passes for kClientIp, DMARC passes (SPF and DKIM aligned); the DKIM key is added by run().
constexpr std::string_view kZone = R"(
example.org TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.org TXT "v=DMARC1; p=reject"
mail.example.org TXT "v=spf1 a -all"
mail.example.org A 192.0.2.10
)";

struct Options {
  int connections = 1000;
  int duration_s = 60;
  int think_ms = 500;
  int burst_limit_ms = 1000;
  int rss_limit_mb = 64;
  int settle_s = 15;
  bool unix_socket = false;
};

constexpr std::string_view kSelector = "soak";

// A ~10 kB message from alice@example.org, signed rsa-sha256 (2048-bit `key`, published in the
// zone as soak._domainkey.example.org), handed over the way an MTA does (cli::parse_message
// splits it as the milter sees it).
ts::MilterMessage signed_message(EVP_PKEY* key) {
  namespace dt = dkim::testing;
  dt::Message plain;
  plain.fields = {
      "Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n\tby mx.example.net",
      "From: Alice Example <alice@example.org>",
      "To: Bob Example <bob@example.net>",
      "Subject: Quarterly figures",
      "Date: Mon, 1 Jan 2024 10:00:00 +0000",
      "Message-ID: <20240101100000.4711@mail.example.org>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
  };
  while (plain.body.size() < 10 * 1024) {
    plain.body += "Region     Q1      Q2      Q3      Q4    North 1200 1340 1410 1502\r\n";
  }
  dt::SignSpec spec;
  spec.domain = "example.org";
  spec.selector = std::string(kSelector);
  const dt::Message signed_plain = dt::with_signatures(plain, {dt::sign(plain, spec, key)});
  const cli::ParsedMessage parsed = cli::parse_message(signed_plain.text());
  ts::MilterMessage message;
  message.mail_from = "<alice@example.org>";
  message.recipients = {"<bob@example.net>"};
  // As the MTA sends them with SMFIP_HDR_LEADSPC: the value with its leading space.
  for (const auto& field : parsed.headers)
    message.headers.emplace_back(field.name, field.raw_value);
  message.body = parsed.body;
  return message;
}

// What every message must get: accept, with our A-R saying that all three checks passed.
bool expected_outcome(char verdict, const std::string& authentication_results) {
  return verdict == ts::kReplyAccept &&
         authentication_results.find("spf=pass") != std::string::npos &&
         authentication_results.find("dkim=pass") != std::string::npos &&
         authentication_results.find("dmarc=pass") != std::string::npos;
}

enum class Role { kIdle, kMessenger, kResetter, kAborter, kOpenClose };

Role role_of(int index) {
  const int slot = index % 100;
  if (slot < 60) return Role::kIdle;
  if (slot < 80) return Role::kMessenger;
  if (slot < 88) return Role::kResetter;
  if (slot < 96) return Role::kAborter;
  return Role::kOpenClose;
}

enum class Act { kConnect, kSend, kReset, kQuitClose, kCloseNow, kPause, kHold };
enum class Expect { kNothing, kNegotiation, kContinue, kVerdict };

struct Action {
  Act act = Act::kPause;
  std::string bytes;  // kSend: what to write
  Expect expect = Expect::kNothing;
  char command = 0;  // for error messages
};

struct Slot {
  int index = 0;
  Role role = Role::kIdle;
  int fd = -1;
  bool connecting = false;
  bool negotiated = false;  // the current connection got its negotiation reply
  bool greeted = false;     // connect and HELO answered on the current connection
  std::vector<Action> script;
  std::size_t next = 0;
  std::string out;
  std::size_t out_done = 0;
  Expect waiting = Expect::kNothing;
  char waiting_for = 0;
  Clock::time_point reply_deadline{};
  Clock::time_point wake_at{};
  bool holding = false;
  bool done = false;
  bool parked = false;  // burst phase: negotiated, waiting for the others
  int cycle = 0;
  ts::ReplyReader reader;
  ts::EomOutcome eom;
};

struct Stats {
  std::uint64_t connections_opened = 0;
  std::uint64_t messages_completed = 0;  // EOM sent and its verdict received
  std::uint64_t eom_sent = 0;            // ends of message whose verdict is waited for
  std::uint64_t verdicts_expected = 0;   // accept with spf, dkim and dmarc pass
  std::uint64_t resets = 0;              // RST mid-body or right after end of message
  std::uint64_t resets_after_eom = 0;    // of those, right after end of message
  std::uint64_t aborts = 0;
  std::uint64_t open_closes = 0;
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::string> first_errors;
  std::uint64_t error_count() const {
    std::uint64_t total = 0;
    for (const auto& [kind, count] : errors) total += count;
    return total;
  }
};

// Raises the soft RLIMIT_NOFILE to what `connections` need (the daemon inherits it: one fd per
// connection plus its own); returns the limit now in force.
rlim_t raise_fd_limit(int connections) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t wanted = static_cast<rlim_t>(connections) * 2 + kSpareFds;
  if (limit.rlim_cur < wanted) {
    if (limit.rlim_max < wanted) {
      rlimit raised{wanted, wanted};  // works as root; otherwise take what the hard limit allows
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return wanted;
    }
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

class Soak {
 public:
  Soak(const Options& options, std::uint16_t port, std::string unix_path, ts::MilterMessage message)
      : options_(options),
        port_(port),
        unix_path_(std::move(unix_path)),
        message_(std::move(message)),
        rng_(20240101) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error("epoll_create1 failed");
    slots_.resize(static_cast<std::size_t>(options.connections));
    for (int i = 0; i < options.connections; ++i) {
      slots_[static_cast<std::size_t>(i)].index = i;
      slots_[static_cast<std::size_t>(i)].role = role_of(i);
    }
    build_stage_packets();
  }
  ~Soak() {
    for (Slot& slot : slots_) close_fd(slot);
    ::close(epoll_);
  }
  Soak(const Soak&) = delete;
  Soak& operator=(const Soak&) = delete;

  struct BurstResult {
    std::size_t negotiated = 0;  // connections that got their negotiation reply
    std::size_t failed = 0;      // connections that failed (see stats().errors)
    // From the first connect to the last negotiation reply.
    std::chrono::microseconds elapsed{0};
  };
  // Phase 1, bounded by kBurstTimeout.
  BurstResult burst() {
    phase_ = Phase::kBurst;
    const auto start = Clock::now();
    for (Slot& slot : slots_) {
      slot.script = {only(Act::kConnect), negotiate_action()};
      slot.next = 0;
      advance(slot);
    }
    const auto deadline = start + kBurstTimeout;
    while (burst_.negotiated + burst_.failed < slots_.size() && Clock::now() < deadline) {
      poll_once();
    }
    burst_.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        (burst_.negotiated > 0 ? last_negotiation_ : Clock::now()) - start);
    return burst_;
  }

  // Phase 2; `sample` is called about once a second and returns false to stop early.
  template <typename Sample>
  void run(std::chrono::seconds duration, Sample&& sample) {
    phase_ = Phase::kRunning;
    for (Slot& slot : slots_) {
      slot.parked = false;
      next_script(slot);
      advance(slot);
    }
    const auto end = Clock::now() + duration;
    auto next_sample = Clock::now();
    while (Clock::now() < end) {
      poll_once();
      if (Clock::now() >= next_sample) {
        next_sample += 1s;
        if (!sample()) return;
      }
    }
  }

  // Phase 3: every slot finishes; false when some did not within kEndTimeout.
  template <typename Sample>
  bool finish(Sample&& sample) {
    phase_ = Phase::kEnding;
    for (Slot& slot : slots_) {
      slot.holding = false;
      slot.wake_at = Clock::now();
      advance(slot);
    }
    const auto deadline = Clock::now() + kEndTimeout;
    auto next_sample = Clock::now() + 1s;
    while (open_slots() > 0 && Clock::now() < deadline) {
      poll_once();
      if (Clock::now() >= next_sample) {
        next_sample += 1s;
        if (!sample()) return false;
      }
    }
    return open_slots() == 0;
  }

  std::size_t open_connections() const {
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.fd >= 0; }));
  }
  std::size_t open_slots() const {
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.done; }));
  }
  const Stats& stats() const { return stats_; }

 private:
  enum class Phase { kBurst, kRunning, kEnding };

  void build_stage_packets() {
    message_stages_ = ts::message_stages(message_);
    // The cut-off message of resetters and aborters: its body in two packets, so the cut
    // falls inside the body (after the first packet's answer, or inside the second packet).
    ts::MilterMessage half = message_;
    half.body.clear();
    for (const ts::Stage& stage : ts::message_stages(half)) {
      if (stage.command == ts::kCmdBody || stage.command == ts::kCmdEom) continue;
      prefix_stages_.push_back(stage);
    }
    const std::size_t middle = message_.body.size() / 2;
    first_body_packet_ =
        ts::milter_packet(ts::kCmdBody, std::string_view(message_.body).substr(0, middle));
    second_body_packet_ =
        ts::milter_packet(ts::kCmdBody, std::string_view(message_.body).substr(middle));
  }

  static Action only(Act act) { return {act, "", Expect::kNothing, 0}; }
  static Action send(std::string bytes, Expect expect, char command) {
    return {Act::kSend, std::move(bytes), expect, command};
  }
  static Action negotiate_action() {
    return send(ts::negotiate_packet(), Expect::kNegotiation, ts::kCmdOptneg);
  }

  void add_greeting(std::vector<Action>& script) {
    script.push_back(
        send(ts::connect_packet(kHelo, kClientIp), Expect::kContinue, ts::kCmdConnect));
    script.push_back(send(ts::helo_packet(kHelo), Expect::kContinue, ts::kCmdHelo));
  }
  void add_message(std::vector<Action>& script) {
    for (const ts::Stage& stage : message_stages_) {
      script.push_back(send(stage.packet,
                            !stage.answered                ? Expect::kNothing
                            : stage.command == ts::kCmdEom ? Expect::kVerdict
                                                           : Expect::kContinue,
                            stage.command));
    }
  }
  void add_message_up_to_body(std::vector<Action>& script) {
    for (const ts::Stage& stage : prefix_stages_) {
      script.push_back(
          send(stage.packet, stage.answered ? Expect::kContinue : Expect::kNothing, stage.command));
    }
    script.push_back(send(first_body_packet_, Expect::kContinue, ts::kCmdBody));
  }
  // About think_ms, jittered by ±50 % so the connections do not march in step.
  Action pause() {
    const int think = options_.think_ms;
    std::uniform_int_distribution<int> jitter(think / 2, think + think / 2);
    Action action = only(Act::kPause);
    action.bytes = std::to_string(think > 0 ? jitter(rng_) : 0);
    return action;
  }

  // The next script of a slot whose script has ended (or that just left the burst).
  void next_script(Slot& slot) {
    std::vector<Action> script;
    const bool ending = phase_ == Phase::kEnding;
    const bool open = slot.fd >= 0;
    if (phase_ == Phase::kBurst) {
      slot.parked = true;  // run() gives it its role
      slot.script.clear();
      slot.next = 0;
      return;
    }
    if (ending && !open) {
      slot.done = true;
      slot.script.clear();
      slot.next = 0;
      return;
    }
    auto reopen = [&] {
      if (!open) {
        script.push_back(only(Act::kConnect));
        script.push_back(negotiate_action());
      }
      if (!open || !slot.greeted) add_greeting(script);
    };
    switch (slot.role) {
      case Role::kIdle:
        if (ending) {
          script.push_back(only(Act::kQuitClose));
          break;
        }
        reopen();
        script.push_back(only(Act::kHold));
        add_message(script);  // sent when the hold ends: the connection must still work
        script.push_back(only(Act::kQuitClose));
        break;
      case Role::kMessenger:
        if (ending) {
          script.push_back(only(Act::kQuitClose));
          break;
        }
        reopen();
        add_message(script);
        script.push_back(pause());
        break;
      case Role::kResetter:
        if (ending) {
          script.push_back(only(Act::kCloseNow));
          break;
        }
        reopen();
        script.push_back(pause());  // with the connection open, so about N stay open
        add_message_up_to_body(script);
        if (slot.cycle % 2 == 0) {
          // Part of the next body packet, then RST in the middle of it.
          script.push_back(send(second_body_packet_.substr(0, second_body_packet_.size() / 3),
                                Expect::kNothing, ts::kCmdBody));
        } else {
          // The rest of the body and end of message, then RST while the daemon works on
          // the verdict: its replies meet a closed connection.
          script.push_back(send(second_body_packet_, Expect::kContinue, ts::kCmdBody));
          script.push_back(send(ts::milter_packet(ts::kCmdEom, ""), Expect::kNothing, ts::kCmdEom));
          ++stats_.resets_after_eom;
        }
        script.push_back(only(Act::kReset));
        break;
      case Role::kAborter:
        if (ending) {
          script.push_back(only(Act::kQuitClose));
          break;
        }
        reopen();
        script.push_back(pause());
        add_message_up_to_body(script);
        script.push_back(
            send(ts::milter_packet(ts::kCmdAbort, ""), Expect::kNothing, ts::kCmdAbort));
        add_message(script);  // the same connection carries on after the abort
        script.push_back(only(Act::kQuitClose));
        break;
      case Role::kOpenClose:
        if (ending) {
          script.push_back(only(Act::kCloseNow));
          break;
        }
        if (!open) {
          script.push_back(only(Act::kConnect));
          if (slot.cycle % 2 == 1) script.push_back(negotiate_action());
        }
        script.push_back(only(Act::kCloseNow));
        script.push_back(pause());
        break;
    }
    ++slot.cycle;
    slot.script = std::move(script);
    slot.next = 0;
  }

  void error(Slot& slot, const std::string& kind, const std::string& detail) {
    ++stats_.errors[kind];
    if (stats_.first_errors.size() < 10) {
      stats_.first_errors.push_back("connection " + std::to_string(slot.index) + " (cycle " +
                                    std::to_string(slot.cycle) + "): " + kind + ": " + detail);
    }
    close_fd(slot);
    slot.waiting = Expect::kNothing;
    slot.out.clear();
    slot.out_done = 0;
    slot.holding = false;
    slot.script.clear();
    slot.next = 0;
    if (phase_ == Phase::kBurst) {
      slot.done = true;  // the burst check reports it
      ++burst_.failed;
      return;
    }
    slot.wake_at = Clock::now() + 100ms;  // then a new connection in the same role
  }

  void close_fd(Slot& slot) {
    if (slot.fd < 0) return;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, slot.fd, nullptr);
    ::close(slot.fd);
    slot.fd = -1;
    slot.connecting = false;
    slot.negotiated = false;
    slot.greeted = false;
    slot.reader = ts::ReplyReader();
  }

  bool open_socket(Slot& slot) {
    const int family = unix_path_.empty() ? AF_INET : AF_UNIX;
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error(slot, "socket", std::strerror(errno));
      return false;
    }
    int rc = -1;
    if (family == AF_INET) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    } else {
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", unix_path_.c_str());
      rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    }
    if (rc != 0 && errno != EINPROGRESS) {
      const int saved = errno;
      ::close(fd);
      error(slot, "connect", std::strerror(saved));
      return false;
    }
    slot.fd = fd;
    slot.connecting = rc != 0;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u32 = static_cast<std::uint32_t>(slot.index);
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    ++stats_.connections_opened;
    return true;
  }

  // Runs the slot's script until it has to wait (for a reply, the socket, a timer, the end).
  void advance(Slot& slot) {
    for (int guard = 0; guard < 10000; ++guard) {
      if (slot.done || slot.parked || slot.connecting || slot.holding) return;
      if (slot.out_done < slot.out.size()) {
        const ssize_t n = ::send(slot.fd, slot.out.data() + slot.out_done,
                                 slot.out.size() - slot.out_done, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
          error(slot, "send", std::strerror(errno));
          return;
        }
        slot.out_done += static_cast<std::size_t>(n);
        continue;
      }
      if (slot.waiting != Expect::kNothing) return;
      const auto now = Clock::now();
      if (slot.wake_at > now) return;
      if (slot.next >= slot.script.size()) {
        next_script(slot);
        if (slot.done || slot.parked) return;
        continue;
      }
      Action& action = slot.script[slot.next++];
      switch (action.act) {
        case Act::kConnect:
          if (!open_socket(slot)) return;
          break;
        case Act::kSend:
          slot.out = action.bytes;
          slot.out_done = 0;
          slot.waiting = action.expect;
          slot.waiting_for = action.command;
          slot.reply_deadline = now + kReplyTimeout;
          if (action.expect == Expect::kVerdict) ++stats_.eom_sent;
          if (action.command == ts::kCmdAbort) ++stats_.aborts;
          if (action.expect == Expect::kVerdict) slot.eom = ts::EomOutcome();
          break;
        case Act::kReset: {
          const linger hard{1, 0};  // close with RST
          ::setsockopt(slot.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
          close_fd(slot);
          ++stats_.resets;
          break;
        }
        case Act::kQuitClose: {
          const std::string quit = ts::milter_packet(ts::kCmdQuit, "");
          (void)::send(slot.fd, quit.data(), quit.size(), MSG_NOSIGNAL);
          close_fd(slot);
          break;
        }
        case Act::kCloseNow:
          close_fd(slot);
          if (slot.role == Role::kOpenClose) ++stats_.open_closes;
          break;
        case Act::kPause:
          if (phase_ != Phase::kEnding)
            slot.wake_at = now + std::chrono::milliseconds(std::stoi(action.bytes));
          break;
        case Act::kHold:
          if (phase_ != Phase::kEnding) slot.holding = true;
          break;
      }
    }
  }

  void on_reply(Slot& slot, ts::Reply reply) {
    switch (slot.waiting) {
      case Expect::kNothing:
        error(slot, "unexpected reply",
              std::string("'") + reply.command + "' after '" + slot.waiting_for + "'");
        return;
      case Expect::kNegotiation:
        if (reply.command != ts::kCmdOptneg) {
          error(slot, "negotiation", std::string("answered '") + reply.command + "'");
          return;
        }
        slot.negotiated = true;
        if (phase_ == Phase::kBurst) {
          ++burst_.negotiated;
          last_negotiation_ = Clock::now();
        }
        break;
      case Expect::kContinue:
        if (reply.command != ts::kReplyContinue) {
          error(slot, "stage not continued",
                std::string("'") + slot.waiting_for + "' answered '" + reply.command + "' " +
                    reply.data.substr(0, 80));
          return;
        }
        if (slot.waiting_for == ts::kCmdHelo) slot.greeted = true;
        break;
      case Expect::kVerdict:
        if (reply.command == ts::kReplyProgress) return;
        if (!ts::is_verdict(reply.command)) {
          slot.eom.changes.push_back(std::move(reply));
          return;
        }
        ++stats_.messages_completed;
        {
          const std::string ar = slot.eom.authentication_results();
          if (expected_outcome(reply.command, ar)) {
            ++stats_.verdicts_expected;
          } else {
            error(slot, "unexpected verdict",
                  std::string("'") + reply.command + "' " + reply.data.substr(0, 80) +
                      " A-R: " + ar.substr(0, 200));
            return;
          }
        }
        break;
    }
    slot.waiting = Expect::kNothing;
  }

  void on_event(Slot& slot, std::uint32_t events) {
    if (slot.fd < 0) return;
    if (slot.connecting) {
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) {
        error(slot, "connect", std::strerror(so_error));
        return;
      }
      if ((events & EPOLLOUT) == 0) return;
      slot.connecting = false;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      char buffer[16384];
      for (;;) {
        const ssize_t n = ::recv(slot.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          slot.reader.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        error(slot, "closed by the daemon",
              n == 0 ? std::string("end of file") +
                           (slot.waiting != Expect::kNothing
                                ? std::string(" awaiting '") + slot.waiting_for + "' reply"
                                : std::string(" while idle"))
                     : std::string(std::strerror(errno)));
        return;
      }
      try {
        while (slot.fd >= 0) {
          std::optional<ts::Reply> reply = slot.reader.next();
          if (!reply) break;
          on_reply(slot, std::move(*reply));
        }
      } catch (const std::exception& e) {
        error(slot, "bad reply", e.what());
        return;
      }
    }
    advance(slot);
  }

  void poll_once() {
    epoll_event events[256];
    const int n = ::epoll_wait(epoll_, events, 256,
                               static_cast<int>(std::chrono::milliseconds(kTick).count()));
    for (int i = 0; i < n; ++i) {
      on_event(slots_[events[i].data.u32], events[i].events);
    }
    const auto now = Clock::now();
    if (now < next_scan_) return;
    next_scan_ = now + kTick;
    for (Slot& slot : slots_) {
      if (slot.done || slot.parked) continue;
      if (slot.waiting != Expect::kNothing && now > slot.reply_deadline) {
        error(slot, "reply timeout",
              std::string("no reply to '") + slot.waiting_for + "' within " +
                  std::to_string(std::chrono::seconds(kReplyTimeout).count()) + " s");
        continue;
      }
      if (slot.waiting == Expect::kNothing && slot.wake_at <= now && !slot.holding) advance(slot);
    }
  }

  const Options options_;
  const std::uint16_t port_;
  const std::string unix_path_;
  const ts::MilterMessage message_;
  std::vector<ts::Stage> message_stages_;
  std::vector<ts::Stage> prefix_stages_;
  std::string first_body_packet_;
  std::string second_body_packet_;
  std::mt19937 rng_;
  int epoll_ = -1;
  std::vector<Slot> slots_;
  Phase phase_ = Phase::kBurst;
  BurstResult burst_;
  Clock::time_point last_negotiation_{};
  Clock::time_point next_scan_{};
  Stats stats_;
};

double megabytes(std::uint64_t kb) { return static_cast<double>(kb) / 1024.0; }

// Waits (bounded) until the fd and thread counts hold still for a few samples.
std::optional<ts::ProcStatus> settled_status(pid_t pid, std::chrono::seconds bound) {
  const auto deadline = Clock::now() + bound;
  std::optional<ts::ProcStatus> last = ts::read_proc_status(pid);
  int stable = 0;
  while (last && Clock::now() < deadline && stable < 5) {
    std::this_thread::sleep_for(100ms);
    const std::optional<ts::ProcStatus> now = ts::read_proc_status(pid);
    if (!now) return std::nullopt;
    stable = now->fds == last->fds && now->threads == last->threads ? stable + 1 : 0;
    last = now;
  }
  return last;
}

struct Check {
  std::string name;
  bool passed;
  std::string detail;
};

int run(const Options& options) {
  const rlim_t fd_limit = raise_fd_limit(options.connections);
  if (fd_limit < static_cast<rlim_t>(options.connections) + kSpareFds) {
    std::fprintf(stderr, "authmilter_soak: RLIMIT_NOFILE is %llu, too low for %d connections\n",
                 static_cast<unsigned long long>(fd_limit), options.connections);
    return 2;
  }

  const dkim::testing::Key key = dkim::testing::generate_rsa(2048);
  dns::ZoneResolver zone;
  zone.load(kZone);
  zone.add_txt(std::string(kSelector) + "._domainkey.example.org",
               dkim::testing::txt_strings(dkim::testing::key_record(key.get())));
  const ts::MilterMessage message = signed_message(key.get());
  ts::LoopbackDnsServer dns_server(zone);

  char dir_template[] = "/tmp/authmilter-soak-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir = dir_template;
  const std::string config_path = dir / "authmilter.conf";
  const std::string log_path = dir / "authmilter.log";
  const std::string unix_path = options.unix_socket ? std::string(dir / "milter.sock") : "";
  const std::uint16_t port = options.unix_socket ? 0 : ts::free_loopback_port();
  const std::string socket_spec =
      options.unix_socket ? "unix:" + unix_path : "inet:" + std::to_string(port) + "@127.0.0.1";
  {
    std::ofstream out(config_path);
    out << ts::load_test_daemon_config(socket_spec, dns_server.spec());
    if (!out) throw std::runtime_error("cannot write " + config_path);
  }

  std::vector<Check> checks;
  bool keep_log = false;
  {
    ts::DaemonProcess daemon(AUTHMILTER_DAEMON_PATH, config_path, log_path);
    const pid_t pid = daemon.pid();
    auto open_client = [&] {
      return options.unix_socket ? ts::MilterClient::unix_socket(unix_path)
                                 : ts::MilterClient::tcp(port);
    };
    // One message on a fresh connection: accepted with spf, dkim and dmarc pass?
    auto one_message = [&]() -> std::string {
      try {
        ts::MilterClient client = open_client();
        client.negotiate();
        client.connect_and_helo(kHelo, kClientIp);
        const ts::EomOutcome outcome = client.message(message);
        const std::string ar = outcome.authentication_results();
        if (expected_outcome(outcome.verdict, ar)) return "";
        return std::string("verdict '") + outcome.verdict + "', A-R: " + ar;
      } catch (const std::exception& e) {
        return e.what();
      }
    };

    // Start-up: wait (bounded) for the socket, then warm the DNS cache.
    std::string warm_up = "not started";
    for (const auto deadline = Clock::now() + kStartTimeout;
         Clock::now() < deadline && daemon.running();) {
      warm_up = one_message();
      if (warm_up.empty()) break;
      std::this_thread::sleep_for(50ms);
    }
    if (!warm_up.empty()) {
      std::fprintf(stderr, "authmilter_soak: the daemon did not come up or answer: %s (log: %s)\n",
                   warm_up.c_str(), log_path.c_str());
      return 2;
    }
    const std::optional<ts::ProcStatus> baseline = settled_status(pid, 5s);
    if (!baseline) throw std::runtime_error("cannot read /proc for the daemon");
    std::printf(
        "daemon pid %d, %s, RLIMIT_NOFILE %llu; baseline: VmRSS %.1f MB, %zu fds, %zu "
        "threads\n",
        static_cast<int>(pid), socket_spec.c_str(), static_cast<unsigned long long>(fd_limit),
        megabytes(baseline->rss_kb), baseline->fds, baseline->threads);

    Soak soak(options, port, unix_path, message);

    // 1. Burst.
    const Soak::BurstResult burst = soak.burst();
    const double burst_ms = static_cast<double>(burst.elapsed.count()) / 1000.0;
    const bool burst_complete = burst.negotiated == static_cast<std::size_t>(options.connections);
    {
      const std::optional<ts::ProcStatus> at_burst = ts::read_proc_status(pid);
      std::printf(
          "burst: %zu of %d connections negotiated in %.0f ms (%zu failed); daemon "
          "then: %zu fds, %zu threads\n",
          burst.negotiated, options.connections, burst_ms, burst.failed,
          at_burst ? at_burst->fds : 0, at_burst ? at_burst->threads : 0);
    }
    checks.push_back(
        {"every burst connection negotiated", burst_complete,
         std::to_string(burst.negotiated) + " of " + std::to_string(options.connections)});
    if (options.burst_limit_ms > 0) {
      checks.push_back({"burst within " + std::to_string(options.burst_limit_ms) + " ms",
                        burst_complete && burst_ms <= options.burst_limit_ms,
                        std::to_string(static_cast<long>(burst_ms)) + " ms"});
    }

    // 2. Soak, sampling the daemon.
    std::uint64_t peak_rss_kb = 0;
    std::size_t peak_fds = 0, peak_threads = 0, min_open = SIZE_MAX, max_open = 0;
    bool died = false;
    bool ending = false;
    int second = 0;
    auto sample = [&] {
      if (!daemon.running()) {
        died = true;
        return false;
      }
      if (const std::optional<ts::ProcStatus> status = ts::read_proc_status(pid)) {
        peak_rss_kb = std::max(peak_rss_kb, status->rss_kb);
        peak_fds = std::max(peak_fds, status->fds);
        peak_threads = std::max(peak_threads, status->threads);
        const std::size_t open = soak.open_connections();
        // The first sample comes before the roles have settled; the end phase closes them.
        if (second > 0 && !ending) {
          min_open = std::min(min_open, open);
          max_open = std::max(max_open, open);
        }
        if (second % 10 == 0) {
          std::printf(
              "  t=%3ds: %zu client connections open, daemon VmRSS %.1f MB, %zu fds, %zu "
              "threads, %llu messages answered\n",
              second, open, megabytes(status->rss_kb), status->fds, status->threads,
              static_cast<unsigned long long>(soak.stats().messages_completed));
          std::fflush(stdout);
        }
      }
      ++second;
      return true;
    };
    if (!died) soak.run(std::chrono::seconds(options.duration_s), sample);
    ending = true;
    const bool finished = !died && soak.finish(sample);
    if (!daemon.running()) died = true;
    checks.push_back({"every connection finished within " +
                          std::to_string(std::chrono::seconds(kEndTimeout).count()) + " s",
                      finished, std::to_string(soak.open_slots()) + " left"});

    const Stats& stats = soak.stats();
    std::printf(
        "soak: %d s, %zu-%zu client connections open (sampled each second), %llu connections "
        "opened in all; %llu messages answered (%llu accepted with spf, dkim and dmarc pass) of "
        "%llu "
        "ends of message sent; %llu resets (%llu mid-body, %llu right after end of message), "
        "%llu aborts, %llu open-and-close\n",
        options.duration_s, min_open == SIZE_MAX ? 0 : min_open, max_open,
        static_cast<unsigned long long>(stats.connections_opened),
        static_cast<unsigned long long>(stats.messages_completed),
        static_cast<unsigned long long>(stats.verdicts_expected),
        static_cast<unsigned long long>(stats.eom_sent),
        static_cast<unsigned long long>(stats.resets),
        static_cast<unsigned long long>(stats.resets - stats.resets_after_eom),
        static_cast<unsigned long long>(stats.resets_after_eom),
        static_cast<unsigned long long>(stats.aborts),
        static_cast<unsigned long long>(stats.open_closes));
    // VmHWM also covers the moments between samples, e.g. the end, when every idle
    // connection sends its message at once.
    const std::optional<ts::ProcStatus> at_end = ts::read_proc_status(pid);
    const std::uint64_t hwm_kb = std::max(peak_rss_kb, at_end ? at_end->hwm_kb : 0);
    std::printf(
        "daemon at %d connections: VmRSS up to %.1f MB (sampled each second), VmHWM %.1f MB "
        "(the peak over its whole life); up to %zu fds, %zu threads\n",
        options.connections, megabytes(peak_rss_kb), megabytes(hwm_kb), peak_fds, peak_threads);
    for (const auto& [kind, count] : stats.errors) {
      std::printf("  errors: %s: %llu\n", kind.c_str(), static_cast<unsigned long long>(count));
    }
    for (const std::string& line : stats.first_errors) std::printf("  e.g. %s\n", line.c_str());

    checks.push_back(
        {"daemon alive throughout", !died,
         died && daemon.exit_status() ? ts::describe_wait_status(*daemon.exit_status()) : ""});
    checks.push_back({"no connection errors", stats.error_count() == 0,
                      std::to_string(stats.error_count()) + " errors"});
    checks.push_back(
        {"every end of message got a verdict",
         stats.eom_sent == stats.messages_completed && stats.eom_sent > 0,
         std::to_string(stats.messages_completed) + " of " + std::to_string(stats.eom_sent)});
    if (options.rss_limit_mb > 0) {
      checks.push_back({"peak RSS (VmHWM) at most " + std::to_string(options.rss_limit_mb) + " MB",
                        hwm_kb <= static_cast<std::uint64_t>(options.rss_limit_mb) * 1024,
                        std::to_string(hwm_kb / 1024) + " MB"});
    }

    // 3. Back to baseline, still answering, clean exit.
    if (!died) {
      const auto settle_start = Clock::now();
      const auto deadline = settle_start + std::chrono::seconds(options.settle_s);
      std::optional<ts::ProcStatus> after = ts::read_proc_status(pid);
      while (after && (after->fds > baseline->fds || after->threads > baseline->threads) &&
             Clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        after = ts::read_proc_status(pid);
      }
      const double waited = std::chrono::duration<double>(Clock::now() - settle_start).count();
      if (after) {
        std::printf(
            "after: %zu fds (baseline %zu), %zu threads (baseline %zu), VmRSS %.1f MB, "
            "VmHWM %.1f MB, after %.1f s\n",
            after->fds, baseline->fds, after->threads, baseline->threads, megabytes(after->rss_kb),
            megabytes(after->hwm_kb), waited);
      }
      checks.push_back({"fds back to baseline within " + std::to_string(options.settle_s) + " s",
                        after && after->fds <= baseline->fds,
                        after ? std::to_string(after->fds) + " vs " + std::to_string(baseline->fds)
                              : "no /proc"});
      checks.push_back(
          {"threads back to baseline within " + std::to_string(options.settle_s) + " s",
           after && after->threads <= baseline->threads,
           after ? std::to_string(after->threads) + " vs " + std::to_string(baseline->threads)
                 : "no /proc"});
      const std::string last = one_message();
      checks.push_back({"a new connection still gets its verdict", last.empty(), last});
      bool killed = false;
      const int status = daemon.stop(&killed);
      checks.push_back({"SIGTERM: exit 0 within " +
                            std::to_string(ts::DaemonProcess::kStopTimeout.count()) + " s",
                        !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        killed ? "killed" : ts::describe_wait_status(status)});
    }
    // Clients that vanish are the clients' doing: none of it may count as our own failure.
    {
      std::ifstream log_in(log_path);
      std::string line;
      std::size_t internal_errors = 0;
      while (std::getline(log_in, line)) {
        if (line.find("event=internal_error") != std::string::npos) ++internal_errors;
      }
      checks.push_back({"no internal error logged", internal_errors == 0,
                        std::to_string(internal_errors) + " event=internal_error lines"});
    }
    for (const Check& check : checks) keep_log = keep_log || !check.passed;
  }

  bool all_passed = true;
  for (const Check& check : checks) {
    std::printf("%s  %s%s%s\n", check.passed ? "PASS" : "FAIL", check.name.c_str(),
                check.detail.empty() ? "" : ": ", check.detail.c_str());
    all_passed = all_passed && check.passed;
  }
  std::error_code ignored;
  if (keep_log) {
    std::printf("daemon log kept: %s\n", log_path.c_str());
  } else {
    std::filesystem::remove_all(dir, ignored);
  }
  return all_passed ? 0 : 1;
}

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--connections N (1..%d, default 1000)] [--duration SECONDS (1..%d, "
               "default 60)] [--unix] [--think-ms MS (default 500)] [--burst-limit-ms MS "
               "(default 1000, 0: report only)] [--rss-limit-mb MB (default 64, 0: report "
               "only)] [--settle SECONDS (default 15)]\n",
               program, kMaxConnections, kMaxDuration);
  return 2;
}

}  // namespace
}  // namespace authmilter::soak

int main(int argc, char** argv) {
  using namespace authmilter::soak;
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto number = [&](int low, int high, int& out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      const long value = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || value < low || value > high) return false;
      out = static_cast<int>(value);
      return true;
    };
    bool ok = true;
    if (arg == "--unix") {
      options.unix_socket = true;
    } else if (arg == "--connections") {
      ok = number(1, kMaxConnections, options.connections);
    } else if (arg == "--duration") {
      ok = number(1, kMaxDuration, options.duration_s);
    } else if (arg == "--think-ms") {
      ok = number(0, 60000, options.think_ms);
    } else if (arg == "--burst-limit-ms") {
      ok = number(0, 600000, options.burst_limit_ms);
    } else if (arg == "--rss-limit-mb") {
      ok = number(0, 1 << 20, options.rss_limit_mb);
    } else if (arg == "--settle") {
      ok = number(1, 600, options.settle_s);
    } else {
      ok = false;
    }
    if (!ok) return usage(argv[0]);
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "authmilter_soak: %s\n", e.what());
    return 2;
  }
}

// authmilter_e2e_bench: the real daemon, end to end, driven over the milter protocol.
//
//   build-bench/tests/bench/authmilter_e2e_bench [MESSAGES [CONNECTIONS]]
//
// What: starts a loopback DNS responder with the benchmark zone (bench_support.h), writes a
//   config (AuthservID mx.example.net, DNSServers that responder, Socket inet on a free
//   loopback port, Syslog no), runs the authmilter binary of this build in the foreground,
//   and plays an MTA: CONNECTIONS client threads (default 2) each open one milter connection
//   (protocol version 6, SMFIP_HDR_LEADSPC offered, so every stage is answered) and send
//   their share of MESSAGES (default 2000) typical messages (transaction_env.h: ~10 kB,
//   one rsa-sha256 2048-bit signature, SPF/DKIM/DMARC pass) one after another on it:
//   connect, HELO, MAIL, RCPT, header fields, end of headers, body, end of message, whose
//   replies must insert an Authentication-Results header saying dmarc=pass and accept.
//   A warm-up round (fills the daemon's DNS cache) is not timed. Prints messages per second
//   (wall clock) and the daemon's CPU time per message (/proc/PID/stat).
// Bounds: every socket read and write times out after kIoTimeout; MESSAGES at most
//   kMaxMessages; the daemon is stopped with SIGTERM (SIGKILL after 5 s) on every exit path.
// What it includes that the Transaction benchmark does not: libmilter's thread per
//   connection and its protocol work, the socket round trips of each stage, CaresResolver
//   cache hits, logging of the per-message summary line (to /dev/null).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "authmilter/cli/cli.h"
#include "bench_support.h"

extern char** environ;

namespace authmilter::bench {
namespace {

using namespace std::chrono_literals;

constexpr auto kIoTimeout = 10s;
constexpr int kMaxMessages = 1000000;
constexpr std::uint32_t kMilterVersion = 6;
constexpr std::uint32_t kAllActions = 0x1ff;
constexpr std::uint32_t kProtoHdrLeadspc = 0x100000;  // SMFIP_HDR_LEADSPC
constexpr std::size_t kChunk = 65535;                 // MILTER_CHUNK_SIZE

// ---- the daemon ----

class Daemon {
 public:
  Daemon(const std::string& binary, const std::string& config) {
    std::vector<std::string> args = {binary, "-f", "-c", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Per-message log lines go nowhere; errors too, but the replies show what went wrong.
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
  }
  ~Daemon() {
    if (reaped_) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(50ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool running() {
    if (!reaped_ && ::waitpid(pid_, nullptr, WNOHANG) == pid_) reaped_ = true;
    return !reaped_;
  }
  // User + system CPU seconds so far (/proc/PID/stat fields 14 and 15).
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- the MTA side of the milter protocol ----

class MilterClient {
 public:
  // `unix_path` empty: TCP to 127.0.0.1:`port`.
  MilterClient(const std::string& unix_path, std::uint16_t port) {
    fd_ = ::socket(unix_path.empty() ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    const timeval tv{std::chrono::duration_cast<std::chrono::seconds>(kIoTimeout).count(), 0};
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
      throw std::runtime_error("cannot connect to the milter");
    }
  }
  ~MilterClient() {
    send('Q', "");
    ::close(fd_);
  }

  void negotiate() {
    std::string data;
    put32(data, kMilterVersion);
    put32(data, kAllActions);
    put32(data, kProtoHdrLeadspc);
    send('O', data);
    const auto [cmd, reply] = receive();
    if (cmd != 'O' || reply.size() < 12) throw std::runtime_error("bad option negotiation");
    const std::uint32_t protocol = get32(reply, 8);
    if ((protocol & kProtoHdrLeadspc) == 0) throw std::runtime_error("HDR_LEADSPC refused");
  }

  // One SMTP connection's stages up to HELO.
  void connect_and_helo() {
    std::string connect = std::string(kHelo) + '\0' + '4';
    put16(connect, 25);
    connect += std::string(kClientIp) + '\0';
    expect_continue('C', connect);
    expect_continue('H', std::string(kHelo) + '\0');
  }

  // One message; true when the replies are what the typical message must get.
  bool message(const std::vector<std::pair<std::string, std::string>>& headers,
               const std::string& body) {
    send('D', std::string("M") + "i" + '\0' + "4ABCD1234" + '\0');
    expect_continue('M', std::string("<alice@example.org>") + '\0');
    expect_continue('R', std::string("<bob@example.net>") + '\0');
    for (const auto& [name, value] : headers) expect_continue('L', name + '\0' + value + '\0');
    expect_continue('N', "");
    for (std::size_t pos = 0; pos < body.size(); pos += kChunk) {
      expect_continue('B', body.substr(pos, kChunk));
    }
    send('E', "");
    bool dmarc_pass = false;
    for (;;) {
      const auto [cmd, reply] = receive();
      if (cmd == 'i' || cmd == 'h') {  // insheader / addheader
        dmarc_pass = dmarc_pass || reply.find("dmarc=pass") != std::string::npos;
        continue;
      }
      if (cmd == 'p' || cmd == 'm') continue;  // progress, chgheader
      return cmd == 'a' && dmarc_pass;         // accept
    }
  }

 private:
  static void put32(std::string& out, std::uint32_t v) {
    const std::uint32_t n = htonl(v);
    out.append(reinterpret_cast<const char*>(&n), 4);
  }
  static void put16(std::string& out, std::uint16_t v) {
    const std::uint16_t n = htons(v);
    out.append(reinterpret_cast<const char*>(&n), 2);
  }
  static std::uint32_t get32(const std::string& in, std::size_t at) {
    std::uint32_t n = 0;
    std::memcpy(&n, in.data() + at, 4);
    return ntohl(n);
  }

  void send(char cmd, const std::string& data) {
    std::string packet;
    put32(packet, static_cast<std::uint32_t>(data.size() + 1));
    packet.push_back(cmd);
    packet += data;
    std::size_t done = 0;
    while (done < packet.size()) {
      const ssize_t n = ::send(fd_, packet.data() + done, packet.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("milter connection: send failed");
      done += static_cast<std::size_t>(n);
    }
  }

  void read_exactly(char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::recv(fd_, out + done, size - done, 0);
      if (n <= 0) throw std::runtime_error("milter connection: no reply (timeout or closed)");
      done += static_cast<std::size_t>(n);
    }
  }

  std::pair<char, std::string> receive() {
    char length_bytes[4];
    read_exactly(length_bytes, 4);
    std::uint32_t length = 0;
    std::memcpy(&length, length_bytes, 4);
    length = ntohl(length);
    if (length == 0 || length > 16 * 1024 * 1024) throw std::runtime_error("bad reply length");
    std::string packet(length, '\0');
    read_exactly(packet.data(), length);
    return {packet[0], packet.substr(1)};
  }

  void expect_continue(char cmd, const std::string& data) {
    send(cmd, data);
    const auto [reply, text] = receive();
    if (reply != 'c') {
      throw std::runtime_error(std::string("stage '") + cmd + "' answered '" + reply + "' " + text);
    }
  }

  int fd_ = -1;
};

std::string daemon_config(const std::string& socket, const std::string& dns) {
  return "Socket " + socket +
         "\n"
         "AuthservID mx.example.net\n"
         "DNSServers " +
         dns +
         "\n"
         "Syslog no\n"
         "LogLevel info\n"
         "PublicSuffixList " +
         public_suffix_list_path() + "\n";
}

}  // namespace
}  // namespace authmilter::bench

int main(int argc, char** argv) {
  using namespace authmilter::bench;
  int messages = 2000;
  int connections = 2;
  bool inet = false;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--inet") {
      inet = true;
    } else if (positional++ == 0) {
      messages = std::atoi(argv[i]);
    } else {
      connections = std::atoi(argv[i]);
    }
  }
  if (messages < 1 || messages > kMaxMessages || connections < 1 || connections > 64) {
    std::fprintf(stderr, "usage: %s [--inet] [MESSAGES 1..%d [CONNECTIONS 1..64]]\n", argv[0],
                 kMaxMessages);
    return 2;
  }
  try {
    authmilter::dns::ZoneResolver zone;
    load_bench_zone(zone);
    LoopbackDnsServer dns(zone);

    const Message plain = typical_message(10 * 1024);
    const std::string text =
        with_signatures(
            plain, {dkim_sign(plain, "rsa-sha256", kDomain, kRsaSelector, rsa2048_key().get())})
            .text();
    const authmilter::cli::ParsedMessage parsed = authmilter::cli::parse_message(text);

    char dir_template[] = "/tmp/authmilter-e2e-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    const std::string dir = dir_template;
    const std::string config_path = dir + "/authmilter.conf";
    const std::string unix_path = inet ? "" : dir + "/milter.sock";
    struct Cleanup {
      std::string dir, config, sock;
      ~Cleanup() {
        ::unlink(config.c_str());
        if (!sock.empty()) ::unlink(sock.c_str());
        ::rmdir(dir.c_str());
      }
    } cleanup{dir, config_path, unix_path};
    const std::uint16_t port = inet ? free_port() : 0;
    const std::string socket_spec =
        inet ? "inet:" + std::to_string(port) + "@127.0.0.1" : "unix:" + unix_path;
    {
      std::ofstream out(config_path);
      out << daemon_config(socket_spec, dns.spec());
      if (!out) throw std::runtime_error("cannot write " + config_path);
    }

    Daemon daemon(AUTHMILTER_DAEMON_PATH, config_path);
    // Wait (bounded) for the socket.
    bool up = false;
    for (int i = 0; i < 200 && !up && daemon.running(); ++i) {
      try {
        MilterClient probe(unix_path, port);
        up = true;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(50ms);
      }
    }
    if (!up) throw std::runtime_error("the daemon did not open its socket (check the config)");

    auto run = [&](int count, int threads) {
      std::atomic<int> bad{0};
      std::vector<std::thread> workers;
      std::string error;
      std::atomic<bool> failed{false};
      for (int t = 0; t < threads; ++t) {
        const int share = count / threads + (t < count % threads ? 1 : 0);
        workers.emplace_back([&, share] {
          try {
            MilterClient client(unix_path, port);
            client.negotiate();
            client.connect_and_helo();
            for (int i = 0; i < share; ++i) {
              if (!client.message(parsed.headers, parsed.body)) ++bad;
            }
          } catch (const std::exception& e) {
            if (!failed.exchange(true)) error = e.what();
          }
        });
      }
      for (auto& w : workers) w.join();
      if (failed) throw std::runtime_error(error);
      return bad.load();
    };

    if (const int bad = run(std::min(messages, 100), connections); bad != 0) {
      throw std::runtime_error(std::to_string(bad) +
                               " warm-up messages not accepted with dmarc=pass");
    }
    const double cpu_before = daemon.cpu_seconds();
    const auto started = std::chrono::steady_clock::now();
    const int bad = run(messages, connections);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu = daemon.cpu_seconds() - cpu_before;
    std::printf(
        "%d messages of %zu bytes over %d %s connection(s): %.2f s, %.0f messages/s, "
        "daemon CPU %.0f us/message (%.0f messages per daemon CPU-second), "
        "%d unexpected replies\n",
        messages, text.size(), connections, inet ? "TCP" : "unix-socket", wall, messages / wall,
        cpu * 1e6 / messages, cpu > 0 ? messages / cpu : 0.0, bad);
    return bad == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "authmilter_e2e_bench: %s\n", e.what());
    return 1;
  }
}

// SIGHUP reload and the service manager protocol (issue 16 "Reload and service manager"): a
// reload changes AuthservID for the next message, a message in flight finishes on the
// configuration it began with, a broken file leaves the old one in force, a reload under load
// loses no message, and sd_notify's messages arrive in order on a NOTIFY_SOCKET the test binds
// (no systemd needed). Run under the ASan build too: a report makes the daemon exit 23.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

// The authserv-id of the Authentication-Results the daemon added, or "" when none.
std::string authserv_id_of(const EndOfMessage& reply) {
  for (const auto& [name, value] : reply.added) {
    if (name != "Authentication-Results") continue;
    std::size_t begin = value.find_first_not_of(" \t");
    if (begin == std::string::npos) return {};
    return value.substr(begin, value.find(';', begin) - begin);
  }
  return {};
}

void begin_message(MilterClient& client, const std::string& qid) {
  client.negotiate();
  client.connect_and_helo("mail.example.org", "192.0.2.40");
  ASSERT_EQ(mail_from(client, "alice@example.org", qid), 'c');
  ASSERT_EQ(rcpt_to(client, "bob@example.net"), 'c');
  ASSERT_EQ(header(client, "From", " Alice <alice@example.org>"), 'c');
  ASSERT_EQ(stage(client, test_support::kCmdEoh, ""), 'c');
}

EndOfMessage end_message(MilterClient& client) {
  EXPECT_EQ(stage(client, test_support::kCmdBody, "Hello.\r\n"), 'c');
  return end_of_message(client);
}

EndOfMessage one_message(std::uint16_t port, const std::string& qid) {
  MilterClient client = MilterClient::tcp(port);
  begin_message(client, qid);
  return end_message(client);
}

void rewrite_config(const DaemonProcess& daemon, const std::string& text) {
  const std::filesystem::path temp = daemon.dir() / "authmilter.conf.new";
  {
    std::ofstream out(temp);
    out << text;
  }
  std::filesystem::rename(temp, daemon.config_path());  // never a half-written file
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// Sends SIGHUP once the daemon is ready (as systemd's ExecReload comes only after READY=1)
// and waits for the n-th reload line with `result`.
bool reload(const DaemonProcess& daemon, const std::string& result, std::size_t nth = 1) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count(daemon.log(), "event=ready") == 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  if (::kill(daemon.pid(), SIGHUP) != 0) return false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (count(daemon.log(), "event=reload result=" + result) >= nth) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::string with_authserv_id(const DaemonProcess& daemon, const std::string& id) {
  std::string text = daemon.config_text();
  const std::string old_line = "AuthservID mx.example.net\n";
  text.replace(text.find(old_line), old_line.size(), "AuthservID " + id + "\n");
  return text;
}

TEST(DaemonReload, NewAuthservIdForTheNextMessageAndTheOldForTheOneInFlight) {
  DaemonProcess daemon;
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4REL0001")), "mx.example.net");

  MilterClient in_flight = MilterClient::tcp(daemon.port());
  begin_message(in_flight, "4REL0002");
  rewrite_config(daemon, with_authserv_id(daemon, "mx2.example.net") + "UMask 077\n");
  ASSERT_TRUE(reload(daemon, "applied")) << daemon.log();

  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4REL0003")), "mx2.example.net");
  // Begun before the reload: finishes on the configuration it began with.
  EXPECT_EQ(authserv_id_of(end_message(in_flight)), "mx.example.net");

  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("event=reload result=applied"), std::string::npos) << log;
  EXPECT_NE(log.find("authserv_id=mx2.example.net restart_needed=UMask"), std::string::npos) << log;
}

TEST(DaemonReload, BrokenFileKeepsTheRunningConfiguration) {
  DaemonProcess daemon;
  rewrite_config(daemon, daemon.config_text() + "MessageTimeout soon\n");
  ASSERT_TRUE(reload(daemon, "refused")) << daemon.log();
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4REL0010")), "mx.example.net");
  // A file that parses but names a public suffix list that is not there is refused too.
  rewrite_config(daemon, with_authserv_id(daemon, "mx3.example.net") +
                             "PublicSuffixList /nonexistent/public_suffix_list.dat\n");
  ASSERT_TRUE(reload(daemon, "refused", 2)) << daemon.log();
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4REL0011")), "mx.example.net");
  // A good file afterwards is taken.
  rewrite_config(daemon, with_authserv_id(daemon, "mx4.example.net"));
  ASSERT_TRUE(reload(daemon, "applied")) << daemon.log();
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4REL0012")), "mx4.example.net");

  EXPECT_TRUE(daemon.stop(20s).success()) << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("MessageTimeout"), std::string::npos) << log;
  EXPECT_NE(log.find("/nonexistent/public_suffix_list.dat"), std::string::npos) << log;
}

// Connections send messages back to back while the file flips between two AuthservIDs and
// SIGHUP arrives again and again: every message gets its verdict and an A-R of one of the two.
TEST(DaemonReload, ReloadsUnderLoadLoseNoMessage) {
  constexpr int kConnections = 6;
  constexpr int kMessagesEach = 40;
  constexpr int kReloads = 8;
  DaemonProcess daemon;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kConnections; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kMessagesEach; ++i) {
        try {
          const EndOfMessage reply =
              one_message(daemon.port(), "4LOAD" + std::to_string(t) + "x" + std::to_string(i));
          const std::string id = authserv_id_of(reply);
          if (reply.verdict == 'a' && (id == "mx.example.net" || id == "mx5.example.net")) {
            ++answered;
          } else {
            ++wrong;
          }
        } catch (const std::exception&) {
          ++wrong;
        }
      }
    });
  }
  for (int r = 1; r <= kReloads; ++r) {
    rewrite_config(daemon,
                   r % 2 == 1 ? with_authserv_id(daemon, "mx5.example.net") : daemon.config_text());
    EXPECT_TRUE(reload(daemon, "applied", static_cast<std::size_t>(r))) << daemon.log();
  }
  for (std::thread& sender : senders) sender.join();
  EXPECT_EQ(answered.load(), kConnections * kMessagesEach);
  EXPECT_EQ(wrong.load(), 0);
  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  EXPECT_EQ(count(daemon.log(), " verdict=accept"),
            static_cast<std::size_t>(kConnections * kMessagesEach));
}

// SIGHUPs in a burst, most of them while a reload is under way (a reload starts threads, and
// glibc's pthread_create blocks every signal in its caller meanwhile): each one is a reload,
// none is a stop. libmilter's own signal thread would take a SIGHUP as "stop" if it could
// receive one (listener.h, Signals).
TEST(DaemonReload, BurstOfSighupsOnlyReloads) {
  constexpr int kSignals = 60;
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.wait_for_log("event=ready", 10s)) << daemon.log();
  for (int i = 0; i < kSignals; ++i) {
    ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
    std::this_thread::sleep_for(i % 3 == 0 ? 1ms : 7ms);
  }
  // Signals that arrive while one is pending merge, so there are at most kSignals reloads.
  ASSERT_TRUE(daemon.wait_for_log("event=reload result=applied", 10s)) << daemon.log();
  std::this_thread::sleep_for(300ms);  // the last reload ends
  const std::string before_stop = daemon.log();
  EXPECT_EQ(count(before_stop, "event=stop"), 0u) << before_stop;
  EXPECT_GE(count(before_stop, "event=reload result=applied"), 2u) << before_stop;
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4HUP0001")), "mx.example.net");
  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  EXPECT_NE(daemon.log().find("event=stop cause=signal"), std::string::npos) << daemon.log();
}

// A SIGHUP that comes before the daemon is ready (a reload sent too early, or a terminal's
// hangup) is kept until the daemon serves and then reloads it: it never stops the daemon.
TEST(DaemonReload, SighupBeforeReadyReloadsOnceServing) {
  DaemonProcess daemon;  // returns once the port accepts, which may precede event=ready
  ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
  ASSERT_TRUE(daemon.wait_for_log("event=reload result=applied", 10s)) << daemon.log();
  EXPECT_EQ(authserv_id_of(one_message(daemon.port(), "4HUP0002")), "mx.example.net");
  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  EXPECT_NE(daemon.log().find("event=stop cause=signal"), std::string::npos) << daemon.log();
}

// A datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + path.string());
    }
    const timeval timeout{0, 100 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // Reads datagrams for up to `within` or until one contains `until`; returns them all.
  std::vector<std::string> read(std::chrono::milliseconds within, const std::string& until) {
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<std::size_t>(n));
      if (got.back().find(until) != std::string::npos) break;
    }
    return got;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

TEST(DaemonNotify, ReadyReloadingStoppingAndWatchdogInOrder) {
  char pattern[] = "/tmp/authmilter-notify-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::filesystem::path dir = pattern;
  std::vector<std::string> messages;
  {
    NotifySocket notify(dir / "notify.sock");
    // WatchdogSec=0.4s: a ping every 200 ms.
    DaemonProcess daemon(
        "", {"NOTIFY_SOCKET=" + (dir / "notify.sock").string(), "WATCHDOG_USEC=400000"});
    auto add = [&](const std::vector<std::string>& got) {
      messages.insert(messages.end(), got.begin(), got.end());
    };
    add(notify.read(10s, "READY=1"));
    add(notify.read(1s, "no such message"));  // watchdog pings meanwhile
    ASSERT_EQ(::kill(daemon.pid(), SIGHUP), 0);
    add(notify.read(10s, "STATUS=reloaded"));
    ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
    add(notify.read(10s, "STOPPING=1"));
    EXPECT_TRUE(daemon.stop(20s).success()) << daemon.log();
  }
  std::filesystem::remove_all(dir);

  std::vector<std::string> states;  // without the watchdog pings
  std::size_t pings = 0;
  for (const std::string& m : messages) {
    if (m == "WATCHDOG=1") {
      ++pings;
    } else {
      states.push_back(m);
    }
  }
  ASSERT_EQ(states.size(), 4u) << ::testing::PrintToString(messages);
  EXPECT_TRUE(starts_with(states[0], "READY=1\nSTATUS=serving on inet:")) << states[0];
  EXPECT_TRUE(starts_with(states[1], "RELOADING=1\nMONOTONIC_USEC=")) << states[1];
  EXPECT_EQ(states[2], "READY=1\nSTATUS=reloaded");
  EXPECT_EQ(states[3], "STOPPING=1");
  // About five in the second waited, plus those around the reload; a loose lower bound.
  EXPECT_GE(pings, 3u) << ::testing::PrintToString(messages);
}

}  // namespace
}  // namespace authmilter::testing

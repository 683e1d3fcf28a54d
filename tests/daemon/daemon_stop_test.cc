// SIGTERM with milter connections in flight (issue 10 §5, issue 11 item 4): the daemon stops
// accepting, lets messages in flight finish (or cuts them after MessageTimeout + a grace),
// destroys its services only after the last use, logs the counts and exits 0. Run under the
// ASan build too: a sanitizer report makes the daemon exit 23, not 0.
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "daemon_fixture.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

// The message begun by start_message() gets its body, end of message, the verdict accept and
// our A-R.
void finish_with_verdict(MilterClient& client) {
  EXPECT_EQ(stage(client, test_support::kCmdBody, "Hello.\r\n"), 'c');
  const EndOfMessage reply = end_of_message(client);
  EXPECT_EQ(reply.verdict, 'a');
  ASSERT_FALSE(reply.added.empty());
  EXPECT_EQ(reply.added.front().first, "Authentication-Results");
}

// The daemon stops on SIGTERM with exit 0, having drained the one message in flight.
void expect_one_drained_at_stop(DaemonProcess& daemon) {
  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("event=stop cause=signal messages_in_flight=1 drained=1 cut=0 "),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("ERROR: AddressSanitizer"), std::string::npos) << log;
}

TEST(DaemonStop, MessageInFlightAtSigtermGetsItsVerdict) {
  DaemonProcess daemon;
  MilterClient in_flight = MilterClient::tcp(daemon.port());
  start_message(in_flight, "192.0.2.20", "4STOP0001");
  MilterClient idle = MilterClient::tcp(daemon.port());
  idle.negotiate();
  idle.connect_and_helo("mail.example.org", "192.0.2.21");

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  ASSERT_TRUE(daemon.wait_for_log("event=draining messages_in_flight=1", 10s)) << daemon.log();

  // A new message on an open connection is deferred, not judged.
  EXPECT_EQ(mail_from(idle, "carol@example.org", "4STOP0002"), 'y');
  // The message in flight finishes and gets its verdict and A-R.
  finish_with_verdict(in_flight);
  expect_one_drained_at_stop(daemon);
}

// Signals sent while the daemon drains (an impatient admin, a second `systemctl stop`) change
// nothing: the message in flight still finishes. libmilter's own signal thread, which would
// stop its listener and cut the message, never takes them (listener.h, Signals).
TEST(DaemonStop, SignalsDuringTheDrainChangeNothing) {
  DaemonProcess daemon;
  MilterClient in_flight = MilterClient::tcp(daemon.port());
  start_message(in_flight, "192.0.2.22", "4STOP0003");

  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  ASSERT_TRUE(daemon.wait_for_log("event=draining messages_in_flight=1", 10s)) << daemon.log();
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGTERM}) {
    ASSERT_EQ(::kill(daemon.pid(), sig), 0);
    std::this_thread::sleep_for(50ms);
  }
  finish_with_verdict(in_flight);
  expect_one_drained_at_stop(daemon);
}

TEST(DaemonStop, StalledMessageIsCutAfterTheBoundAndTheConnectionCloses) {
  DaemonProcess daemon;  // MessageTimeout 1s: the drain bound is 1 s + kDrainGrace (5 s)
  MilterClient stalled = MilterClient::tcp(daemon.port(), 30s);
  start_message(stalled, "192.0.2.30", "4STOP0003");
  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  const auto sent = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_peer(stalled));  // the process ended; nothing half-written
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 20s);
  const integration::ExitStatus status = daemon.stop(20s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  const std::string log = daemon.log();
  EXPECT_NE(log.find("messages_in_flight=1 drained=0 cut=1 connections_open=1"), std::string::npos)
      << log;
}

// Many connections sending messages when SIGTERM arrives: every message either gets its
// verdict or a deferral, or its connection is closed; no timeout, no crash, exit 0.
TEST(DaemonStop, ManyConnectionsInFlightAtSigterm) {
  constexpr int kConnections = 24;
  constexpr int kMaxMessagesEach = 200;
  DaemonProcess daemon;
  std::atomic<int> verdicts{0};
  std::atomic<int> deferred{0};
  std::atomic<int> eom_deferred{0};
  std::atomic<int> closed{0};
  std::atomic<int> timeouts{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kConnections; ++t) {
    senders.emplace_back([&, t] {
      try {
        MilterClient client = MilterClient::tcp(daemon.port(), 15s);
        client.negotiate();
        client.connect_and_helo("mail.example.org", "192.0.2." + std::to_string(40 + t));
        for (int m = 0; m < kMaxMessagesEach; ++m) {
          if (mail_from(client, "alice@example.org", "4MANY" + std::to_string(t * 1000 + m)) !=
              'c') {
            ++deferred;
            return;
          }
          rcpt_to(client, "bob@example.net");
          header(client, "From", " Alice <alice@example.org>");
          stage(client, test_support::kCmdEoh, "");
          stage(client, test_support::kCmdBody, "Hello.\r\n");
          const EndOfMessage reply = end_of_message(client);
          if (reply.verdict == 'a') ++verdicts;
          if (reply.verdict == 'y' || reply.verdict == 't') ++eom_deferred;
        }
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find("timeout") != std::string::npos) {
          ++timeouts;
        } else {
          ++closed;
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (verdicts.load() < 2 * kConnections && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(::kill(daemon.pid(), SIGTERM), 0);
  for (auto& sender : senders) sender.join();
  const integration::ExitStatus status = daemon.stop(30s);
  EXPECT_TRUE(status.success()) << status.describe() << "\n" << daemon.log();
  EXPECT_EQ(timeouts.load(), 0);
  EXPECT_GT(verdicts.load(), 0);
  EXPECT_EQ(eom_deferred.load(), 0);  // a message begun before the stop is judged
  EXPECT_EQ(deferred.load() + closed.load(), kConnections)
      << "verdicts=" << verdicts << " deferred=" << deferred << " closed=" << closed;
  const std::string log = daemon.log();
  EXPECT_NE(log.find("event=stop cause=signal"), std::string::npos) << log;
  EXPECT_EQ(log.find("ERROR: AddressSanitizer"), std::string::npos) << log;
}

}  // namespace
}  // namespace authmilter::testing

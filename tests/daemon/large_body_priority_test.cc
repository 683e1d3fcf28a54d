// A large body while the daemon is busy (more messages in flight than two per core) is served
// at the lowest CPU priority, so that small messages' verdicts come first, and no thread of
// the daemon stays lowered after it (milter/thread_priority.h, issue 15). The per-message log
// line says body_priority=low for that message only; /proc shows the threads' nice values.
#include <sched.h>
#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "milter_steps.h"

namespace authmilter::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kLoweredNice = 19;
constexpr std::size_t kChunk = 65535;    // what Postfix and Sendmail send
constexpr std::size_t kLargeChunks = 5;  // 327,675 bytes: past the 256 KiB limit

// The nice value of every thread of `pid` (field 19 of /proc/PID/task/TID/stat).
std::vector<int> thread_nices(pid_t pid) {
  std::vector<int> nices;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
    std::ifstream in(task.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    const std::size_t name_end = stat.rfind(')');
    if (name_end == std::string::npos) continue;  // the thread ended meanwhile
    std::istringstream fields(stat.substr(name_end + 1));
    std::string field;
    for (int number = 3; number <= 19 && fields >> field; ++number) {
      if (number == 19) nices.push_back(std::stoi(field));
    }
  }
  return nices;
}

std::size_t cores_of(pid_t pid) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(pid, sizeof allowed, &allowed) != 0) return 1;
  return static_cast<std::size_t>(CPU_COUNT(&allowed));
}

// Sends `chunks` full body chunks and end of message; the verdict must be accept.
void finish(MilterClient& client, std::size_t chunks) {
  std::string chunk;
  while (chunk.size() + 66 <= kChunk) chunk += std::string(64, 'b') + "\r\n";
  chunk.resize(kChunk, 'b');
  for (std::size_t i = 0; i < chunks; ++i) {
    ASSERT_EQ(stage(client, test_support::kCmdBody, chunk), 'c') << "chunk " << i;
  }
  EXPECT_EQ(end_of_message(client).verdict, 'a');
}

// The log line of message `qid` (empty when it is not there within 10 s).
std::string line_of(const DaemonProcess& daemon, const std::string& qid) {
  const std::string key = "queue=" + qid + " ";
  if (!daemon.wait_for_log(key, 10s)) return {};
  const std::string log = daemon.log();
  const std::size_t at = log.find(key);
  return log.substr(at, log.find('\n', at) - at);
}

TEST(LargeBodyPriority, BusyDaemonServesTheLargeBodyLowAndRestoresEveryThread) {
  DaemonProcess daemon;
  if (daemon.wait_for_log("event=thread_priority", 200ms)) {
    GTEST_SKIP() << "this environment may not give a thread its priority back";
  }
  // Two per core are in flight besides the large message: the daemon is busy.
  const std::size_t others = 2 * cores_of(daemon.pid());
  std::vector<MilterClient> clients;
  clients.reserve(others);
  for (std::size_t i = 0; i < others; ++i) {
    clients.push_back(MilterClient::tcp(daemon.port()));
    start_message(clients.back(), "192.0.2.40", "4PRIO" + std::to_string(1000 + i));
  }
  MilterClient large = MilterClient::tcp(daemon.port());
  start_message(large, "192.0.2.41", "4PRIOLARGE");
  finish(large, kLargeChunks);
  // Its end of message gave the thread its priority back; no other thread was lowered.
  for (const int nice : thread_nices(daemon.pid())) EXPECT_NE(nice, kLoweredNice);

  for (MilterClient& client : clients) finish(client, 1);
  EXPECT_NE(line_of(daemon, "4PRIOLARGE").find(" body_priority=low "), std::string::npos)
      << daemon.log();
  for (std::size_t i = 0; i < others; ++i) {
    const std::string line = line_of(daemon, "4PRIO" + std::to_string(1000 + i));
    ASSERT_FALSE(line.empty()) << daemon.log();
    EXPECT_EQ(line.find("body_priority"), std::string::npos) << line;
  }
  for (const int nice : thread_nices(daemon.pid())) EXPECT_NE(nice, kLoweredNice);
}

// Alone, or with a few others, the large message keeps its priority: the cores serve them all.
TEST(LargeBodyPriority, QuietDaemonKeepsTheLargeBodysPriority) {
  DaemonProcess daemon;
  MilterClient other = MilterClient::tcp(daemon.port());
  start_message(other, "192.0.2.42", "4PRIO2000");
  MilterClient large = MilterClient::tcp(daemon.port());
  start_message(large, "192.0.2.43", "4PRIOQUIET");
  finish(large, kLargeChunks);
  finish(other, 1);
  const std::string line = line_of(daemon, "4PRIOQUIET");
  ASSERT_FALSE(line.empty()) << daemon.log();
  EXPECT_EQ(line.find("body_priority"), std::string::npos) << line;
}

}  // namespace
}  // namespace authmilter::testing

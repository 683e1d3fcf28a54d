// The Recorder: records reach the store through the queue; a full queue or a store that is
// gone drops and counts, never blocks; records wait while the store is away and are written
// once it is back; stop is bounded.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "authmilter/metrics/metrics.h"
#include "authmilter/report/recorder.h"
#include "temp_dir.h"

namespace authmilter::report {
namespace {

using namespace std::chrono_literals;

using TempDir = authmilter::testing::TempDir;

Record sample(std::int64_t time) {
  Record r;
  r.time = time;
  r.source_ip = "192.0.2.1";
  r.header_from = r.policy_domain = "example.org";
  r.p = r.sp = "none";
  r.adkim = r.aspf = "r";
  r.disposition = "none";
  r.dmarc_dkim = r.dmarc_spf = "fail";
  return r;
}

Recorder::StoreOpener opener(const std::string& path) {
  return [path] { return open_store(StoreSpec{StoreKind::kSqlite, path}); };
}

TEST(Recorder, WritesEverythingSubmitted) {
  TempDir dir;
  const std::string db = dir.path() + "/reports.db";
  {
    Recorder recorder(opener(db));
    for (int i = 0; i < 1234; ++i) EXPECT_TRUE(recorder.submit(sample(i)));
    ASSERT_TRUE(recorder.flush(20s));
    EXPECT_EQ(recorder.written(), 1234u);
    EXPECT_EQ(recorder.dropped(), 0u);
  }
  EXPECT_EQ(open_store(StoreSpec{StoreKind::kSqlite, db})->records("example.org", 0, 2000).size(),
            1234u);
}

TEST(Recorder, StopWritesWhatIsQueued) {
  TempDir dir;
  const std::string db = dir.path() + "/reports.db";
  {
    Recorder recorder(opener(db));
    for (int i = 0; i < 300; ++i) recorder.submit(sample(i));
  }  // destructor drains
  EXPECT_EQ(open_store(StoreSpec{StoreKind::kSqlite, db})->records("example.org", 0, 2000).size(),
            300u);
}

TEST(Recorder, AStoreThatIsGoneDropsAndCountsWithoutBlocking) {
  TempDir dir;
  const std::string missing = dir.path() + "/not-yet/reports.db";  // directory does not exist
  Recorder recorder(opener(missing), RecorderOptions{10, 200ms});
  // The writer's first batch meets the failed open and is dropped; meanwhile the queue holds
  // at most 10, the rest are refused at once.
  std::size_t accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += recorder.submit(sample(i)) ? 1 : 0;
  // A blocking submit would have waited for room and accepted them all: at most the queue
  // plus one batch the writer took off it.
  EXPECT_LE(accepted, 21u);
  EXPECT_GE(recorder.dropped(), 79u);
  EXPECT_EQ(recorder.written(), 0u);
}

TEST(Recorder, DropsCountIntoTheProcessCounterAcrossRecorders) {
  // A reload replaces the Recorder; the metric behind it is the daemon's counter, so it goes
  // on from where the old Recorder left it instead of starting again from 0.
  TempDir dir;
  metrics::Counter total;
  std::uint64_t first = 0;
  {
    Recorder recorder(opener(dir.path() + "/gone/reports.db"), RecorderOptions{10, 200ms, &total});
    for (int i = 0; i < 50; ++i) recorder.submit(sample(i));
    first = recorder.dropped();
  }
  ASSERT_GE(first, 1u);
  EXPECT_GE(total.value(), first);  // plus what stopping dropped from the queue
  const std::uint64_t before_second = total.value();
  std::uint64_t second_dropped = 0;
  {
    Recorder second(opener(dir.path() + "/gone/reports.db"), RecorderOptions{10, 200ms, &total});
    for (int i = 0; i < 50; ++i) second.submit(sample(i));
    second_dropped = second.dropped();
  }
  ASSERT_GE(second_dropped, 1u);
  // The writer thread may drop more while stopping, never less.
  EXPECT_GE(total.value(), before_second + second_dropped);
}

TEST(Recorder, RecordsWaitForAStoreThatComesBack) {
  TempDir dir;
  const std::string parent = dir.path() + "/later";
  const std::string db = parent + "/reports.db";
  Recorder recorder(opener(db), RecorderOptions{1000, 200ms});
  recorder.submit(sample(1));  // the open fails: this one is dropped, the writer backs off
  for (int i = 0; i < 50 && recorder.store_failures() == 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(recorder.store_failures(), 1u);
  for (int i = 2; i <= 20; ++i) EXPECT_TRUE(recorder.submit(sample(i)));
  std::filesystem::create_directory(parent);
  ASSERT_TRUE(recorder.flush(20s));  // the next attempt (after kReopenMin) succeeds
  EXPECT_EQ(recorder.written(), 19u);
  EXPECT_EQ(recorder.dropped(), 1u);
}

TEST(Recorder, StopIsBoundedWhenTheStoreIsGone) {
  TempDir dir;
  std::uint64_t dropped = 0;
  {
    Recorder recorder(opener(dir.path() + "/gone/reports.db"), RecorderOptions{1000, 300ms});
    for (int i = 0; i < 500; ++i) recorder.submit(sample(i));
    recorder.flush(100ms);
    dropped = recorder.dropped();
  }  // returns (the store never comes back): what is queued is dropped
  EXPECT_GE(dropped, 1u);
}

}  // namespace
}  // namespace authmilter::report

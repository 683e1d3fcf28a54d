// metrics: counters, labelled counters and the latency histogram's buckets.
#include "authmilter/metrics/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace authmilter::metrics {
namespace {

using namespace std::chrono_literals;

TEST(Histogram, ObservationsLandInTheFirstBucketNotBelowThem) {
  Histogram histogram;
  histogram.observe(0ns);    // le 0.0005
  histogram.observe(500us);  // exactly at the bound: le 0.0005
  histogram.observe(501us);  // le 0.001
  histogram.observe(30s);    // le 30
  histogram.observe(31s);    // +Inf
  histogram.observe(-5ms);   // a clock step back counts as 0
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, 6u);
  EXPECT_EQ(snapshot.buckets[0], 3u);
  EXPECT_EQ(snapshot.buckets[1], 1u);
  EXPECT_EQ(snapshot.buckets[Histogram::kBuckets - 1], 1u);
  EXPECT_EQ(snapshot.buckets[Histogram::kBuckets], 1u);
  EXPECT_DOUBLE_EQ(snapshot.sum_seconds, 0.0005 + 0.000501 + 30 + 31);
}

TEST(LabelledCounters, OneSeriesPerLabelValuesInOrder) {
  LabelledCounters<2> counters;
  counters.add({"accept", "untrusted"});
  counters.add({"reject", "untrusted"}, 2);
  counters.add({"accept", "untrusted"});
  const auto values = counters.values();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].first[0], "accept");
  EXPECT_EQ(values[0].second, 2u);
  EXPECT_EQ(values[1].first[0], "reject");
  EXPECT_EQ(values[1].second, 2u);
}

// Many threads counting at once lose nothing (bounded: 4 threads x 10,000).
TEST(LabelledCounters, ConcurrentAddsAreAllCounted) {
  LabelledCounters<1> counters;
  Histogram histogram;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counters.add({t % 2 == 0 ? "even" : "odd"});
        histogram.observe(1ms);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto values = counters.values();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].second + values[1].second, 40000u);
  EXPECT_EQ(histogram.snapshot().count, 40000u);
}

}  // namespace
}  // namespace authmilter::metrics

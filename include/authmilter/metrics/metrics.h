// authmilter::metrics — the daemon's counters and latency histograms, cheap on the hot path.
//
// What: Counter (one relaxed atomic add), Histogram (fixed latency buckets: one bucket add,
//   a sum and a count, all relaxed atomics, no lock) and LabelledCounters (counters keyed by
//   label values, created on first use under a mutex; the lookup takes that mutex). The
//   exposition (MetricsListen, Prometheus text format) reads them on its own thread
//   (daemon/metrics_server.h); docs/metrics.md lists every series.
// Why not prometheus-cpp's own metrics on the hot path: its Histogram::Observe takes a mutex
//   per observation (prometheus-cpp 1.0); tests/bench/bench_metrics.cc measures both.
// Limits: label values are the caller's fixed vocabularies (RFC result tokens, verdicts, DNS
//   types), never text from mail, so the number of series is bounded by those vocabularies.
// Consistency: a scrape reads each atomic once; a histogram's count, sum and buckets may be
//   one observation apart from each other while messages flow.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authmilter::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Upper bounds of the latency buckets, in seconds (+Inf is implied).
inline constexpr std::array<double, 16> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30};

class Histogram {
 public:
  static constexpr std::size_t kBuckets = kLatencyBounds.size();

  struct Snapshot {
    std::array<std::uint64_t, kBuckets + 1> buckets{};  // per bucket (not cumulative), +Inf last
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };

  void observe(std::chrono::nanoseconds duration) noexcept;
  Snapshot snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Counters keyed by N label values.
template <std::size_t N>
class LabelledCounters {
 public:
  using Key = std::array<std::string, N>;

  // The counter for these label values (created at 0 on first use); the reference stays valid.
  Counter& at(const std::array<std::string_view, N>& labels) {
    Key key;
    for (std::size_t i = 0; i < N; ++i) key[i] = std::string(labels[i]);
    std::lock_guard lock(mutex_);
    std::unique_ptr<Counter>& counter = counters_[std::move(key)];
    if (!counter) counter = std::make_unique<Counter>();
    return *counter;
  }
  void add(const std::array<std::string_view, N>& labels, std::uint64_t n = 1) {
    at(labels).add(n);
  }
  // Every series so far, in label order.
  std::vector<std::pair<Key, std::uint64_t>> values() const {
    std::vector<std::pair<Key, std::uint64_t>> out;
    std::lock_guard lock(mutex_);
    for (const auto& [key, counter] : counters_) out.emplace_back(key, counter->value());
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<Key, std::unique_ptr<Counter>> counters_;
};

// What the milter layer counts per message (owned by the daemon, outliving every snapshot).
struct MessageMetrics {
  LabelledCounters<2> messages;  // verdict, trust
  LabelledCounters<2> results;   // method, result
  Histogram message_duration;    // MAIL FROM to the verdict
  Histogram eom_wait;            // end of message: waiting for the checks and deciding
  // DMARC report records dropped, by every Recorder this process has had (reloads replace
  // the Recorder; this count goes on).
  Counter report_records_dropped;
};

}  // namespace authmilter::metrics

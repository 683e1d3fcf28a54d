// Benchmarks of one metrics observation (issue 16: "measure what the library's histograms cost
// per observation"): prometheus-cpp 1.0's Histogram::Observe (a mutex per observation) against
// our metrics::Histogram (relaxed atomics), on one thread and on several threads at once (the
// daemon observes from every MTA connection's thread), and a labelled counter lookup.
#include <benchmark/benchmark.h>

#include <prometheus/histogram.h>

#include <chrono>

#include "authmilter/metrics/metrics.h"

namespace authmilter::bench {
namespace {

prometheus::Histogram& library_histogram() {
  static prometheus::Histogram* histogram =
      new prometheus::Histogram(prometheus::Histogram::BucketBoundaries(
          metrics::kLatencyBounds.begin(), metrics::kLatencyBounds.end()));
  return *histogram;
}

metrics::Histogram& own_histogram() {
  static metrics::Histogram* histogram = new metrics::Histogram();
  return *histogram;
}

void BM_PrometheusCppHistogramObserve(benchmark::State& state) {
  double seconds = 0.0123;
  for (auto _ : state) {
    library_histogram().Observe(seconds);
    benchmark::DoNotOptimize(seconds);
  }
}
BENCHMARK(BM_PrometheusCppHistogramObserve)->Threads(1)->Threads(2)->Threads(4);

void BM_OwnHistogramObserve(benchmark::State& state) {
  std::chrono::nanoseconds duration(12300000);
  for (auto _ : state) {
    own_histogram().observe(duration);
    benchmark::DoNotOptimize(duration);
  }
}
BENCHMARK(BM_OwnHistogramObserve)->Threads(1)->Threads(2)->Threads(4);

void BM_LabelledCounterAdd(benchmark::State& state) {
  static metrics::LabelledCounters<2>* counters = new metrics::LabelledCounters<2>();
  for (auto _ : state) counters->add({"dmarc", "pass"});
}
BENCHMARK(BM_LabelledCounterAdd)->Threads(1)->Threads(4);

}  // namespace
}  // namespace authmilter::bench

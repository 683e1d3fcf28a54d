#include "authmilter/metrics/metrics.h"

namespace authmilter::metrics {
namespace {

// The bucket bounds in nanoseconds, so observe() compares integers.
constexpr std::array<std::int64_t, Histogram::kBuckets> bounds_ns() {
  std::array<std::int64_t, Histogram::kBuckets> out{};
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    out[i] = static_cast<std::int64_t>(kLatencyBounds[i] * 1e9 + 0.5);
  }
  return out;
}
constexpr std::array<std::int64_t, Histogram::kBuckets> kBoundsNs = bounds_ns();

}  // namespace

void Histogram::observe(std::chrono::nanoseconds duration) noexcept {
  const std::int64_t ns = duration.count() < 0 ? 0 : duration.count();
  std::size_t bucket = 0;
  while (bucket < kBuckets && ns > kBoundsNs[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const noexcept {
  Snapshot out;
  for (std::size_t i = 0; i <= kBuckets; ++i) {
    out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  out.count = count_.load(std::memory_order_relaxed);
  out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

}  // namespace authmilter::metrics

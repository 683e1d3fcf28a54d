// authmilter::report::Recorder — the bounded queue and the one writer thread between the
// milter and the ReportStore (issue 14: "writing never delays a verdict").
//
// What: submit() is called at end of message by the milter thread; it takes a short lock,
//   appends to a queue of at most `capacity` records and returns. One writer thread takes up
//   to kBatchSize records at a time and inserts them in one transaction. The writer opens the
//   store itself (lazily, and again after a failure, waiting kReopenMin..kReopenMax between
//   attempts), so a database that is down at start-up or goes away later never stops the
//   daemon.
// Dropping: when the queue is full, or a batch cannot be written, its records are dropped
//   and counted (dropped(): the metric behind authmilter_report_records_dropped_total);
//   a warning is logged at most once per kLogInterval with the count since the last one.
// Stop: the destructor lets the writer drain what is queued for at most `drain_timeout`,
//   then drops the rest (counted) and joins. A store call that hangs is bounded by the
//   stores' own time-outs (store.h).
// Config keys: ReportStore (the store), read by daemon::ServiceSet.
// Thread-safety: submit() and the counters from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "authmilter/metrics/metrics.h"
#include "authmilter/report/record.h"
#include "authmilter/report/store.h"

namespace authmilter::report {

inline constexpr std::size_t kDefaultQueueCapacity = 100'000;
inline constexpr std::size_t kBatchSize = 500;
inline constexpr std::chrono::milliseconds kReopenMin{500};
inline constexpr std::chrono::milliseconds kReopenMax{30'000};
inline constexpr std::chrono::seconds kLogInterval{60};

struct RecorderOptions {
  std::size_t capacity = kDefaultQueueCapacity;
  std::chrono::milliseconds drain_timeout{5000};
  // Also counted here when set: the daemon's process-lifetime counter, so that the metric
  // does not start again from 0 when a reload replaces this Recorder.
  metrics::Counter* dropped_total = nullptr;
};

class Recorder {
 public:
  using StoreOpener = std::function<std::unique_ptr<Store>()>;  // throws StoreError

  Recorder(StoreOpener open, RecorderOptions options = {});
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Never blocks beyond the queue's lock; false when the record was dropped (queue full).
  bool submit(Record record) noexcept;

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t store_failures() const { return failures_.load(std::memory_order_relaxed); }
  std::size_t queued() const;
  // Waits until the queue is empty and no batch is in flight, or `timeout` passes (tests,
  // benchmarks). True when everything submitted so far was written or dropped.
  bool flush(std::chrono::milliseconds timeout) const;

 private:
  void run();
  void add_dropped(std::uint64_t n) noexcept;
  void count_dropped(std::uint64_t n, const char* why);

  StoreOpener open_;
  const RecorderOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;  // writer: records queued or stop
  mutable std::condition_variable idle_;  // flush(): queue empty and no batch in flight
  std::deque<Record> queue_;
  bool in_flight_ = false;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::mutex log_mutex_;
  std::chrono::steady_clock::time_point last_log_{};
  std::uint64_t unlogged_drops_ = 0;
  std::thread writer_;  // last: started after everything it reads
};

}  // namespace authmilter::report

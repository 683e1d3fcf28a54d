#include "authmilter/report/recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "authmilter/log/log.h"

namespace authmilter::report {

Recorder::Recorder(StoreOpener open, RecorderOptions options)
    : open_(std::move(open)), options_(options), writer_([this] { run(); }) {}

Recorder::~Recorder() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

bool Recorder::submit(Record record) noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      if (!stop_ && queue_.size() < options_.capacity) {
        queue_.push_back(std::move(record));
        wake_.notify_one();
        return true;
      }
    }
    count_dropped(1, "queue full");
  } catch (...) {
    add_dropped(1);  // out of memory: count, never throw
  }
  return false;
}

std::size_t Recorder::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool Recorder::flush(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !in_flight_; });
}

void Recorder::add_dropped(std::uint64_t n) noexcept {
  dropped_.fetch_add(n, std::memory_order_relaxed);
  if (options_.dropped_total != nullptr) options_.dropped_total->add(n);
}

void Recorder::count_dropped(std::uint64_t n, const char* why) {
  add_dropped(n);
  std::lock_guard lock(log_mutex_);
  unlogged_drops_ += n;
  const auto now = std::chrono::steady_clock::now();
  if (last_log_ != std::chrono::steady_clock::time_point{} && now - last_log_ < kLogInterval) {
    return;
  }
  last_log_ = now;
  spdlog::warn("{}", log::fields({{"event", "report_records_dropped"},
                                  {"why", why},
                                  {"count", std::to_string(unlogged_drops_)},
                                  {"total", std::to_string(dropped())}}));
  unlogged_drops_ = 0;
}

void Recorder::run() {
  using SteadyClock = std::chrono::steady_clock;
  std::unique_ptr<Store> store;
  std::chrono::milliseconds backoff = kReopenMin;
  SteadyClock::time_point next_open{};  // no store: the next attempt to open it
  SteadyClock::time_point drain_until{};
  std::vector<Record> batch;
  batch.reserve(kBatchSize);
  while (true) {
    {
      std::unique_lock lock(mutex_);
      in_flight_ = false;
      if (queue_.empty()) idle_.notify_all();
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      // While the store is down, records wait in the queue (submit() drops when it is full)
      // until the next attempt; at stop, the drain gets its bound.
      if (!store && !stop_ && SteadyClock::now() < next_open) {
        wake_.wait_until(lock, next_open, [this] { return stop_; });
        continue;
      }
      if (stop_ && drain_until == SteadyClock::time_point{}) {
        drain_until = SteadyClock::now() + options_.drain_timeout;
      }
      if (queue_.empty()) break;  // stopping, nothing left
      if (stop_ &&
          (SteadyClock::now() >= drain_until || (!store && SteadyClock::now() < next_open))) {
        const std::size_t left = queue_.size();
        queue_.clear();
        lock.unlock();
        count_dropped(left, "stopping");
        break;
      }
      const std::size_t n = std::min(queue_.size(), kBatchSize);
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      in_flight_ = true;
    }
    try {
      if (!store) {
        store = open_();
        backoff = kReopenMin;
      }
      store->insert(batch);
      written_.fetch_add(batch.size(), std::memory_order_relaxed);
    } catch (const std::exception& e) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("{}", log::fields({{"event", "report_store_error"},
                                       {"error", e.what()},
                                       {"retry_ms", std::to_string(backoff.count())}}));
      store.reset();  // reopen before the next batch
      next_open = SteadyClock::now() + backoff;
      backoff = std::min(backoff * 2, kReopenMax);
      count_dropped(batch.size(), "store error");
    }
    batch.clear();
  }
  std::lock_guard lock(mutex_);
  in_flight_ = false;
  idle_.notify_all();
}

}  // namespace authmilter::report

#include "authmilter/milter/body_pipeline.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "authmilter/util/cores.h"

namespace authmilter::milter {

namespace {

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Waits for `done` by spinning, for at most `limit`; the caller then sleeps on the condition
// variable. Only for waits on CPU work of the other side (a chunk or two of hashing).
template <typename Done>
void spin_until(Done done, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (unsigned n = 1; !done(); ++n) {
    cpu_relax();
    if (n % 64 == 0 && std::chrono::steady_clock::now() > until) return;
  }
}

constexpr std::chrono::microseconds kSpinLimit{500};

}  // namespace

BodyOffloadSlots::BodyOffloadSlots(std::size_t slots)
    : slots_(slots != 0 ? slots : util::usable_cores() - 1) {}

bool BodyOffloadSlots::try_acquire() {
  if (open_.load(std::memory_order_acquire) > 1) return false;
  std::size_t used = used_.load(std::memory_order_relaxed);
  while (used < slots_) {
    if (used_.compare_exchange_weak(used, used + 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

void BodyOffloadSlots::release() { used_.fetch_sub(1, std::memory_order_acq_rel); }

std::vector<std::string> BodyOffloadSlots::take_buffers() {
  std::lock_guard lock(buffers_mutex_);
  std::vector<std::string> taken;
  const std::size_t count = std::min(buffers_.size(), BodyPipeline::kBuffersInUse);
  for (std::size_t i = 0; i < count; ++i) {
    taken.push_back(std::move(buffers_.back()));
    buffers_.pop_back();
  }
  return taken;
}

void BodyOffloadSlots::return_buffers(std::vector<std::string> buffers) {
  std::lock_guard lock(buffers_mutex_);
  // At most what the slots' holders can have in use at once.
  const std::size_t cap = slots_ * BodyPipeline::kBuffersInUse;
  for (std::string& buffer : buffers) {
    if (buffers_.size() >= cap) break;
    buffers_.push_back(std::move(buffer));
  }
}

BodyPipeline::BodyPipeline(work::Pool& pool, BodyOffloadSlots* slots, Sink sink)
    : pool_(pool), slots_(slots), state_(std::make_shared<State>()) {
  state_->sink = std::move(sink);
  if (slots_ != nullptr) slots_->pipeline_opened();
}

BodyPipeline::~BodyPipeline() {
  {
    spin_until([&] { return !state_->running.load(std::memory_order_acquire); }, kSpinLimit);
    std::unique_lock lock(state_->mutex);
    state_->closed = true;
    // The sink uses the message's checks, which go away after this: a running worker
    // finishes its chunk first (CPU work only).
    state_->changed.wait(lock, [&] { return state_->worker != Worker::kRunning; });
  }
  release_slot();
  if (slots_ != nullptr) slots_->pipeline_closed();
}

void BodyPipeline::release_slot() {
  if (!offloading_ || slots_ == nullptr) return;
  std::vector<std::string> buffers;
  {
    std::lock_guard lock(state_->mutex);
    buffers = std::move(state_->spare);
    state_->spare.clear();
    for (std::string& chunk : state_->queue) buffers.push_back(std::move(chunk));
    state_->queue.clear();
    state_->queued.store(0, std::memory_order_release);
  }
  slots_->return_buffers(std::move(buffers));
  slots_->release();
  offloading_ = false;
}

void BodyPipeline::add(std::string_view chunk) {
  seen_bytes_ += chunk.size();
  if (!offloading_) {
    if (slots_ == nullptr || seen_bytes_ < kInlineBytes || !slots_->try_acquire()) {
      state_->sink(chunk);
      return;
    }
    offloading_ = true;
    std::lock_guard lock(state_->mutex);
    state_->spare = slots_->take_buffers();
  }
  spin_until([&] { return state_->queued.load(std::memory_order_acquire) < kMaxQueuedChunks; },
             kSpinLimit);
  std::unique_lock lock(state_->mutex);
  while (state_->queue.size() >= kMaxQueuedChunks) {
    if (state_->worker == Worker::kRunning) {
      state_->changed.wait(lock);
    } else {
      process_queue_here(lock);  // the pool has not started the task: do not wait for it
    }
  }
  std::string buffer;
  if (!state_->spare.empty()) {
    buffer = std::move(state_->spare.back());
    state_->spare.pop_back();
  }
  lock.unlock();
  buffer.assign(chunk);  // the copy without the lock: the worker goes on meanwhile
  lock.lock();
  state_->queue.push_back(std::move(buffer));
  state_->queued.store(state_->queue.size(), std::memory_order_release);
  ++offloaded_chunks_;
  if (state_->worker == Worker::kIdle) start_worker(lock);
}

void BodyPipeline::start_worker(std::unique_lock<std::mutex>& lock) {
  state_->worker = Worker::kQueued;
  const std::uint64_t id = ++state_->task_id;
  lock.unlock();
  // No deadline and no cancel: a queued task that the pool skips or refuses is taken back by
  // add() or drain() (process_queue_here), so the chunks are never lost.
  (void)pool_.submit(work::Deadline::max(), nullptr, [state = state_, id] {
    run_queue(state, id);
    return true;
  });
  lock.lock();
}

void BodyPipeline::run_queue(const std::shared_ptr<State>& state, std::uint64_t task_id) {
  std::unique_lock lock(state->mutex);
  if (state->closed || state->worker != Worker::kQueued || state->task_id != task_id) return;
  state->worker = Worker::kRunning;
  state->running.store(true, std::memory_order_release);
  while (!state->closed && !state->queue.empty() && !state->failure) {
    std::string chunk = std::move(state->queue.front());
    state->queue.pop_front();
    state->queued.store(state->queue.size(), std::memory_order_release);
    state->changed.notify_all();  // room for add()
    lock.unlock();
    try {
      state->sink(chunk);
    } catch (...) {
      lock.lock();
      state->failure = std::current_exception();
      break;
    }
    lock.lock();
    state->spare.push_back(std::move(chunk));
  }
  if (!lock.owns_lock()) lock.lock();
  state->worker = Worker::kIdle;
  state->running.store(false, std::memory_order_release);
  state->changed.notify_all();
}

void BodyPipeline::process_queue_here(std::unique_lock<std::mutex>& lock) {
  state_->worker = Worker::kIdle;  // a task still queued on the pool is now stale
  while (!state_->queue.empty()) {
    if (state_->failure) {
      state_->queue.clear();
      state_->queued.store(0, std::memory_order_release);
      break;
    }
    std::string chunk = std::move(state_->queue.front());
    state_->queue.pop_front();
    state_->queued.store(state_->queue.size(), std::memory_order_release);
    lock.unlock();
    state_->sink(chunk);
    lock.lock();
    state_->spare.push_back(std::move(chunk));
  }
}

void BodyPipeline::drain() {
  if (!offloading_) return;
  std::exception_ptr failure;
  spin_until([&] { return !state_->running.load(std::memory_order_acquire); }, kSpinLimit);
  {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait(lock, [&] { return state_->worker != Worker::kRunning; });
    process_queue_here(lock);
    failure = std::exchange(state_->failure, nullptr);
  }
  release_slot();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace authmilter::milter

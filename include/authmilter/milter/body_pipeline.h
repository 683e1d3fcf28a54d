// authmilter::milter::BodyPipeline — a message's body chunks go to the body checks (DKIM and
// ARC canonicalization and hashing) either at once, on the milter thread, or, for a large
// body while the daemon has no other message, through a serial queue drained by a worker of
// the Pool.
//
// Why: SHA-256 runs at about 2 GB/s here (SHA-NI), so a 2 MB body costs 1 ms of hashing on
//   top of its transfer when the callback hashes it. Handed to a worker, the hashing runs on
//   the other core while libmilter reads the next chunks (the MTA streams them when the body
//   needs no reply, callbacks.cc), and end of message waits only for what is still queued
//   (issue 15: the 2 MB message at c=1 went from 3.0 to 1.6 ms; docs/PERFORMANCE.md).
// When: a body's first chunk up to kInlineBytes is processed inline (small messages never
//   pay a thread hand-off). Past that, a message offloads only when it is the only open
//   pipeline (no other message in the daemon) and holds one of the BodyOffloadSlots (cores -
//   1): with other messages running the cores are busy anyway, and a hand-off would add
//   context switches and win nothing, so the body stays inline.
// Order and safety: chunks are processed in arrival order, by one thread at a time (the
//   worker, or the milter thread once the worker is done). drain() (end of message) and the
//   destructor (abort, close) wait until no worker runs the sink; after the destructor a
//   task still queued on the Pool finds the pipeline closed and touches nothing. The sink's
//   effects happen-before drain() returns (one mutex).
// Waiting: the milter thread waits for the worker only for CPU work (at most kMaxQueuedChunks
//   chunks of hashing): it spins briefly before sleeping, since a sleeping thread is woken
//   from the other core, which costs 15-20 µs on a virtual machine.
// Limits: at most kMaxQueuedChunks chunks wait in the queue; add() waits for room. A Pool
//   that refuses the task (queue full, stopping): the waiting chunks are processed on the
//   milter thread. Chunks are copied once (libmilter frees its buffer when the callback
//   returns), into buffers the offload slot keeps from one message to the next.
// Security: none of its own; the sink treats the bytes as hostile.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/work/pool.h"

namespace authmilter::milter {

// How many messages may hash their body on a worker at once (by default one fewer than the
// cores this process may use, so none on one core), and how many pipelines are open: a
// message offloads only while its pipeline is the only one.
class BodyOffloadSlots {
 public:
  // `slots` 0: the default above.
  explicit BodyOffloadSlots(std::size_t slots = 0);
  // A slot, if one is free and no other pipeline is open.
  bool try_acquire();
  void release();
  std::size_t slots() const { return slots_; }
  // Each BodyPipeline counts itself open for its lifetime.
  void pipeline_opened() { open_.fetch_add(1, std::memory_order_acq_rel); }
  void pipeline_closed() { open_.fetch_sub(1, std::memory_order_acq_rel); }
  // The chunk buffers of a slot's holder: kept here between messages, so offloading
  // allocates nothing per message (a few 64 KiB buffers per slot, allocated once; fresh
  // ones per message grew the daemon's RSS by 3 MiB over a benchmark run).
  std::vector<std::string> take_buffers();
  void return_buffers(std::vector<std::string> buffers);

 private:
  std::size_t slots_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> open_{0};
  std::mutex buffers_mutex_;
  std::vector<std::string> buffers_;
};

class BodyPipeline {
 public:
  using Sink = std::function<void(std::string_view)>;
  // A body that has not passed this many bytes is processed inline. MTAs send 64 KiB chunks
  // (Postfix and Sendmail: 65535 octets), so a body whose first chunk is full offloads.
  static constexpr std::size_t kInlineBytes = 60 * 1024;
  static constexpr std::size_t kMaxQueuedChunks = 8;
  // The most chunk buffers one pipeline has: the queue full and the worker's chunk.
  static constexpr std::size_t kBuffersInUse = kMaxQueuedChunks + 1;

  // `slots` nullptr: always inline. `sink` is called with each chunk, in order.
  BodyPipeline(work::Pool& pool, BodyOffloadSlots* slots, Sink sink);
  ~BodyPipeline();
  BodyPipeline(const BodyPipeline&) = delete;
  BodyPipeline& operator=(const BodyPipeline&) = delete;

  void add(std::string_view chunk);
  // Every chunk added so far has gone through the sink when this returns.
  void drain();
  // Chunks that went through a worker (for tests and the benchmark's reading).
  std::size_t offloaded_chunks() const { return offloaded_chunks_; }

 private:
  enum class Worker { kIdle, kQueued, kRunning };
  struct State {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::string> queue;
    std::atomic<std::size_t> queued{0};  // queue.size(), read without the mutex while spinning
    std::atomic<bool> running{false};    // worker == kRunning, likewise
    std::vector<std::string> spare;      // free buffers (the slot's), reused by add()
    Worker worker = Worker::kIdle;
    std::uint64_t task_id = 0;   // the queued task that may run; a stale one does nothing
    bool closed = false;         // the pipeline is gone: a late task does nothing
    std::exception_ptr failure;  // the sink threw on the worker: rethrown by drain()
    Sink sink;
  };
  static void run_queue(const std::shared_ptr<State>& state, std::uint64_t task_id);
  // Queues a task for the waiting chunks (lock held on entry and exit).
  void start_worker(std::unique_lock<std::mutex>& lock);
  // Takes back a task still queued on the Pool (slow pool, refused task) and runs the
  // waiting chunks through the sink on this thread; the worker must not be running.
  void process_queue_here(std::unique_lock<std::mutex>& lock);
  void release_slot();

  work::Pool& pool_;
  BodyOffloadSlots* slots_;
  std::shared_ptr<State> state_;
  std::size_t seen_bytes_ = 0;
  bool offloading_ = false;  // holds a slot: every later chunk goes through the queue
  std::size_t offloaded_chunks_ = 0;
};

}  // namespace authmilter::milter

#include "authmilter/work/pool.h"

#include <algorithm>

namespace authmilter::work {

std::size_t Pool::default_threads() {
  const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
  return std::clamp(cores * kThreadsPerCore, kMinThreads, kMaxThreads);
}

Pool::Pool(std::size_t threads, std::size_t max_queued) {
  const std::size_t count = std::min(threads == 0 ? default_threads() : threads, kMaxThreads);
  max_queued_ = max_queued == 0 ? count * kMaxQueuedPerThread : max_queued;
  workers_.reserve(count);
  try {
    for (std::size_t i = 0; i < count; ++i) workers_.emplace_back([this] { work(); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_all();
    for (std::thread& worker : workers_) worker.join();
    throw;
  }
}

Pool::~Pool() {
  std::deque<std::unique_ptr<Task>> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  queued_.notify_all();
  // Outside the lock: completing a Future runs its continuations, which may submit (refused).
  for (auto& task : left) task->skip(NotRun::Reason::kStopped);
  left.clear();
  for (std::thread& worker : workers_) worker.join();
}

void Pool::enqueue(std::unique_ptr<Task> task) {
  NotRun::Reason refused;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < max_queued_) {
      queue_.push_back(std::move(task));
      queued_.notify_one();
      return;
    }
    refused = stopping_ ? NotRun::Reason::kStopped : NotRun::Reason::kSaturated;
  }
  task->skip(refused);
}

void Pool::work() {
  while (true) {
    std::unique_ptr<Task> task;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    // A message that is gone or out of time gets no DNS work done on its behalf.
    if (task->cancel && task->cancel->cancelled()) {
      task->skip(NotRun::Reason::kCancelled);
    } else if (Clock::now() >= task->deadline) {
      task->skip(NotRun::Reason::kDeadline);
    } else {
      task->run();
    }
  }
}

}  // namespace authmilter::work

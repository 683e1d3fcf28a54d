// milter::BodyPipeline: body chunks reach the sink whole and in order whether they are
// processed inline or on a worker, small bodies never leave the milter thread, the offload
// slots bound how many messages offload, a pool that does not run the task loses nothing, a
// throwing sink is reported at drain(), and destruction waits for a running worker.
#include "authmilter/milter/body_pipeline.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace authmilter::milter {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kChunk = 65535;

// A chunk whose every byte says which chunk it is, so order and content are both checked.
std::string chunk_number(std::size_t n) {
  return std::string(kChunk, static_cast<char>('a' + n % 26));
}

struct Recorder {
  std::mutex mutex;
  std::string body;
  std::vector<std::thread::id> threads;
  void operator()(std::string_view chunk) {
    std::lock_guard lock(mutex);
    body.append(chunk);
    threads.push_back(std::this_thread::get_id());
  }
};

std::string expected_body(std::size_t chunks) {
  std::string body;
  for (std::size_t i = 0; i < chunks; ++i) body += chunk_number(i);
  return body;
}

TEST(BodyPipeline, LargeBodyGoesThroughAWorkerInOrder) {
  work::Pool pool(2);
  BodyOffloadSlots slots(1);
  Recorder recorder;
  {
    BodyPipeline pipeline(pool, &slots, [&](std::string_view c) { recorder(c); });
    for (std::size_t i = 0; i < 32; ++i) {
      pipeline.add(chunk_number(i));
      // The MTA's round trip for the next chunk, during which the worker hashes this one.
      std::this_thread::sleep_for(2ms);
    }
    pipeline.drain();
    EXPECT_EQ(pipeline.offloaded_chunks(), 32u);  // a full first chunk already offloads
  }
  EXPECT_EQ(recorder.body, expected_body(32));
  ASSERT_EQ(recorder.threads.size(), 32u);
  bool any_worker = false;
  for (const auto& id : recorder.threads) any_worker |= id != std::this_thread::get_id();
  EXPECT_TRUE(any_worker);
  // The slot came back: another message may offload.
  EXPECT_TRUE(slots.try_acquire());
  slots.release();
}

TEST(BodyPipeline, SmallBodyStaysOnTheCallingThread) {
  work::Pool pool(2);
  BodyOffloadSlots slots(2);
  Recorder recorder;
  BodyPipeline pipeline(pool, &slots, [&](std::string_view c) { recorder(c); });
  const std::string first(40000, 'x');  // short of kInlineBytes with the tail
  pipeline.add(first);
  pipeline.add("short tail\r\n");
  pipeline.drain();
  EXPECT_EQ(pipeline.offloaded_chunks(), 0u);
  for (const auto& id : recorder.threads) EXPECT_EQ(id, std::this_thread::get_id());
  EXPECT_EQ(recorder.body, first + "short tail\r\n");
}

// With another message open the cores have work already: both bodies stay inline.
TEST(BodyPipeline, AnotherOpenMessageKeepsTheBodyInline) {
  work::Pool pool(2);
  BodyOffloadSlots slots(2);
  Recorder first_recorder;
  Recorder second_recorder;
  BodyPipeline first(pool, &slots, [&](std::string_view c) { first_recorder(c); });
  {
    BodyPipeline second(pool, &slots, [&](std::string_view c) { second_recorder(c); });
    for (std::size_t i = 0; i < 4; ++i) {
      first.add(chunk_number(i));
      second.add(chunk_number(i));
    }
    second.drain();
    first.drain();
    EXPECT_EQ(first.offloaded_chunks(), 0u);
    EXPECT_EQ(second.offloaded_chunks(), 0u);
    EXPECT_EQ(second_recorder.body, expected_body(4));
  }
  // The second has closed: the first, alone now, offloads its next chunks.
  for (std::size_t i = 4; i < 8; ++i) first.add(chunk_number(i));
  first.drain();
  EXPECT_EQ(first.offloaded_chunks(), 4u);
  EXPECT_EQ(first_recorder.body, expected_body(8));
}

// The chunk buffers stay with the slots between messages: the next message allocates none.
TEST(BodyPipeline, ChunkBuffersAreKeptForTheNextMessage) {
  work::Pool pool(2);
  BodyOffloadSlots slots(1);
  for (int message = 0; message < 2; ++message) {
    Recorder recorder;
    BodyPipeline pipeline(pool, &slots, [&](std::string_view c) { recorder(c); });
    for (std::size_t i = 0; i < 12; ++i) pipeline.add(chunk_number(i));
    pipeline.drain();
    EXPECT_EQ(pipeline.offloaded_chunks(), 12u);
    EXPECT_EQ(recorder.body, expected_body(12));
  }
  std::vector<std::string> kept = slots.take_buffers();
  ASSERT_FALSE(kept.empty());
  EXPECT_LE(kept.size(), BodyPipeline::kBuffersInUse);
  for (const std::string& buffer : kept) EXPECT_GE(buffer.capacity(), kChunk);
}

TEST(BodyPipeline, DefaultSlotsAreOneFewerThanTheUsableCores) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  EXPECT_EQ(BodyOffloadSlots().slots(), static_cast<std::size_t>(CPU_COUNT(&allowed)) - 1);
}

TEST(BodyPipeline, WithoutAFreeSlotTheBodyIsProcessedInline) {
  work::Pool pool(2);
  BodyOffloadSlots slots(1);
  ASSERT_TRUE(slots.try_acquire());  // another message holds the only slot
  Recorder recorder;
  BodyPipeline pipeline(pool, &slots, [&](std::string_view c) { recorder(c); });
  for (std::size_t i = 0; i < 8; ++i) pipeline.add(chunk_number(i));
  pipeline.drain();
  EXPECT_EQ(pipeline.offloaded_chunks(), 0u);
  EXPECT_EQ(recorder.body, expected_body(8));
  slots.release();
}

TEST(BodyPipeline, NoSlotsMeansAlwaysInline) {
  work::Pool pool(1);
  Recorder recorder;
  BodyPipeline pipeline(pool, nullptr, [&](std::string_view c) { recorder(c); });
  for (std::size_t i = 0; i < 6; ++i) pipeline.add(chunk_number(i));
  pipeline.drain();
  EXPECT_EQ(pipeline.offloaded_chunks(), 0u);
  EXPECT_EQ(recorder.body, expected_body(6));
}

// The pool's only worker is busy: the task stays queued, and add() (queue full) and drain()
// take the chunks back instead of waiting for it.
TEST(BodyPipeline, BusyPoolLosesNothingAndDoesNotBlock) {
  work::Pool pool(1, 4);
  std::mutex gate_mutex;
  std::condition_variable gate_open;
  bool open = false;
  auto blocker = pool.submit(work::Deadline::max(), nullptr, [&] {
    std::unique_lock lock(gate_mutex);
    gate_open.wait(lock, [&] { return open; });
    return 1;
  });
  BodyOffloadSlots slots(1);
  Recorder recorder;
  {
    BodyPipeline pipeline(pool, &slots, [&](std::string_view c) { recorder(c); });
    for (std::size_t i = 0; i < 20; ++i) pipeline.add(chunk_number(i));
    pipeline.drain();
    EXPECT_GT(pipeline.offloaded_chunks(), 0u);
  }
  EXPECT_EQ(recorder.body, expected_body(20));
  for (const auto& id : recorder.threads) EXPECT_EQ(id, std::this_thread::get_id());
  {
    std::lock_guard lock(gate_mutex);
    open = true;
  }
  gate_open.notify_all();
  EXPECT_EQ(blocker.get(), 1);  // the stale body tasks ran after it and did nothing
}

// The failure reaches the milter thread once: from add() when that chunk ran inline (the
// pool had not started the task), otherwise from drain().
TEST(BodyPipeline, SinkFailureIsReportedOnceOnTheCallingThread) {
  work::Pool pool(2);
  BodyOffloadSlots slots(1);
  std::atomic<int> calls{0};
  BodyPipeline pipeline(pool, &slots, [&](std::string_view) {
    if (++calls == 4) throw std::runtime_error("hasher broke");
  });
  int thrown = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    try {
      pipeline.add(chunk_number(i));
    } catch (const std::runtime_error&) {
      ++thrown;
    }
  }
  try {
    pipeline.drain();
  } catch (const std::runtime_error&) {
    ++thrown;
  }
  EXPECT_EQ(thrown, 1);
  EXPECT_GE(calls.load(), 4);
}

// A message aborted mid-body: the destructor waits for the running chunk, and what is
// still queued is dropped.
TEST(BodyPipeline, DestructionWaitsForTheRunningWorker) {
  work::Pool pool(2);
  BodyOffloadSlots slots(1);
  std::atomic<bool> in_sink{false};
  std::atomic<bool> sink_done{false};
  std::atomic<int> calls{0};
  {
    BodyPipeline pipeline(pool, &slots, [&](std::string_view) {
      if (++calls == 3) {
        in_sink = true;
        std::this_thread::sleep_for(50ms);
        sink_done = true;
      }
    });
    for (std::size_t i = 0; i < 6 && !in_sink; ++i) pipeline.add(chunk_number(i));
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (!in_sink && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(in_sink.load());
  }
  EXPECT_TRUE(sink_done.load());
  const int after = calls.load();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(calls.load(), after);  // no late task touches the sink
  EXPECT_TRUE(slots.try_acquire());
}

}  // namespace
}  // namespace authmilter::milter

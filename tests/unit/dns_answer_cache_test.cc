// Tests for AnswerCache: TTLs, negative caching, no caching of failures, LRU bound and
// in-flight coalescing, with an injected clock instead of sleeps.
#include "authmilter/dns/answer_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace authmilter::dns {
namespace {

using std::chrono::seconds;

struct FakeClock {
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(1000);
  AnswerCache::Now fn() {
    return [this] { return now; };
  }
};

Answer positive(std::uint32_t ttl, std::string data = "x") {
  Answer a;
  a.status = Status::kNoError;
  a.ttl = ttl;
  Record r;
  r.type = RrType::kTxt;
  r.ttl = ttl;
  r.data = data;
  r.strings = {data};
  a.records.push_back(r);
  return a;
}

Answer negative(Status status, std::uint32_t ttl) {
  Answer a;
  a.status = status;
  a.ttl = ttl;
  return a;
}

// Resolves (name, TXT) through the cache with `answer` if it misses; true when it missed.
bool fill(AnswerCache& cache, const std::string& name, const Answer& answer) {
  auto lookup = cache.begin(name, RrType::kTxt);
  if (lookup.must_resolve) cache.complete(name, RrType::kTxt, answer);
  return lookup.must_resolve;
}

TEST(AnswerCache, HitWithinTtlAndMissAfter) {
  FakeClock clock;
  AnswerCache cache({}, clock.fn());
  EXPECT_TRUE(fill(cache, "a.org", positive(60)));
  clock.now += seconds(59);
  auto hit = cache.begin("a.org", RrType::kTxt);
  ASSERT_FALSE(hit.must_resolve);
  Answer got = hit.pending.get();
  EXPECT_EQ(got.status, Status::kNoError);
  EXPECT_EQ(got.ttl, 1u);  // what is left
  EXPECT_EQ(got.records[0].ttl, 1u);
  EXPECT_EQ(cache.begin("a.org", RrType::kA).must_resolve, true);  // type is part of the key
  cache.complete("a.org", RrType::kA, positive(1));
  clock.now += seconds(1);
  EXPECT_TRUE(fill(cache, "a.org", positive(60)));
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST(AnswerCache, MaxTtlCapsLongTtls) {
  FakeClock clock;
  AnswerCache cache({.max_entries = 10, .max_ttl = 100, .negative_ttl_cap = 50}, clock.fn());
  fill(cache, "a.org", positive(86400));
  clock.now += seconds(99);
  EXPECT_FALSE(fill(cache, "a.org", positive(86400)));
  clock.now += seconds(1);
  EXPECT_TRUE(fill(cache, "a.org", positive(86400)));
}

TEST(AnswerCache, NegativeAnswersUseTheirTtlCapped) {
  FakeClock clock;
  AnswerCache cache({.max_entries = 10, .max_ttl = 1000, .negative_ttl_cap = 50}, clock.fn());
  fill(cache, "nx.org", negative(Status::kNxDomain, 30));
  fill(cache, "nodata.org", negative(Status::kNoData, 3600));
  clock.now += seconds(29);
  EXPECT_FALSE(fill(cache, "nx.org", {}));
  EXPECT_EQ(cache.begin("nx.org", RrType::kTxt).pending.get().status, Status::kNxDomain);
  clock.now += seconds(1);
  EXPECT_TRUE(fill(cache, "nx.org", negative(Status::kNxDomain, 30)));
  clock.now += seconds(20);  // 50 s after nodata.org was stored: the cap
  EXPECT_TRUE(fill(cache, "nodata.org", negative(Status::kNoData, 3600)));
}

TEST(AnswerCache, NegativeWithoutSoaAndFailuresAreNotCached) {
  FakeClock clock;
  AnswerCache cache({}, clock.fn());
  for (Status status : {Status::kServFail, Status::kTimeout, Status::kError}) {
    auto first = cache.begin("f.org", RrType::kTxt);
    ASSERT_TRUE(first.must_resolve);
    cache.complete("f.org", RrType::kTxt, negative(status, 300));
    EXPECT_EQ(first.pending.get().status, status);  // the waiters still get it
    EXPECT_TRUE(cache.begin("f.org", RrType::kTxt).must_resolve);
    cache.complete("f.org", RrType::kTxt, negative(status, 300));
  }
  EXPECT_TRUE(fill(cache, "n.org", negative(Status::kNxDomain, 0)));
  EXPECT_TRUE(fill(cache, "n.org", negative(Status::kNxDomain, 0)));
  EXPECT_TRUE(fill(cache, "z.org", positive(0)));
  EXPECT_TRUE(fill(cache, "z.org", positive(0)));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(AnswerCache, CoalescesLookupsInFlight) {
  AnswerCache cache({});
  auto first = cache.begin("c.org", RrType::kTxt);
  ASSERT_TRUE(first.must_resolve);
  std::vector<PendingAnswer> joined;
  for (int i = 0; i < 5; ++i) {
    auto again = cache.begin("c.org", RrType::kTxt);
    EXPECT_FALSE(again.must_resolve);
    EXPECT_FALSE(again.pending.ready());
    joined.push_back(again.pending);
  }
  EXPECT_EQ(cache.in_flight(), 1u);
  cache.complete("c.org", RrType::kTxt, positive(60, "shared"));
  for (auto& pending : joined) EXPECT_EQ(pending.get().records[0].data, "shared");
  EXPECT_EQ(first.pending.get().records[0].data, "shared");
  EXPECT_EQ(cache.in_flight(), 0u);
  EXPECT_EQ(cache.stats().coalesced, 5u);
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST(AnswerCache, BoundedLeastRecentlyUsedFirst) {
  FakeClock clock;
  AnswerCache cache({.max_entries = 3, .max_ttl = 86400, .negative_ttl_cap = 3600}, clock.fn());
  fill(cache, "1.org", positive(60));
  fill(cache, "2.org", positive(60));
  fill(cache, "3.org", positive(60));
  EXPECT_FALSE(fill(cache, "1.org", positive(60)));  // 1 is now the most recent
  fill(cache, "4.org", positive(60));                // evicts 2
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_FALSE(fill(cache, "1.org", positive(60)));
  EXPECT_FALSE(fill(cache, "3.org", positive(60)));
  EXPECT_FALSE(fill(cache, "4.org", positive(60)));
  EXPECT_TRUE(fill(cache, "2.org", positive(60)));
  EXPECT_EQ(cache.size(), 3u);
}

TEST(AnswerCache, SizeZeroDisablesCachingButStillCoalesces) {
  AnswerCache cache({.max_entries = 0, .max_ttl = 86400, .negative_ttl_cap = 3600});
  auto first = cache.begin("a.org", RrType::kTxt);
  EXPECT_FALSE(cache.begin("a.org", RrType::kTxt).must_resolve);
  cache.complete("a.org", RrType::kTxt, positive(60));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(fill(cache, "a.org", positive(60)));
}

TEST(AnswerCache, ConcurrentUseFromManyThreads) {
  AnswerCache cache({.max_entries = 8, .max_ttl = 86400, .negative_ttl_cap = 3600});
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string name = std::to_string((i * 7 + t) % 20) + ".org";
        auto lookup = cache.begin(name, RrType::kTxt);
        if (lookup.must_resolve) {
          cache.complete(name, RrType::kTxt,
                         i % 3 == 0 ? negative(Status::kServFail, 0) : positive(60, name));
        }
        Answer got = lookup.pending.get();
        if (got.status == Status::kServFail || got.records.at(0).data == name) ++answered;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), 8 * 2000);
  EXPECT_LE(cache.size(), 8u);
  EXPECT_EQ(cache.in_flight(), 0u);
}

}  // namespace
}  // namespace authmilter::dns

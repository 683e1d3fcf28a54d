// authmilter::dns::AnswerCache — the TTL cache and in-flight table behind CaresResolver.
//
// What: answers keyed by (normalized name, type). begin() either answers from the cache, or
//   joins a lookup already in flight for the same key (the same shared future: one upstream
//   query for any number of callers), or registers a new in-flight lookup that the caller
//   must finish with complete().
// RFCs: positive answers live for their smallest TTL (RFC 1035 §3.2.1, RFC 2181 §8), capped
//   at max_ttl; NXDOMAIN/NODATA for the RFC 2308 §5 negative TTL the parser took from the SOA,
//   capped at negative_ttl_cap, and not at all without a SOA; SERVFAIL/timeouts/errors are
//   never cached (RFC 2308 §7 allows 5 minutes; we prefer asking again), so a transient
//   failure costs one message, not the next five minutes of them. A hit hands out the
//   remaining TTL.
// Limits: at most max_entries answers (config CacheSize; 0 disables caching but keeps
//   coalescing); the least recently used goes first. In-flight entries are bounded by the
//   callers' own concurrency and vanish on complete().
// Thread-safe; the clock is injectable so tests need not sleep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "authmilter/dns/resolver.h"

namespace authmilter::dns {

class AnswerCache {
 public:
  using Now = std::function<Clock::time_point()>;

  struct Limits {
    std::size_t max_entries = 10000;
    std::uint32_t max_ttl = 86400;
    std::uint32_t negative_ttl_cap = 3600;
  };

  struct Stats {
    std::uint64_t hits = 0;       // answered from the cache
    std::uint64_t misses = 0;     // new in-flight lookups handed to the caller
    std::uint64_t coalesced = 0;  // joined a lookup already in flight
    std::uint64_t evictions = 0;  // dropped to stay within max_entries
  };

  struct Lookup {
    PendingAnswer pending;
    bool must_resolve = false;  // the caller owns the in-flight slot: call complete() once
  };

  // `now` defaults to Clock::now.
  explicit AnswerCache(Limits limits, Now now = {});

  // `name` must already be normalized (normalize_name()).
  Lookup begin(const std::string& name, RrType type);
  // The cached answer (as begin() would give it), or an invalid PendingAnswer: no lookup is
  // started or joined.
  PendingAnswer peek(const std::string& name, RrType type);
  // Fulfills the in-flight lookup for (name, type) and caches `answer` when it may be.
  void complete(const std::string& name, RrType type, const Answer& answer);

  // How long `answer` would stay in this cache, in seconds; 0: not cached.
  std::uint32_t cache_ttl(const Answer& answer) const;

  std::size_t size() const;
  std::size_t in_flight() const;
  Stats stats() const;
  void clear();

 private:
  struct Key {
    std::string name;
    RrType type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Entry {
    Key key;
    Answer answer;
    Clock::time_point expires;
  };
  // A live entry for `key` (moved to the front, counted as a hit), or an invalid one; an
  // expired entry is dropped. Under mutex_.
  PendingAnswer cached_locked(const Key& key);
  struct Flight {
    std::shared_ptr<AnswerPromise> promise;
    PendingAnswer pending;
  };
  using Lru = std::list<Entry>;  // front: most recently used

  void store_locked(Key key, const Answer& answer, std::uint32_t ttl);

  Limits limits_;
  Now now_;
  mutable std::mutex mutex_;
  Lru lru_;
  std::unordered_map<Key, Lru::iterator, KeyHash> entries_;
  std::unordered_map<Key, Flight, KeyHash> flights_;
  Stats stats_;
};

}  // namespace authmilter::dns

#include "authmilter/dns/answer_cache.h"

#include <algorithm>
#include <utility>

namespace authmilter::dns {

std::size_t AnswerCache::KeyHash::operator()(const Key& key) const {
  return std::hash<std::string>{}(key.name) * 31u + static_cast<std::size_t>(key.type);
}

AnswerCache::AnswerCache(Limits limits, Now now) : limits_(limits), now_(std::move(now)) {
  if (!now_) now_ = [] { return Clock::now(); };
}

std::uint32_t AnswerCache::cache_ttl(const Answer& answer) const {
  switch (answer.status) {
    case Status::kNoError:
      return answer.records.empty() ? 0 : std::min(answer.ttl, limits_.max_ttl);
    case Status::kNoData:
    case Status::kNxDomain:
      return std::min(answer.ttl, limits_.negative_ttl_cap);
    case Status::kServFail:
    case Status::kTimeout:
    case Status::kError:
      return 0;
  }
  return 0;
}

PendingAnswer AnswerCache::peek(const std::string& name, RrType type) {
  std::lock_guard lock(mutex_);
  return cached_locked(Key{name, type});
}

PendingAnswer AnswerCache::cached_locked(const Key& key) {
  const auto found = entries_.find(key);
  if (found == entries_.end()) return {};
  const auto now = now_();
  Entry& entry = *found->second;
  if (now >= entry.expires) {
    lru_.erase(found->second);
    entries_.erase(found);
    return {};
  }
  lru_.splice(lru_.begin(), lru_, found->second);
  ++stats_.hits;
  // Hand out what is left of the TTL, never more than each record had.
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(entry.expires - now);
  Answer answer = entry.answer;
  answer.ttl = static_cast<std::uint32_t>(std::min<long long>(left.count(), answer.ttl));
  for (auto& record : answer.records) record.ttl = std::min(record.ttl, answer.ttl);
  return ready_answer(std::move(answer));
}

AnswerCache::Lookup AnswerCache::begin(const std::string& name, RrType type) {
  Key key{name, type};
  std::lock_guard lock(mutex_);
  if (PendingAnswer cached = cached_locked(key); cached.valid()) return {std::move(cached), false};
  if (auto flight = flights_.find(key); flight != flights_.end()) {
    ++stats_.coalesced;
    return {flight->second.pending, false};
  }
  ++stats_.misses;
  Flight flight;
  flight.promise = std::make_shared<AnswerPromise>();
  flight.pending = flight.promise->get_future();
  PendingAnswer pending = flight.pending;
  flights_.emplace(std::move(key), std::move(flight));
  return {std::move(pending), true};
}

void AnswerCache::complete(const std::string& name, RrType type, const Answer& answer) {
  Key key{name, type};
  std::shared_ptr<AnswerPromise> promise;
  {
    std::lock_guard lock(mutex_);
    if (auto flight = flights_.find(key); flight != flights_.end()) {
      promise = std::move(flight->second.promise);
      flights_.erase(flight);
    }
    // Store before the lock is dropped: a begin() after this sees the entry, not a gap.
    const std::uint32_t ttl = cache_ttl(answer);
    if (ttl > 0 && limits_.max_entries > 0) {
      try {
        store_locked(std::move(key), answer, ttl);
      } catch (const std::bad_alloc&) {
        // Caching is an optimisation; the waiters below must be answered regardless.
      }
    }
  }
  // Waiters wake outside the lock.
  if (promise) promise->set_value(answer);
}

void AnswerCache::store_locked(Key key, const Answer& answer, std::uint32_t ttl) {
  if (auto old = entries_.find(key); old != entries_.end()) {
    lru_.erase(old->second);
    entries_.erase(old);
  }
  while (entries_.size() >= limits_.max_entries) {
    entries_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evictions;
  }
  lru_.push_front(Entry{key, answer, now_() + std::chrono::seconds(ttl)});
  try {
    entries_.emplace(std::move(key), lru_.begin());
  } catch (...) {
    lru_.pop_front();  // keep the list and the index in step
    throw;
  }
}

std::size_t AnswerCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t AnswerCache::in_flight() const {
  std::lock_guard lock(mutex_);
  return flights_.size();
}

AnswerCache::Stats AnswerCache::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void AnswerCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
}

}  // namespace authmilter::dns

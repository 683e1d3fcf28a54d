// authmilter::dns::Resolver — the one DNS seam of the daemon.
//
// What: every DNS question any check asks (SPF mechanisms, SenderID records, DKIM keys, DMARC
//   records) goes through one Resolver shared by all threads. start() begins a lookup and
//   returns at once; await()/lookup() wait for it until a deadline. Callers start many lookups
//   early (SPF at MAIL FROM, keys at end of headers) and wait for them late.
// Implementations: CaresResolver (production, c-ares event loop + TTL cache) and ZoneResolver
//   (in-memory zones for tests, with injected TIMEOUT/SERVFAIL). Engines cannot tell them apart.
// Results: an Answer carries a Status that maps onto the RFC outcomes the checks need:
//   kNoError with records; kNoData / kNxDomain (RFC 2308 negative answers: "void lookups" for
//   SPF, "none" for DMARC/DKIM); kServFail / kTimeout / kError are temporary (temperror).
// Waiting: await() blocks on the lookup's shared state until the answer, the deadline or the
//   caller's CancelToken, whichever comes first; the resolver's completion and the cancel
//   each wake it at once (no polling).
// Names: case-insensitive, a trailing dot is ignored (normalize_name()).
// Security: answers are untrusted input; records keep raw bytes, callers validate them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/work/cancel.h"
#include "authmilter/work/future.h"

namespace authmilter::dns {

using Clock = work::Clock;
using Deadline = work::Deadline;

// DNS RR types we ask for (RFC 1035, RFC 3596, RFC 4408 type 99).
enum class RrType : std::uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSpf = 99,
};
std::string_view to_string(RrType type);

enum class Status : std::uint8_t {
  kNoError,   // answer with at least one record of the asked type
  kNoData,    // name exists, no record of that type (RFC 2308 NODATA)
  kNxDomain,  // name does not exist
  kServFail,  // upstream SERVFAIL (temporary)
  kTimeout,   // no answer before DNSTimeout or the caller's deadline (temporary)
  kError,     // REFUSED, FORMERR, malformed reply, resolver shut down (temporary)
};
std::string_view to_string(Status status);

// One resource record of the asked type. `data` depends on the type:
//   kA: 4 raw address bytes; kAaaa: 16 raw address bytes;
//   kTxt/kSpf: the character-strings of one RR concatenated (RFC 7208 §3.3, RFC 6376
//   §3.6.2.2), `strings` keeps them apart;
//   kMx: the exchange name (and `preference`); kPtr/kCname/kNs: the target name.
// Names in data are lower-case-preserving, without a trailing dot.
struct Record {
  RrType type = RrType::kA;
  std::uint32_t ttl = 0;
  std::uint16_t preference = 0;
  std::string data;
  std::vector<std::string> strings;  // TXT/SPF only
};

struct Answer {
  Status status = Status::kError;
  std::vector<Record> records;  // only records of the asked type, CNAMEs followed
  std::uint32_t ttl = 0;        // smallest record TTL, or the negative-caching TTL
  bool authenticated = false;   // the upstream validating resolver set the AD bit
  std::string detail;           // human text for logs ("timeout after 5s", "SERVFAIL")

  bool has_records() const { return status == Status::kNoError && !records.empty(); }
  // SERVFAIL, timeout, other errors: the check's result is temperror.
  bool is_temporary_failure() const {
    return status == Status::kServFail || status == Status::kTimeout || status == Status::kError;
  }
  static Answer failure(Status status, std::string detail);
};

using PendingAnswer = work::Future<Answer>;
using AnswerPromise = work::Promise<Answer>;

class Resolver {
 public:
  virtual ~Resolver() = default;
  Resolver() = default;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Starts a lookup (or joins an identical one in flight, or answers from cache) and returns
  // without blocking. Thread-safe.
  virtual PendingAnswer start(std::string_view name, RrType type) = 0;

  // Waits for `pending` until `deadline`; a kTimeout answer when the deadline passes first or
  // when `*cancel` is cancelled (which wakes this wait at once).
  static Answer await(const PendingAnswer& pending, Deadline deadline,
                      const work::CancelToken* cancel = nullptr);

  // The answer when it is there at once (a cache hit, an in-memory zone), without starting a
  // lookup; otherwise an invalid PendingAnswer. Thread-safe. The default has none: checks
  // through such a resolver always go to the pool (ReadyOnlyResolver).
  virtual PendingAnswer peek(std::string_view name, RrType type);

  Answer lookup(std::string_view name, RrType type, Deadline deadline,
                const work::CancelToken* cancel = nullptr) {
    return await(start(name, type), deadline, cancel);
  }
};

// A view of another Resolver that never waits and never asks: a lookup whose answer `inner`
// has at once (Resolver::peek: its cache, an in-memory zone) gets that answer; any other is
// answered here at once with kError, and missed() turns true. A check run through it on the
// calling thread either completes from those answers alone, or its result is dropped and the
// check is run again where it may wait (milter/spf_handler.h, start_ready_first).
// One per check attempt, on one thread.
class ReadyOnlyResolver final : public Resolver {
 public:
  explicit ReadyOnlyResolver(Resolver& inner) : inner_(inner) {}
  PendingAnswer start(std::string_view name, RrType type) override;
  // Some lookup had no answer at once: whatever the check concluded is not its result.
  bool missed() const { return missed_; }

 private:
  Resolver& inner_;
  bool missed_ = false;
};

// Lower-case, no trailing dot: the form used for cache keys and zone keys.
std::string normalize_name(std::string_view name);

// A ready PendingAnswer holding `answer` (for caches and in-memory resolvers).
PendingAnswer ready_answer(Answer answer);

// The reason a lookup failed, for A-R comments and logs (src/dns/failure_text.cc):
// "DNS timeout for example.org TXT: no reply within 5000 ms", "DNS SERVFAIL for ...",
// "DNS REFUSED for ...", "DNS error for example.org TXT: malformed reply: ...".
// `name` must already be printable (callers sanitize what came from the sender).
std::string failure_text(const Answer& answer, std::string_view name, RrType type);

}  // namespace authmilter::dns

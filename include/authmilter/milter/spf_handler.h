// authmilter::milter::SpfHandler — SPF at the milter stages (RFC 7208).
//
// What: at MAIL FROM it starts the MAIL FROM check (RFC 7208 §2.4) and, for the null sender or
//   with `SPFHelo always`, the HELO check (§2.3), each queued on the shared worker Pool
//   (libspf2 blocks in its DNS callback) so DNS runs while the client sends headers and body;
//   at end of message it waits for them, bounded by the message deadline and woken by the
//   Transaction's cancel, and stores the typed results. A check not finished by the deadline,
//   or never run (pool queue full), is reported as temperror (DESIGN §4).
// Publishes: Pending::spf_envelope (MAIL FROM, or HELO for the null sender) for SenderID.
// Config keys: SPFHelo (and, through the policy, SPFFail, SPFSoftFail, TempError).
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

// Waits for a check queued on the Pool until `deadline` plus work::kSettleGrace (a check
// stopped by the deadline then names the lookup that timed out) or `*cancel`. Null when it
// has no result, with `why` set: the temperror comment.
template <class T>
const T* await_check(const work::Future<T>& pending, dns::Deadline deadline,
                     const work::CancelToken* cancel, std::string& why) {
  static constexpr const char* kNotFinished = "check did not finish before MessageTimeout";
  if (!pending.wait_until(deadline + work::kSettleGrace, cancel)) {
    why = kNotFinished;
    return nullptr;
  }
  try {
    return &pending.get();
  } catch (const work::NotRun& e) {
    why = e.reason() == work::NotRun::Reason::kSaturated ? "check not run: worker pool full"
                                                         : kNotFinished;
    return nullptr;
  }
}

// A started SPF check's result, or temperror when await_check() has none. Shared with
// SenderID and own-domain include: checks, which run the same engine.
spf::CheckResult collect_spf(const work::Future<spf::CheckResult>& pending,
                             const spf::Request& request, dns::Deadline deadline,
                             const work::CancelToken* cancel);

// Queues `request` on the Pool for the SPF engine, with the message's deadline and cancel.
// Runs `check(resolver)` (a callable that owns copies of its inputs) here first, through a
// dns::ReadyOnlyResolver over `resolver`: when every answer it needs is cached (a busy
// gateway's usual case), its result is ready at once, without handing work to the pool and
// waking a worker and then the waiter (thread switches, docs/PERFORMANCE.md). Otherwise, or
// when it throws, that try is dropped (it asked no DNS and costs a few microseconds) and the
// check is queued on the pool as before, with `resolver` itself.
template <class F>
auto start_ready_first(Transaction& txn, dns::Resolver& resolver, F check)
    -> work::Future<std::invoke_result_t<F&, dns::Resolver&>> {
  using Result = std::invoke_result_t<F&, dns::Resolver&>;
  try {
    dns::ReadyOnlyResolver ready(resolver);
    Result result = check(ready);
    if (!ready.missed()) return work::make_ready_future(std::move(result));
  } catch (...) {
    // Run again on the pool, whose Future keeps what it throws for the collector.
  }
  return txn.services().pool.submit(
      txn.deadline(), txn.shared_cancel_token(),
      [check = std::move(check), &resolver]() mutable { return check(resolver); });
}

// The SPF check of `request`, from ready answers at once or on the pool (start_ready_first).
work::Future<spf::CheckResult> start_spf_check(Transaction& txn, const spf::Request& request);

class SpfHandler final : public Handler {
 public:
  // Declared order (handler.h): none.
  static HandlerSpec spec();
  void on_envfrom(Transaction& txn) override;
  // For a trusted relay the client to judge is known only here (Received: chain).
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  work::Future<spf::CheckResult> mail_from_;
  work::Future<spf::CheckResult> helo_;
  spf::Request mail_from_request_;
  spf::Request helo_request_;
  void start(Transaction& txn);
};

}  // namespace authmilter::milter

// authmilter::milter::SpfHandler — SPF at the milter stages (RFC 7208).
//
// What: at MAIL FROM it starts the MAIL FROM check (RFC 7208 §2.4) and, for the null sender or
//   with `SPFHelo always`, the HELO check (§2.3), each on a background task so DNS runs while
//   the client sends headers and body; at end of message it waits for them, bounded by the
//   message deadline, and stores the typed results. A check still running at the deadline is
//   reported as temperror (DESIGN §4).
// Publishes: Pending::spf_envelope (MAIL FROM, or HELO for the null sender) for SenderID.
// Config keys: SPFHelo (and, through the policy, SPFFail, SPFSoftFail, TempError).
#pragma once

#include <future>
#include <optional>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

// Waits for a started check until `deadline` (plus a short grace for its own temperror);
// temperror when it has not finished. Shared with SenderID, which runs the same engine.
spf::CheckResult collect_spf(const std::shared_future<spf::CheckResult>& pending,
                             const spf::Request& request, dns::Deadline deadline);

class SpfHandler final : public Handler {
 public:
  // Declared order (handler.h): none.
  static HandlerSpec spec();
  ~SpfHandler() override;
  void on_envfrom(Transaction& txn) override;
  // For a trusted relay the client to judge is known only here (Received: chain).
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  std::shared_future<spf::CheckResult> mail_from_;
  std::shared_future<spf::CheckResult> helo_;
  spf::Request mail_from_request_;
  spf::Request helo_request_;
  void start(Transaction& txn);
};

}  // namespace authmilter::milter

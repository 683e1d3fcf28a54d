// authmilter::milter::SpfHandler — SPF at the milter stages (RFC 7208).
//
// What: at MAIL FROM it starts the MAIL FROM check (RFC 7208 §2.4) and, for the null sender or
//   with `SPFHelo always`, the HELO check (§2.3), each on a background task so DNS runs while
//   the client sends headers and body; at end of message it waits for them, bounded by the
//   message deadline, and stores the typed results. A check still running at the deadline is
//   reported as temperror (DESIGN §4).
// Config keys: SPFHelo (and, through the policy, SPFFail, SPFSoftFail, TempError).
#pragma once

#include <future>
#include <optional>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class SpfHandler final : public Handler {
 public:
  ~SpfHandler() override;
  void on_envfrom(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  std::future<spf::CheckResult> mail_from_;
  std::future<spf::CheckResult> helo_;
  spf::Request mail_from_request_;
  spf::Request helo_request_;
};

}  // namespace authmilter::milter

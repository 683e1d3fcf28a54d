// authmilter::milter::DmarcHandler — DMARC (RFC 7489) at the milter stages.
//
// What: at end of headers the From: domain is known (exactly one From: with mailboxes of one
//   domain, RFC 7489 §6.6.1) and the `_dmarc` record lookups for it and its organizational
//   domain start; at end of message, after SPF and DKIM have stored their results, DMARC
//   evaluates alignment and policy from Results only (the MAIL FROM SPF result, or HELO for
//   the null sender; never the PRA result) and stores its own.
// Config keys: IgnoreDMARCFor (From: domains not evaluated), and through the policy
//   DMARCReject, DMARCQuarantine, DMARCMultipleFrom.
#pragma once

#include <optional>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class DmarcHandler final : public Handler {
 public:
  // Declared order (handler.h): after spf, dkim and trusted-results, whose results it reads.
  static HandlerSpec spec();
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  std::optional<dmarc::Evaluator::Pending> pending_;
};

}  // namespace authmilter::milter

// authmilter::milter::DmarcHandler — DMARC (RFC 9989) at the milter stages.
//
// What: at end of headers the From: domain is known (exactly one From: with mailboxes of one
//   domain) and every lookup the evaluation may need starts at once (dmarc.h): the Author
//   Domain's policy discovery, and in DMARCDiscovery treewalk the tree walks for the
//   Organizational Domains of the envelope's SPF domain and of each DKIM-Signature d= (up to
//   MaxSignatures). At end of message, after SPF and DKIM have stored their results, DMARC
//   evaluates alignment and policy from Results only (the MAIL FROM SPF result, or HELO for
//   the null sender; never the PRA result) and stores its own.
// Config keys: IgnoreDMARCFor (From: domains not evaluated), DMARCDiscovery (through the
//   Evaluator), and through the policy DMARCReject, DMARCQuarantine, DMARCMultipleFrom.
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

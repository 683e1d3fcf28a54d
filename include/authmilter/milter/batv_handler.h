// authmilter::milter::BatvHandler — Bounce Address Tag Validation (draft-levine-smtp-batv §4,
// mail/batv.h) in and out.
//
// Inbound, at RCPT (untrusted clients): a bounce (null MAIL FROM) to one of OwnDomains must
//   carry the tag we put on the MAIL FROM of the message it bounces, or we never sent that
//   message (backscatter). A valid tag is removed (the recipient is replaced by the address
//   without it); a missing or bad one takes BATVFail: reject and tempfail refuse the
//   recipient at once, mark and quarantine act on the whole message at its end.
// Outbound, at end of message (internal and authenticated clients): a MAIL FROM in
//   OwnDomains gets a fresh tag (smfi_chgfrom).
// Result: Results::batv; the policy merges a deferred BATVFail into the verdict.
// Config keys: BATVKeyFile (the handler runs only with a key), BATVFail, OwnDomains.
#pragma once

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class BatvHandler final : public Handler {
 public:
  // Declared order (handler.h): none; it runs for every client when a key is loaded.
  static HandlerSpec spec();
  std::optional<policy::Verdict> on_rcpt(Transaction& txn, std::string_view argument,
                                         std::string& recipient) override;
  void on_eom(Transaction& txn) override;

 private:
  policy::BatvResult result_;
};

}  // namespace authmilter::milter

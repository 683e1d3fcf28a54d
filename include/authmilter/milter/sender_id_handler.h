// authmilter::milter::SenderIdHandler — SenderID (RFC 4406) on the PRA (RFC 4407).
//
// Why: SPF on MAIL FROM says nothing about the From: a user sees. When SPF is
//   non-authoritative (none, neutral, temperror, permerror) a phisher's envelope domain
//   without SPF lets a forged From: through; the PRA check closes that gap. An SPF pass or
//   fail is final: mail whose MAIL FROM passes SPF is never judged again on its From:, so
//   legitimate senders using their own bounce domain are not hurt (`SenderID fallback`).
// When: at end of headers the PRA is known; a task queued on the worker Pool once the SPF
//   result (Pending::spf_envelope) is there (no thread waits for it) decides and runs the PRA
//   check with the same engine, resolver and cache as SPF. At end of message the result is
//   collected, bounded by the message deadline.
// No PRA (RFC 4407 §2: none of the four fields, several From: without Sender:, several
//   mailboxes, unparsable): permerror (RFC 4406 §4.4 treats an ill-formed message so).
// Config keys: SenderID (off, fallback, always), PRAFail (through the policy).
#pragma once

#include <optional>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class SenderIdHandler final : public Handler {
 public:
  // Declared order (handler.h): after spf, whose result it waits for.
  static HandlerSpec spec();
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  work::Future<std::optional<policy::SenderIdResult>> check_;
  spf::Request request_;
};

}  // namespace authmilter::milter

// authmilter::milter::DkimHandler — DKIM verification at the milter stages (RFC 6376, 8463).
//
// What: every header goes to the message's DKIM verifier (dkim/verifier.h) as it arrives; at end of
//   headers the verifier starts the key lookups (they run while the body streams); body
//   chunks are hashed as they come (no whole-message buffering); at end of message every
//   signature's result lands in Results::dkim, where DMARC reads it.
// Config keys: MaxSignatures, DKIMAllowSHA1, DKIMMinKeyBits (through dkim::VerifierOptions).
#pragma once

#include <memory>

#include "authmilter/dkim/verifier.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class DkimHandler final : public Handler {
 public:
  // Declared order (handler.h): none.
  static HandlerSpec spec();
  void on_envfrom(Transaction& txn) override;
  void on_header(Transaction& txn, const mail::HeaderField& field) override;
  void on_eoh(Transaction& txn) override;
  void on_body(Transaction& txn, std::string_view chunk) override;
  void on_eom_start(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  std::unique_ptr<dkim::Verifier> verifier_;
};

}  // namespace authmilter::milter

// authmilter::milter::ArcHandler — ARC (RFC 8617) at the milter stages: verify the chain,
// apply ARCTrustedSealers, seal.
//
// What: at end of headers the message's ARC sets are parsed and the key lookups of every
//   seal and message signature start (dkim::ArcVerifier, on the OpenSSL engine); body chunks
//   feed the AMS body hashes as they stream; at end of message the chain result lands in
//   Results::arc and, since this handler runs after DMARC, policy::arc_override() decides
//   whether a trusted sealer's results override a DMARC fail (Results::dmarc_override).
//   After the verdict (on_outcome) it seals: ARCSign adds our set i = highest + 1 over our
//   A-R, unless the verdict is reject or tempfail, the chain is temperror, the newest seal
//   says cv=fail, or the next instance would pass 50 (dkim::kMaxArcInstances).
// Trust: untrusted clients only (internal and authenticated mail is neither judged nor
//   sealed).
// Config keys: ARCTrustedSealers, ARCSign, ARCSealDomain, ARCSelector, ARCKeyFile,
//   DKIMMinKeyBits (sealer keys).
#pragma once

#include <memory>

#include "authmilter/dkim/arc.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class ArcHandler final : public Handler {
 public:
  // Declared order (handler.h): after dmarc (the override reads its result).
  static HandlerSpec spec();
  void on_envfrom(Transaction& txn) override;
  void on_eoh(Transaction& txn) override;
  void on_body(Transaction& txn, std::string_view chunk) override;
  void on_eom(Transaction& txn) override;
  void on_outcome(Transaction& txn, Outcome& outcome) override;

 private:
  std::unique_ptr<dkim::ArcVerifier> verifier_;
};

}  // namespace authmilter::milter

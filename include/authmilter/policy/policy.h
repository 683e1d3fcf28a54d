// authmilter::policy — from results to one verdict (DESIGN §6).
//
// What: each outcome that the admin can act on (SPF fail, SPF softfail, DNS temperror,
//   internal error) maps to the configured Action; the most severe one wins
//   (reject > tempfail > quarantine > mark > accept). Rejections and deferrals carry an SMTP
//   reply with an RFC 3463/7372 enhanced status code and a human reason naming the check, never
//   internal details.
// Rules: a temperror can never reject (DNS trouble is tempfail or accept, config enforces it);
//   SPF permerror, neutral and none change nothing.
// SenderID: a PRA fail takes PRAFail (550 5.7.1 / 451 4.7.1); a PRA temperror takes
//   TempError only when PRAFail is not accept (only then could the PRA decide the verdict).
// DMARC: a fail whose disposition (after pct) is reject/quarantine takes DMARCReject /
//   DMARCQuarantine (550 5.7.1); several From: addresses take DMARCMultipleFrom; a DMARC pass
//   authenticates the From: domain and so cancels SPF fail/softfail and PRA fail (a forwarded
//   message with a good aligned DKIM signature is accepted).
// iprev: fail or permerror takes IPRevFail (550 5.7.25 / 451 4.7.25, RFC 7372), a temperror
//   takes TempError only when IPRevFail is not accept; a DMARC pass does not cancel it.
// Own domains: outside mail forging OwnDomains in From:/PRA takes OwnDomainSpoof (5.7.1).
// BATV: a bad bounce recipient whose BATVFail is mark or quarantine (Results::batv.deferred)
//   acts on the whole message; reject and tempfail refused the recipient at RCPT already.
// ARC (RFC 8617 §7.2, ARCTrustedSealers): arc_override() says when a DMARC fail whose
//   disposition is reject/quarantine is overridden: the chain passes and a trusted sealer's
//   ARC-Authentication-Results shows an aligned pass for the From: domain (dkim=pass with an
//   aligned header.d, spf=pass with an aligned smtp.mailfrom, dmarc=pass for header.from);
//   the newest trusted sealer that vouches is named. decide() then skips DMARCReject /
//   DMARCQuarantine (Results::dmarc_override). A chain left undecided by a DNS temporary
//   error (arc=temperror) with a trusted sealer in it takes TempError instead of the DMARC
//   action. Untrusted sealers and a failed chain change nothing.
// Codes: SPF fail/softfail 550 5.7.23 (RFC 7372 "SPF validation failed") or 451 4.7.23 when
//   the action is tempfail; DNS temperror 451 4.4.3; internal error 451 4.3.0.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "authmilter/config/config.h"
#include "authmilter/mail/batv.h"
#include "authmilter/policy/results.h"

namespace authmilter::policy {

struct Verdict {
  config::Action action = config::Action::kAccept;
  std::string check;          // which outcome chose the action: "spf-fail", "temperror", ...
  std::string smtp_code;      // "550" / "451" when action is reject or tempfail
  std::string enhanced_code;  // "5.7.23", ...
  std::string reason;         // human text for the SMTP reply, quarantine reason and the log
};

Verdict decide(const Results& results, const config::Config& config, std::string_view client_ip);

// ARCTrustedSealers: the override of a failed DMARC disposition, if one applies.
std::optional<DmarcOverride> arc_override(const Results& results, const config::Config& config);

// BATVFail for a bounce to `recipient` whose tag is missing or bad (550 5.7.1 / 451 4.7.1).
Verdict batv_verdict(const config::Config& config, std::string_view recipient,
                     mail::BatvStatus status);

// OnInternalError (never reject; 451 4.3.0 when tempfail): for a result with internal_error
// set, and for the milter layer when a callback fails outside any Transaction.
Verdict internal_error_verdict(const config::Config& config);

// A message or connection refused because the daemon is stopping: tempfail 451 4.3.2.
Verdict shutdown_verdict();

// Severity order used to combine actions.
int severity(config::Action action);

}  // namespace authmilter::policy

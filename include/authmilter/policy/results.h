// authmilter::policy::Results — every check's typed result for one message.
//
// Why one struct: handlers never reach into each other (STYLE, "results travel in one typed
// per-message struct"); later checks (DMARC) read only this. Absent optionals mean the check
// did not run (internal client, null sender for MAIL FROM, ...).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/dkim/arc.h"
#include "authmilter/dkim/dkim.h"
#include "authmilter/dmarc/dmarc.h"
#include "authmilter/iprev/iprev.h"
#include "authmilter/mail/batv.h"
#include "authmilter/mail/pra.h"
#include "authmilter/spf/spf.h"

namespace authmilter::policy {

// SenderID (RFC 4406) on the PRA (RFC 4407), when it ran.
struct SenderIdResult {
  spf::CheckResult check;                 // result, domain, comment of the PRA check
  std::optional<mail::PraSource> source;  // which header gave the PRA (absent: none found)
  std::string pra;                        // the PRA address ("" when there is none)
  std::string why;                        // why it ran: "spf=none", "always"
};

// A message claiming one of OwnDomains (issue #6): approved, or a spoof.
struct OwnDomainResult {
  std::string domain;       // the claimed domain
  std::string field;        // "From", or the PRA field that claimed it
  std::string approved_by;  // "network 192.0.2.1", "include:svc.example", "dkim d=..."; empty
  bool temporary = false;   // an include: check had a DNS temperror
  bool spoof = false;       // not approved (and not for temporary reasons)
};

// BATV (draft-levine-smtp-batv): what the handler did at RCPT and for an outbound sender.
struct BatvResult {
  std::string tagged_mail_from;  // outbound: "<prvs=...>" to set as MAIL FROM; empty: keep
  // Inbound bounces: recipients as given at RCPT -> "<address without its valid tag>".
  std::vector<std::pair<std::string, std::string>> untagged_recipients;
  std::size_t refused = 0;  // bounce recipients with a missing or bad tag
  // The last bad bounce recipient whose BATVFail action (mark, quarantine) applies to the
  // whole message at its end.
  bool deferred = false;
  std::string deferred_recipient;
  mail::BatvStatus deferred_status = mail::BatvStatus::kNotTagged;
};

// A DMARC disposition not applied because of a local policy (RFC 9990 PolicyOverrideType):
// ARCTrustedSealers gives "trusted_forwarder" (policy.h, arc_override()).
struct DmarcOverride {
  std::string type;     // RFC 9990 PolicyOverrideType: "trusted_forwarder"
  std::string sealer;   // the trusted sealer whose ARC-Authentication-Results vouched
  std::string comment;  // for the A-R and the log: "arc override by lists.example.org"
};

struct Results {
  std::optional<iprev::IprevResult> iprev;        // RFC 8601 §3 (absent: IPRev off)
  std::optional<spf::CheckResult> spf_mail_from;  // RFC 7208 §2.4 (absent for <>)
  std::optional<spf::CheckResult> spf_helo;       // RFC 7208 §2.3 (null sender, or SPFHelo always)
  std::optional<SenderIdResult> sender_id;        // only when the check ran
  bool dkim_checked = false;                      // the DKIM check ran (dkim=none when no sig)
  std::vector<dkim::SignatureResult> dkim;        // one per signature judged (empty: none)
  std::size_t dkim_skipped = 0;                   // signatures past MaxSignatures
  std::optional<dmarc::DmarcResult> dmarc;        // absent: not evaluated (IgnoreDMARCFor)
  std::optional<dkim::ArcChainResult> arc;        // absent: ARC not checked (RFC 8617)
  std::optional<DmarcOverride> dmarc_override;    // DMARC's disposition overridden (ARC)
  std::optional<OwnDomainResult> own_domain;      // absent: From:/PRA not one of OwnDomains
  std::optional<BatvResult> batv;                 // absent: BATV off (no BATVKeyFile)
  bool internal_error = false;                    // a handler failed in a way that is our fault
  std::string internal_error_detail;

  // The SPF result that speaks for the envelope: MAIL FROM, or HELO for the null sender.
  const spf::CheckResult* spf_envelope() const;
};

}  // namespace authmilter::policy

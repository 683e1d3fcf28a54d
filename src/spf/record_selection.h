// authmilter::spf record selection — which TXT record is a domain's policy, per scope.
//
// What: RFC 7208 §4.5 for the MAIL FROM and HELO scopes (exactly one "v=spf1" record), and
//   RFC 4406 §3.4/§4.4 for SenderID's PRA scope: an `spf2.0/...pra...` record wins and is
//   presented to libspf2 as "v=spf1 ..." (same mechanism syntax); v=spf1 records stand for
//   "spf2.0/mfrom,pra" only when the domain publishes no spf2.0 record at all (spf2.0
//   records for other scopes only: no pra policy, "none").
// Used by the DNS layer's get_spf (dns_layer.h), the libspf2 seam for this (STYLE.md).
// Internal to the spf module.
#pragma once

#include <string>
#include <vector>

namespace authmilter::spf {

// Which records a policy lookup accepts: RFC 7208 scopes use v=spf1; kPra (RFC 4406) prefers
// spf2.0 records whose scope list names "pra".
enum class Scope { kMailFrom, kHelo, kPra };

struct RecordSelection {
  enum class Outcome { kNone, kFound, kMultiple };
  Outcome outcome = Outcome::kNone;
  std::string record;  // the chosen record, rewritten to start with "v=spf1" (kFound only)
};

// RFC 7208 §4.5: among the TXT strings of a domain, exactly one must start with "v=spf1"
// followed by a space or its end (case-insensitive); others are ignored.
RecordSelection select_record(const std::vector<std::string>& texts, Scope scope);

}  // namespace authmilter::spf

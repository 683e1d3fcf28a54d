// authmilter::spf DNS layer — libspf2's DNS questions answered by our dns::Resolver.
//
// What: a custom SPF_dns_server_t (spf_dns.h) whose `lookup` answers A, AAAA, MX, PTR, TXT and
//   SPF(99) questions through dns::Resolver::lookup() with the message deadline and cancel
//   flag, and whose `get_spf` fetches and selects the policy record itself (TXT only, RFC 7208
//   §3.1/§4.4), so include/redirect chains share the daemon's cache. This file is the adapter;
//   each concern behind it has its own file in src/spf/:
//   - lookup_context.h: the per-check state, RFC 7208 §4.6.4 counters and why a check stopped;
//   - lookup_purpose.h: which term a `lookup` belongs to, from libspf2's order of questions;
//   - record_selection.h: which TXT record is the policy (v=spf1, or spf2.0/pra for SenderID);
//   - record_split.h: records too long for libspf2, served in parts;
//   - explanation.h: the exp= text; macro_values.h: macro values for the fixes of
//     record_lint.h.
// Status mapping (netdb.h herrno, as spf_dns_resolv.c fills SPF_dns_rr_t): records ->
//   NETDB_SUCCESS; NXDOMAIN -> HOST_NOT_FOUND; NODATA -> NO_DATA; SERVFAIL, timeout, error,
//   deadline or cancel -> TRY_AGAIN (libspf2 then ends with temperror).
// Limits (RFC 7208 §4.6.4, constants in spf.h): kMaxDnsTerms terms and kMaxVoidLookups void
//   lookups per check (lookup_context.h); an MX answer over kMaxMxNames names is an error;
//   PTR answers past kMaxPtrNames are ignored. Exceeding one refuses the lookup (TRY_AGAIN, or
//   SPF_E_BIG_DNS in get_spf) and LookupContext::stop says why.
// CIDR length 0 on a/mx: lookups of a target carrying a record_lint.h marker go to the real
//   name; an A (AAAA) answer with records, for a family whose length is 0, is replaced by the
//   client's own address (so libspf2's exact match stands for "/0 matches anything"); for
//   "mx/0" the same happens to the A/AAAA lookups of the MX names.
// ptr mechanism: a temporary error on the A/AAAA lookup of a PTR name skips that name (RFC
//   7208 §5.5: "that domain name is skipped and the search continues"); libspf2 would end
//   with temperror.
// Memory: every SPF_dns_rr_t handed to libspf2 is built with SPF_dns_rr_new_init and
//   SPF_dns_rr_buf_realloc, so libspf2 frees it with SPF_dns_rr_free; the SPF_dns_server_t is
//   freed through its `destroy` callback by DnsLayer's destructor.
// Security: DNS answers are hostile: addresses of the wrong size and names or texts with NUL
//   are dropped, records with octets outside printable ASCII are permerror.
// Internal to the spf module (the Checker in spf.cc is its only user).
#pragma once

#include "lookup_context.h"

struct SPF_dns_server_struct;  // libspf2's SPF_dns_server_t (spf2/spf_dns.h)

namespace authmilter::spf {

// Owns the SPF_dns_server_t whose hook is `context` (which must outlive the layer and every
// SPF_server_t using it).
class DnsLayer {
 public:
  explicit DnsLayer(LookupContext& context);
  ~DnsLayer();
  DnsLayer(const DnsLayer&) = delete;
  DnsLayer& operator=(const DnsLayer&) = delete;

  SPF_dns_server_struct* get() const { return server_; }

 private:
  SPF_dns_server_struct* server_;
};

}  // namespace authmilter::spf

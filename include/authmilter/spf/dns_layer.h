// authmilter::spf DNS layer — libspf2's DNS questions answered by our dns::Resolver.
//
// What: a custom SPF_dns_server_t (spf_dns.h) whose `lookup` answers A, AAAA, MX, PTR, TXT and
//   SPF(99) questions through dns::Resolver::lookup() with the message deadline and cancel
//   flag, and whose `get_spf` fetches and selects the policy record itself (TXT only, RFC 7208
//   §3.1/§4.4), so include/redirect chains share the daemon's cache.
// Status mapping (netdb.h herrno, as spf_dns_resolv.c fills SPF_dns_rr_t): records ->
//   NETDB_SUCCESS; NXDOMAIN -> HOST_NOT_FOUND; NODATA -> NO_DATA; SERVFAIL, timeout, error,
//   deadline or cancel -> TRY_AGAIN (libspf2 then ends with temperror).
// Limits (RFC 7208 §4.6.4), enforced here because libspf2 1.2.10 counts DNS mechanisms per
//   include level only and has no void-lookup limit:
//   - kMaxDnsTerms DNS-querying terms (a, mx, ptr, exists, include, redirect) per check;
//   - kMaxVoidLookups terms answered NXDOMAIN / NODATA;
//   - an MX answer over kMaxMxNames names is an error; PTR answers past kMaxPtrNames are
//     ignored.
//   Exceeding one stops the evaluation: the lookup is refused (TRY_AGAIN, or SPF_E_BIG_DNS in
//   get_spf) and LookupContext::stop says why; the Checker turns that into permerror.
//   Lookups are classified by what libspf2 asks next: MX/PTR answers name the A/AAAA
//   sub-lookups that follow (not terms); a PTR asked with should_cache=FALSE is the %{p} macro
//   (not a term); TXT through `lookup` is the exp= text (not a term, exactly one record or
//   none, RFC 7208 §6.2).
// Seam for SenderID (issue #3): LookupContext::scope selects which records get_spf accepts;
//   for Scope::kPra an `spf2.0/...pra...` record is presented to libspf2 as "v=spf1 ..." (RFC
//   4406 §3.4/§4.4), falling back to v=spf1 records only when the domain publishes no spf2.0
//   record at all (spf2.0 records for other scopes only: no pra policy, "none").
// Macros: records and exp= texts go through fix_macros() (record_lint.h) with this check's
//   macro values, working around libspf2's %{d2} truncation bug and its lack of the ','
//   and '/' delimiters.
// CIDR length 0 on a/mx: lookups of a target carrying a record_lint.h marker go to the real
//   name; an A (AAAA) answer with records, for a family whose length is 0, is replaced by the
//   client's own address (so libspf2's exact match stands for "/0 matches anything"); for
//   "mx/0" the same happens to the A/AAAA lookups of the MX names.
// Long records: libspf2 1.2.10 keeps at most 511 octets of compiled mechanisms per record
//   and silently drops the rest (64 ip4 or 26 ip6 terms suffice; "-all" would vanish). A
//   record it does not compile whole is split: the first part ends in
//   "redirect=<n>" + kContinuationSuffix and get_spf serves the rest for that name, without
//   DNS and without counting a term, under the record's own domain (%{d}, implicit a/mx),
//   with the record's exp=. Each part adds one level to libspf2's recursion depth (max 20).
// ptr mechanism: a temporary error on the A/AAAA lookup of a PTR name skips that name (RFC
//   7208 §5.5: "that domain name is skipped and the search continues"); libspf2 would end
//   with temperror.
// Memory: every SPF_dns_rr_t handed to libspf2 is built with SPF_dns_rr_new_init and
//   SPF_dns_rr_buf_realloc, so libspf2 frees it with SPF_dns_rr_free; the SPF_dns_server_t is
//   freed through its `destroy` callback by DnsLayer's destructor.
// Security: DNS answers are hostile: addresses of the wrong size and names or texts with NUL
//   are dropped, records with octets outside printable ASCII are permerror.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/spf/record_lint.h"

struct SPF_dns_server_struct;  // libspf2's SPF_dns_server_t (spf2/spf_dns.h)
struct SPF_request_struct;     // libspf2's SPF_request_t (spf2/spf_request.h)

namespace authmilter::spf {

inline constexpr int kMaxDnsTerms = 10;          // RFC 7208 §4.6.4 ¶1
inline constexpr int kMaxVoidLookups = 2;        // RFC 7208 §4.6.4 ¶7
inline constexpr std::size_t kMaxMxNames = 10;   // RFC 7208 §4.6.4 ¶2: more is permerror
inline constexpr std::size_t kMaxPtrNames = 10;  // RFC 7208 §4.6.4 ¶3: the rest is ignored
// Names of the parts of split records (RFC 6761 §6.4: .invalid never exists).
inline constexpr std::string_view kContinuationSuffix = ".continue.authmilter.invalid";

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

// RFC 7208 §6.2/§7.1: the exp= TXT text as libspf2 should compile it, or nullopt when it is
// not a valid explain-string (then there is no explanation). Each SP becomes the equivalent
// "%_" macro, because libspf2 1.2.10 turns a literal SP into '%' and loses the macro after it.
std::optional<std::string> prepare_explanation(std::string_view text);

// Why a check's evaluation was cut short by this layer (first cause wins).
enum class Stop {
  kNone,
  kDeadline,   // the message deadline passed before a lookup -> temperror
  kCancelled,  // the cancel flag was set -> temperror
  kTermLimit,  // more than kMaxDnsTerms DNS-querying terms -> permerror
  kVoidLimit,  // more than kMaxVoidLookups void lookups -> permerror
  kMxLimit,    // an MX answer with more than kMaxMxNames names -> permerror
  kInternal,   // an exception inside a callback -> temperror
};
bool is_permanent(Stop stop);

// Per-check state shared with the callbacks through SPF_dns_server_t::hook. One per check:
// never shared between threads.
struct LookupContext {
  LookupContext(dns::Resolver& resolver_in, dns::Deadline deadline_in,
                const std::atomic<bool>* cancel_in, Scope scope_in, bool ipv6_client_in)
      : resolver(resolver_in),
        deadline(deadline_in),
        cancel(cancel_in),
        scope(scope_in),
        ipv6_client(ipv6_client_in) {}

  dns::Resolver& resolver;
  dns::Deadline deadline;
  const std::atomic<bool>* cancel;
  Scope scope;
  bool ipv6_client;
  // The check's request, for macro values in exp= texts (see fix_macros()) and the client
  // address of "/0" answers; may stay null (then those texts are passed on unchanged and
  // "/0" answers keep their real addresses).
  SPF_request_struct* request = nullptr;

  // Counters (RFC 7208 §4.6.4).
  int terms = 0;
  int void_lookups = 0;
  std::size_t lookups = 0;  // every resolver lookup this check made

  Stop stop = Stop::kNone;
  std::string stop_detail;  // e.g. "include:example.org is the 11th DNS-querying term"
  std::string problem;      // first record problem met (multiple records, syntax error, ...)
  std::string temp_detail;  // first temporary DNS failure, e.g. "example.org/TXT: SERVFAIL"

  // Internal: whether the top-level record was fetched (later get_spf calls are terms), and
  // the names the last MX/PTR answer told libspf2 to look up next.
  bool top_level_fetched = false;
  std::vector<std::string> follow_names;
  std::size_t follow_next = 0;
  bool follow_is_client_name = false;  // the names came from the %{p} PTR lookup
  bool follow_is_ptr = false;          // the names came from a ptr-mechanism PTR lookup
  ZeroCidr follow_zero_cidr;           // the names came from an "mx/0" lookup (record_lint.h)

  // Internal: records too long for libspf2, split into parts (see "Long records" above):
  // continuation name -> the rest of the record, the domain it belongs to, and its name in
  // messages. `continuation_domains` keeps the strings request->cur_dom points to.
  struct Continuation {
    std::string record;
    std::string domain;
    std::string where;
  };
  std::map<std::string, Continuation> continuations;
  std::deque<std::string> continuation_domains;
  std::size_t continuation_count = 0;
};

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

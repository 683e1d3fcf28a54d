// authmilter::spf lookup context — one check's DNS state, counters and RFC 7208 limits.
//
// What: the state the libspf2 callbacks (dns_layer.h) share for one check, reached through
//   SPF_dns_server_t::hook: the resolver, deadline and cancel token; the RFC 7208 §4.6.4
//   counters (kMaxDnsTerms DNS-querying terms, kMaxVoidLookups void lookups per check; the
//   limits themselves are in spf.h); why the evaluation stopped; the first record problem and
//   the first temporary DNS failure (for the A-R comment); the names libspf2 will look up
//   next (lookup_purpose.h) and the parts of split records (record_split.h).
// Limits are enforced here because libspf2 1.2.10 counts DNS mechanisms per include level
//   only and has no void-lookup limit. Exceeding one stops the evaluation: the callback
//   refuses the lookup and `stop` says why; the Checker turns that into permerror.
// Thread-safety: one context per check, never shared between threads.
// Internal to the spf module.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/spf/record_lint.h"
#include "record_selection.h"

struct SPF_request_struct;  // libspf2's SPF_request_t (spf2/spf_request.h)

namespace authmilter::spf {

// Why a check's evaluation was cut short by the DNS layer (first cause wins).
enum class Stop {
  kNone,
  kDeadline,   // the message deadline passed before a lookup -> temperror
  kCancelled,  // the cancel token was set -> temperror
  kTermLimit,  // more than kMaxDnsTerms DNS-querying terms -> permerror
  kVoidLimit,  // more than kMaxVoidLookups void lookups -> permerror
  kMxLimit,    // an MX answer with more than kMaxMxNames names -> permerror
  kInternal,   // an exception inside a callback -> temperror
};
bool is_permanent(Stop stop);

struct LookupContext {
  LookupContext(dns::Resolver& resolver_in, dns::Deadline deadline_in,
                const work::CancelToken* cancel_in, Scope scope_in, bool ipv6_client_in)
      : resolver(resolver_in),
        deadline(deadline_in),
        cancel(cancel_in),
        scope(scope_in),
        ipv6_client(ipv6_client_in) {}

  dns::Resolver& resolver;
  dns::Deadline deadline;
  const work::CancelToken* cancel;
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
  std::string temp_detail;  // first temporary DNS failure, e.g. "DNS SERVFAIL for example.org TXT"

  // Whether the top-level record was fetched (later get_spf calls are include/redirect).
  bool top_level_fetched = false;

  // The names the last MX/PTR answer told libspf2 to look up next (lookup_purpose.h).
  struct Follow {
    std::vector<std::string> names;
    std::size_t next = 0;
    bool is_client_name = false;  // the names came from the %{p} PTR lookup
    bool is_ptr = false;          // the names came from a ptr-mechanism PTR lookup
    ZeroCidr zero_cidr;           // the names came from an "mx/0" lookup (record_lint.h)
  };
  Follow follow;

  // Records too long for libspf2, split into parts (record_split.h): continuation name ->
  // the rest of the record, the domain it belongs to, and its name in messages.
  // `continuation_domains` keeps the strings request->cur_dom points to.
  struct Continuation {
    std::string record;
    std::string domain;
    std::string where;
  };
  std::map<std::string, Continuation> continuations;
  std::deque<std::string> continuation_domains;
  std::size_t continuation_count = 0;
};

// A name for messages: controls dropped, at most a domain name's length.
std::string printable(std::string_view name);
// "example.org/TXT"
std::string describe(std::string_view name, dns::RrType type);

// Records why the evaluation stops, unless a cause is already recorded.
void note_stop(LookupContext& ctx, Stop stop, std::string detail);
// Records the first record problem; later ones are dropped.
void note_problem(LookupContext& ctx, std::string problem);
// Records the first temporary DNS failure.
void note_temporary(LookupContext& ctx, std::string_view name, dns::RrType type,
                    const dns::Answer& answer);

// False when no more DNS may be asked: the cancel token is set or the deadline has passed (the
// resolver itself would still hand out answers that are already cached). `evaluation` says
// whether the refusal ends the evaluation (then it is the check's reason for temperror).
bool may_query(LookupContext& ctx, bool evaluation);

// The answer for `name`, or NXDOMAIN without asking when no query can be composed from it
// (RFC 7208 §4.3/§4.8: such a name is treated as non-existent).
dns::Answer query(LookupContext& ctx, std::string_view name, dns::RrType type);

// RFC 7208 §4.6.4 ¶7: NXDOMAIN, or an answer without records.
bool is_void(const dns::Answer& answer);

// Counts one DNS-querying term (RFC 7208 §4.6.4 ¶1). False, and the evaluation stops, when
// the check already had kMaxDnsTerms; `where` names the term in that message.
bool count_term(LookupContext& ctx, const std::string& where);
// Counts one void lookup (¶7) of `name`/`type`. False, and the evaluation stops, past
// kMaxVoidLookups.
bool count_void(LookupContext& ctx, std::string_view name, dns::RrType type);

}  // namespace authmilter::spf

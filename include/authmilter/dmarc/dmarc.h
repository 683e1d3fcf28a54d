// authmilter::dmarc — DMARC evaluation (RFC 7489) on libopendmarc and libpsl.
//
// What: from_domain() picks the RFC5322.From domain (§6.6.1); Evaluator::start() begins the
//   policy record lookups at end of headers, Evaluator::evaluate() decides at end of message
//   from the SPF and DKIM results: identifier alignment (§3.1), policy discovery (§6.6.3),
//   p/sp (§6.3), pct sampling (§6.6.4). The result carries the RFC 8601 §2.7.2 token and what
//   the A-R comment and the policy module need (p, sp, pct, disposition).
// Steps and sources:
//   From: domain   exactly one From: field whose mailboxes all share one domain, else
//                  permerror (multiple fields or domains: FromProblem tells, for the
//                  DMARCMultipleFrom action); parsed by mail::parse_address_list (RFC 5322).
//   discovery      _dmarc.<from> TXT, and only when that holds no v=DMARC1 record,
//                  _dmarc.<organizational domain> (§6.6.3 steps 1-4); both lookups start
//                  together at end of headers so the second costs no extra wait. More than one
//                  DMARC record at the name that answers: none (step 5). A void record (no or
//                  bad p, bad sp, without a valid rua; record.h): none (step 6.2) — no
//                  fallback to the organizational domain, since step 3 only runs on an empty
//                  set. A temporary DNS failure on a lookup the answer depends on: temperror.
//   alignment      ours (libopendmarc's is wrong, see src/dmarc/libopendmarc.h): strict =
//                  same name, relaxed = same organizational domain (org_domain.h). SPF counts
//                  only as "pass" for the MAIL FROM identity, or HELO for the null sender, as
//                  the caller passes it (§3.1.2, RFC 7208 §2.4) — never a PRA result. DKIM:
//                  every passing signature's d= (§3.1.1).
//   policy         the record goes to libopendmarc (opendmarc_policy_store_dmarc), which says
//                  which of p and sp applies: sp only when the record is the organizational
//                  domain's and the From: domain is below it. np= (RFC 9989) is not RFC 7489
//                  and is ignored like any unknown tag.
//   pct            the requested policy applies to pct% of failing messages, by an injectable
//                  random source; §6.6.4: a message sampled out of "reject" is quarantined,
//                  one sampled out of "quarantine" gets none. pct=0: never, pct=100: always.
// Limits: domains as domain.h, records as record.h; a _dmarc name longer than
//   util::kMaxDomainNameLength cannot exist and is not asked for.
// Config keys (read by the milter, not here): PublicSuffixList, DMARCReject, DMARCQuarantine,
//   DMARCMultipleFrom, IgnoreDMARCFor.
// Thread-safety: an Evaluator is shared by all milter threads; start() and evaluate() are
//   const and reentrant given a thread-safe Resolver and random source.
// Security: the From: field, DNS answers and the DKIM/SPF domains are hostile; all pass
//   normalize_domain() (domain.h) or the record parser before anything compares or stores them.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/dkim/dkim.h"
#include "authmilter/dmarc/org_domain.h"
#include "authmilter/dmarc/record.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/header.h"
#include "authmilter/spf/spf.h"

namespace authmilter::dmarc {

// RFC 8601 §2.7.2 / RFC 7489 §11.2 dmarc results.
enum class Result { kNone, kPass, kFail, kTempError, kPermError };
std::string_view to_token(Result result);  // "none", "pass", "fail", "temperror", "permerror"

// Why there is no single From: domain.
enum class FromProblem {
  kNone,             // ok
  kNoField,          // no From: field at all
  kMultipleFields,   // more than one From: field (RFC 5322 §3.6 allows exactly one)
  kMultipleDomains,  // one field, mailboxes in different domains
  kUnparsable,       // not an RFC 5322 address list
  kNoDomain,         // no mailbox, or a mailbox without a domain / with a domain literal
  kBadDomain,        // a domain that is not a valid (IDNA) domain name
};
std::string_view to_string(FromProblem problem);

struct FromDomain {
  bool ok = false;
  std::string domain;  // normalized (A-labels, lower case, no trailing dot) when ok
  FromProblem problem = FromProblem::kNone;
  std::string error;  // human text for logs and the A-R comment
  // The DMARCMultipleFrom action applies (RFC 7489 §6.6.1 leaves multi-valued From: open).
  bool multiple() const {
    return problem == FromProblem::kMultipleFields || problem == FromProblem::kMultipleDomains;
  }
};

// `from_values`: the values of every From: field of the message, in order (unfolded or not).
FromDomain from_domain(std::span<const std::string_view> from_values);
// The same over a message's header fields; names compare case-insensitively.
FromDomain from_domain_in(std::span<const mail::HeaderField> headers);
bool is_from_field(std::string_view name);  // "From", any case

// Identifier alignment of two domains (RFC 7489 §3.1): strict = the same name, relaxed = the
// same organizational domain. Invalid names never align.
bool aligned(std::string_view a, std::string_view b, Alignment mode, const OrgDomainFinder& org);

struct Inputs {
  // The SPF result for MAIL FROM, or for HELO when MAIL FROM was <> (nullptr: no SPF check).
  const spf::CheckResult* spf = nullptr;
  std::span<const dkim::SignatureResult> dkim;  // every signature's result, any order
};

struct DmarcResult {
  Result result = Result::kNone;
  std::string from_domain;    // header.from (normalized; empty on permerror)
  std::string org_domain;     // its organizational domain
  std::string policy_domain;  // where the record was found; empty when none was used
  FromProblem from_problem = FromProblem::kNone;  // set on permerror

  // From the record (meaningful when policy_domain is set; defaults otherwise).
  Policy p = Policy::kNone;
  Policy sp = Policy::kNone;  // as it applies: p's value when the record has no sp
  bool sp_explicit = false;   // the record has a valid sp tag
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  int pct = 100;
  bool p_none_for_rua = false;  // RFC 7489 §6.6.3 step 6.1 turned a bad p/sp into p=none

  bool subdomain_policy_applied = false;  // sp (not p) is the requested policy
  Policy requested = Policy::kNone;       // p or sp: what the domain asks for failing mail
  // After pct sampling: what to do with this message. kNone for pass, none, temperror,
  // permerror, p=none, and for messages sampled out of quarantine; kQuarantine for messages
  // sampled out of reject (§6.6.4).
  Policy disposition = Policy::kNone;
  bool sampled_out = false;

  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string dkim_aligned_domain;  // d= of the first passing, aligned signature
  std::string comment;              // short reason, for logs and the A-R comment
};

// Returns a uniformly distributed integer in [0, 100). Called from many threads at once.
using PercentSource = std::function<int()>;

class Evaluator {
 public:
  // `percent`: empty for a thread-local Mersenne Twister seeded from std::random_device.
  Evaluator(dns::Resolver& resolver, const OrgDomainFinder& org, PercentSource percent = {});

  // The lookups in flight for one message (copyable; holds shared futures).
  struct Pending {
    FromDomain from;
    std::string org_domain;
    dns::PendingAnswer from_answer;  // _dmarc.<from>
    dns::PendingAnswer org_answer;   // _dmarc.<org>; not valid() when org == from
  };

  // At end of headers. A FromDomain that is not ok gives a Pending that evaluates to
  // permerror without any lookup.
  Pending start(const FromDomain& from) const;
  Pending start(std::string_view from_domain) const;

  // At end of message; waits for the lookups until `deadline` or `*cancel` (temperror).
  DmarcResult evaluate(const Pending& pending, const Inputs& inputs, dns::Deadline deadline,
                       const work::CancelToken* cancel = nullptr) const;

 private:
  dns::Resolver& resolver_;
  const OrgDomainFinder& org_;
  PercentSource percent_;
};

}  // namespace authmilter::dmarc

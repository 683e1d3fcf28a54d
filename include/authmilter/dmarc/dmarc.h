// authmilter::dmarc — DMARC evaluation (RFC 9989) with policy discovery by DNS tree walk or by
// the public suffix list.
//
// What: from_domain() picks the RFC5322.From domain (RFC 9989 "Extract Author Domain");
//   Evaluator::start() begins every DNS query the evaluation may need at end of headers,
//   concurrently; Evaluator::evaluate() decides at end of message from the SPF and DKIM
//   results, in RFC order: policy discovery, identifier alignment, which tag applies (p, sp,
//   np), testing (t). The result carries the RFC 8601 token and what the A-R, the log, the
//   policy module and aggregate reports need.
// Discovery (config DMARCDiscovery; one evaluator, only "find the records and the
//   Organizational Domain" differs):
//   treewalk  RFC 9989 "DNS Tree Walk": _dmarc.<name> TXT for the name, then (x < 8 labels)
//             its parent, or (x >= 8) straight to its last seven labels, then one label less
//             each step: at most eight queries (tree_walk_names()). A name with more than one
//             DMARC record counts as none; a single record with psd=y or psd=n stops the walk.
//             "DMARC Policy Discovery": the Author Domain's record; else the record of its
//             Organizational Domain; else the one of its Public Suffix Domain (psd=y).
//             "Identifier Alignment Evaluation": the Organizational Domain from the records a
//             walk found, longest name first: psd=n makes that domain it; psd=y (not the
//             starting name) the domain one label below; else the record with the fewest
//             labels; else the starting domain (select_org_domain()).
//   psl       RFC 7489 §3.2 / §6.6.3: the Organizational Domain from the public suffix list
//             (libpsl, org_domain.h); the record at the Author Domain, else at its
//             Organizational Domain. psd= is read and reported but never stops anything.
// Policy: p for the Author Domain's own record; for a record above it sp when the Author
//   Domain exists, np when it does not (RFC 9989 "Non-existent Domains": NXDOMAIN for the
//   Author Domain itself; NODATA means it exists), absent np falls back to sp, then p. A
//   record without a valid p, or with an invalid sp or np, acts as p=none when it has a valid
//   rua, otherwise DMARC does not apply (result none). t=y: the applied disposition is one
//   level lower (reject -> quarantine -> none). pct is gone (RFC 9989 "Removal of the pct
//   Tag"): pct=0 is read as t=y, its named analogue; any other pct value is ignored.
// Alignment: strict = the same name; relaxed = the same Organizational Domain (found the same
//   way as the Author Domain's). SPF counts only as "pass" for the MAIL FROM identity, or HELO
//   for the null sender (never a PRA result); DKIM: every passing signature's d=.
// DNS: every lookup goes through the Resolver (cache, coalescing, deadline). A temporary
//   failure on a query the answer depends on gives temperror: a walk stopped before the
//   failed name does not depend on it, and an identifier whose walk failed only matters when
//   no other identifier aligned. Besides the walks, one query (TXT at the Author Domain
//   itself, usually already cached by SPF) tells whether the Author Domain exists; it is
//   waited for only when sp/np could differ.
// Limits: domains as domain.h, records as record.h; a _dmarc name longer than
//   util::kMaxDomainNameLength cannot exist and is not asked for; kMaxWalkQueries per walk,
//   kMaxAlignmentWalks identifiers started at end of headers.
// Config keys (read by the milter / ServiceSet, not here): DMARCDiscovery, PublicSuffixList,
//   DMARCReject, DMARCQuarantine, DMARCMultipleFrom, IgnoreDMARCFor.
// Thread-safety: an Evaluator is shared by all milter threads; start() and evaluate() are
//   const and reentrant given a thread-safe Resolver.
// Security: the From: field, DNS answers and the DKIM/SPF domains are hostile; all pass
//   normalize_domain() (domain.h) or the record parser before anything compares or stores them.
#pragma once

#include <cstddef>
#include <optional>
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

// RFC 9989 "DNS Tree Walk": at most this many _dmarc queries per walk.
inline constexpr std::size_t kMaxWalkQueries = 8;
// Identifiers (SPF domain, DKIM d=) other than the Author Domain whose walks start at end of
// headers; more are walked at end of message if their result is needed.
inline constexpr std::size_t kMaxAlignmentWalks = 6;

// How the policy record and Organizational Domains are found (config DMARCDiscovery; the
// RFC 9990 aggregate report's discovery_method).
enum class Discovery { kTreeWalk, kPsl };
std::string_view to_token(Discovery discovery);                   // "treewalk", "psl"
std::optional<Discovery> parse_discovery(std::string_view text);  // case-insensitive

// Which tag of the record gave the requested policy.
enum class PolicyTag { kNone, kP, kSp, kNp };
std::string_view to_token(PolicyTag tag);  // "", "p", "sp", "np"

// The names a DNS Tree Walk starting at `domain` queries (without the "_dmarc." prefix), in
// order: the name itself, then per RFC 9989 "DNS Tree Walk" steps 3-7. At most
// kMaxWalkQueries; empty for a name that is not a valid domain name.
std::vector<std::string> tree_walk_names(std::string_view domain);

// One name of a walk that held exactly one DMARC record.
struct WalkRecord {
  std::string domain;
  Psd psd = Psd::kUnspecified;
};
// RFC 9989 "Identifier Alignment Evaluation": the Organizational Domain of `start` from the
// records its walk found (`found` in walk order: longest name first).
std::string select_org_domain(std::string_view start, std::span<const WalkRecord> found);

// Identifier alignment of two domains: strict = the same name, relaxed = the same
// organizational domain by the public suffix list (psl mode). Invalid names never align.
bool aligned(std::string_view a, std::string_view b, Alignment mode, const OrgDomainFinder& org);

struct Inputs {
  // The SPF result for MAIL FROM, or for HELO when MAIL FROM was <> (nullptr: no SPF check).
  const spf::CheckResult* spf = nullptr;
  std::span<const dkim::SignatureResult> dkim;  // every signature's result, any order
};

struct DmarcResult {
  Result result = Result::kNone;
  std::string from_domain;  // header.from: the Author Domain (normalized; empty on permerror)
  FromProblem from_problem = FromProblem::kNone;  // set on permerror
  Discovery discovery = Discovery::kTreeWalk;     // how the records were found
  std::string org_domain;     // the Author Domain's Organizational Domain; empty when unknown
  std::string policy_domain;  // where the record used was found; empty when none was used

  // From the record used (meaningful when policy_domain is set; defaults otherwise).
  Psd psd = Psd::kUnspecified;  // the psd tag of that record
  Policy p = Policy::kNone;
  std::optional<Policy> sp;       // as published (absent: not in the record, or p=none for rua)
  std::optional<Policy> np;       // as published
  bool testing = false;           // t=y, or pct=0 read as t=y
  bool testing_from_pct = false;  // `testing` came from pct=0 (no t tag)
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  std::vector<std::string> rua;  // the record's syntactically valid aggregate report URIs
  bool p_none_for_rua = false;   // a bad p/sp/np turned into p=none because rua is valid

  // Whether the Author Domain exists (false: NXDOMAIN for it, so np applies to a record above
  // it). True when unknown or not needed (a record at the Author Domain itself).
  bool author_domain_exists = true;
  PolicyTag policy_tag = PolicyTag::kNone;  // the tag that gave `requested`
  Policy requested = Policy::kNone;         // that tag's policy: what the domain asks for
  // What to do with this message: kNone unless the result is fail; then `requested`, one
  // level lower when `testing` (reject -> quarantine -> none).
  Policy disposition = Policy::kNone;

  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string dkim_aligned_domain;  // d= of the first passing, aligned signature
  std::string comment;              // short reason, for logs and the A-R comment
};

class Evaluator {
 public:
  // `psl`: the public suffix list, used only when `discovery` is kPsl.
  Evaluator(dns::Resolver& resolver, const OrgDomainFinder& psl,
            Discovery discovery = Discovery::kTreeWalk);

  Discovery discovery() const { return discovery_; }

  // The lookups of one walk in flight (copyable; holds shared futures).
  struct Walk {
    std::string domain;  // the starting name (normalized)
    std::vector<std::pair<std::string, dns::PendingAnswer>> steps;  // name, _dmarc TXT lookup
  };
  // The lookups in flight for one message.
  struct Pending {
    FromDomain from;
    Walk author;                       // policy discovery (and its Organizational Domain)
    dns::PendingAnswer author_exists;  // TXT at the Author Domain: NXDOMAIN or not
    std::vector<Walk> identifiers;     // alignment walks started early (treewalk)
  };

  // At end of headers. `identifiers`: the SPF domain and DKIM d= domains known by then, whose
  // Organizational Domains relaxed alignment may need (treewalk; others are ignored). A
  // FromDomain that is not ok gives a Pending that evaluates to permerror without any lookup.
  Pending start(const FromDomain& from, std::span<const std::string> identifiers = {}) const;
  Pending start(std::string_view from_domain, std::span<const std::string> identifiers = {}) const;

  // At end of message; waits for the lookups until `deadline` or `*cancel` (temperror).
  DmarcResult evaluate(const Pending& pending, const Inputs& inputs, dns::Deadline deadline,
                       const work::CancelToken* cancel = nullptr) const;

 private:
  Walk start_walk(const std::string& domain) const;

  dns::Resolver& resolver_;
  const OrgDomainFinder& psl_;
  Discovery discovery_;
};

}  // namespace authmilter::dmarc

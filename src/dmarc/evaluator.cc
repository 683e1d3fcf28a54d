#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/domain.h"
#include "authmilter/mail/address.h"
#include "authmilter/util/ascii.h"

namespace authmilter::dmarc {
namespace {

constexpr std::string_view kDmarcPrefix = "_dmarc.";

std::string dmarc_name(const std::string& domain) { return std::string(kDmarcPrefix) + domain; }

dns::PendingAnswer start_lookup(dns::Resolver& resolver, const std::string& domain) {
  const std::string name = dmarc_name(domain);
  if (name.size() > util::kMaxDomainNameLength) {
    // No such name can exist in the DNS (RFC 1035 §2.3.4); asking would only fail oddly.
    dns::Answer answer;
    answer.status = dns::Status::kNxDomain;
    answer.detail = "name too long";
    return dns::ready_answer(std::move(answer));
  }
  return resolver.start(name, dns::RrType::kTxt);
}

std::vector<std::string_view> labels_of(std::string_view domain) {
  std::vector<std::string_view> labels;
  while (true) {
    const std::size_t dot = domain.find('.');
    labels.push_back(domain.substr(0, dot));
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
  }
  return labels;
}

std::size_t label_count(std::string_view domain) {
  return static_cast<std::size_t>(std::count(domain.begin(), domain.end(), '.')) + 1;
}

// The last `count` labels of `domain` (count <= its label count).
std::string last_labels(std::string_view domain, std::size_t count) {
  const std::vector<std::string_view> labels = labels_of(domain);
  std::string out;
  for (std::size_t i = labels.size() - count; i < labels.size(); ++i) {
    if (!out.empty()) out += '.';
    out += labels[i];
  }
  return out;
}

// A name of a walk that held exactly one DMARC record.
struct Found {
  std::string domain;
  std::string text;
  Psd psd = Psd::kUnspecified;
};

// What the names of one walk said, in walk order, up to where the walk stops.
struct WalkOutcome {
  std::vector<Found> records;
  bool temporary = false;  // a query failed before the walk could stop: the rest is unknown
  std::string detail;      // the failure, for the comment
  // The first name's _dmarc node exists (records or NODATA), so the first name exists too.
  bool first_name_exists = false;
};

WalkOutcome run_walk(const Evaluator::Walk& walk, bool stop_at_psd, dns::Deadline deadline,
                     const work::CancelToken* cancel) {
  WalkOutcome out;
  for (std::size_t i = 0; i < walk.steps.size(); ++i) {
    const auto& [domain, pending] = walk.steps[i];
    const dns::Answer answer = dns::Resolver::await(pending, deadline, cancel);
    if (answer.is_temporary_failure()) {
      out.temporary = true;
      out.detail = dns::failure_text(answer, dmarc_name(domain), dns::RrType::kTxt);
      return out;
    }
    if (i == 0) out.first_name_exists = answer.status != dns::Status::kNxDomain;
    if (!answer.has_records()) continue;  // NXDOMAIN, NODATA: an empty set
    std::vector<const std::string*> dmarc_records;
    for (const dns::Record& record : answer.records) {
      if (record.type == dns::RrType::kTxt && is_dmarc_record(record.data)) {
        dmarc_records.push_back(&record.data);
      }
    }
    // "If multiple DMARC Policy Records are returned for a single target, they are all
    // discarded."
    if (dmarc_records.size() != 1) continue;
    Found found{domain, *dmarc_records.front(), parse_record(*dmarc_records.front()).psd};
    const bool stop = stop_at_psd && found.psd != Psd::kUnspecified;
    out.records.push_back(std::move(found));
    if (stop) break;  // "If a single record remains and it contains a psd=n or psd=y tag, stop."
  }
  return out;
}

std::vector<WalkRecord> walk_records(const WalkOutcome& outcome) {
  std::vector<WalkRecord> out;
  out.reserve(outcome.records.size());
  for (const Found& found : outcome.records) out.push_back({found.domain, found.psd});
  return out;
}

std::string spf_domain_of(const spf::CheckResult& spf) {
  if (!spf.domain.empty()) return spf.domain;
  if (spf.identity == spf::Identity::kHelo) return spf.checked;
  return mail::domain_of(spf.checked);
}

Policy step_down(Policy policy) {
  switch (policy) {
    case Policy::kReject:
      return Policy::kQuarantine;
    case Policy::kQuarantine:
    case Policy::kNone:
      return Policy::kNone;
  }
  return Policy::kNone;
}

enum class Aligned { kNo, kYes, kUnknown };

}  // namespace

std::string_view to_token(Result result) {
  switch (result) {
    case Result::kNone:
      return "none";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "permerror";
}

std::string_view to_token(Discovery discovery) {
  return discovery == Discovery::kPsl ? "psl" : "treewalk";
}

std::optional<Discovery> parse_discovery(std::string_view text) {
  if (util::iequals_ascii(text, "treewalk")) return Discovery::kTreeWalk;
  if (util::iequals_ascii(text, "psl")) return Discovery::kPsl;
  return std::nullopt;
}

std::string_view to_token(PolicyTag tag) {
  switch (tag) {
    case PolicyTag::kP:
      return "p";
    case PolicyTag::kSp:
      return "sp";
    case PolicyTag::kNp:
      return "np";
    case PolicyTag::kNone:
      return "";
  }
  return "";
}

std::vector<std::string> tree_walk_names(std::string_view domain) {
  std::vector<std::string> names;
  const std::optional<std::string> normalized = normalize_domain(domain);
  if (!normalized) return names;
  std::string target = *normalized;
  names.push_back(target);
  // Step 4: from more than seven labels straight to the last seven; then step 7: one label
  // less each time, until no labels remain.
  std::size_t labels = label_count(target);
  if (labels >= kMaxWalkQueries) {
    labels = kMaxWalkQueries - 1;
  } else {
    --labels;
  }
  for (; labels > 0 && names.size() < kMaxWalkQueries; --labels) {
    names.push_back(last_labels(target, labels));
  }
  return names;
}

std::string select_org_domain(std::string_view start, std::span<const WalkRecord> found) {
  const std::optional<std::string> normalized = normalize_domain(start);
  const std::string start_name = normalized ? *normalized : std::string(start);
  for (const WalkRecord& record : found) {
    // 1. psd=n: this domain is the Organizational Domain.
    if (record.psd == Psd::kNo) return record.domain;
    // 2. psd=y on a name other than the start: the domain one label below it.
    if (record.psd == Psd::kYes && record.domain != start_name) {
      const std::size_t below = label_count(record.domain) + 1;
      if (below <= label_count(start_name)) return last_labels(start_name, below);
    }
  }
  // 3. The record at the name with the fewest labels (the walk goes from long to short).
  if (!found.empty()) return found.back().domain;
  return start_name;  // "then the initial target domain is the Organizational Domain"
}

bool aligned(std::string_view a, std::string_view b, Alignment mode, const OrgDomainFinder& org) {
  const std::optional<std::string> na = normalize_domain(a);
  const std::optional<std::string> nb = normalize_domain(b);
  if (!na || !nb) return false;
  if (*na == *nb) return true;
  if (mode == Alignment::kStrict) return false;
  const std::string oa = org.organizational_domain(*na);
  return !oa.empty() && oa == org.organizational_domain(*nb);
}

Evaluator::Evaluator(dns::Resolver& resolver, const OrgDomainFinder& psl, Discovery discovery)
    : resolver_(resolver), psl_(psl), discovery_(discovery) {}

Evaluator::Walk Evaluator::start_walk(const std::string& domain) const {
  Walk walk;
  walk.domain = domain;
  std::vector<std::string> names;
  if (discovery_ == Discovery::kTreeWalk) {
    names = tree_walk_names(domain);
  } else {
    // RFC 7489 §6.6.3: the Author Domain, then its organizational domain by the PSL (both
    // started together so the second costs no extra wait).
    names.push_back(domain);
    std::string org = psl_.organizational_domain(domain);
    if (!org.empty() && org != domain) names.push_back(std::move(org));
  }
  for (std::string& name : names) {
    dns::PendingAnswer pending = start_lookup(resolver_, name);
    walk.steps.emplace_back(std::move(name), std::move(pending));
  }
  return walk;
}

Evaluator::Pending Evaluator::start(const FromDomain& from,
                                    std::span<const std::string> identifiers) const {
  Pending pending;
  pending.from = from;
  if (!from.ok) return pending;
  // Callers may build a FromDomain by hand: normalize again rather than trust it.
  std::optional<std::string> domain = normalize_domain(from.domain);
  if (!domain) {
    pending.from.ok = false;
    pending.from.problem = FromProblem::kBadDomain;
    pending.from.error = "From: domain is not a valid domain name";
    return pending;
  }
  pending.from.domain = std::move(*domain);
  pending.author = start_walk(pending.from.domain);
  // RFC 9989 "Non-existent Domains": NXDOMAIN for the Author Domain itself. TXT, since SPF
  // usually asked the same question already (cache).
  pending.author_exists = resolver_.start(pending.from.domain, dns::RrType::kTxt);
  if (discovery_ == Discovery::kTreeWalk) {
    for (const std::string& identifier : identifiers) {
      if (pending.identifiers.size() >= kMaxAlignmentWalks) break;
      const std::optional<std::string> name = normalize_domain(identifier);
      if (!name || *name == pending.from.domain) continue;
      // Without a common last label the two can never share an Organizational Domain:
      // evaluate() answers "not aligned" without a walk, so none is started.
      if (labels_of(*name).back() != labels_of(pending.from.domain).back()) continue;
      const bool known = std::any_of(pending.identifiers.begin(), pending.identifiers.end(),
                                     [&](const Walk& walk) { return walk.domain == *name; });
      if (!known) pending.identifiers.push_back(start_walk(*name));
    }
  }
  return pending;
}

Evaluator::Pending Evaluator::start(std::string_view from_domain,
                                    std::span<const std::string> identifiers) const {
  FromDomain from;
  from.ok = true;
  from.domain = std::string(from_domain);
  return start(from, identifiers);
}

DmarcResult Evaluator::evaluate(const Pending& pending, const Inputs& inputs,
                                dns::Deadline deadline, const work::CancelToken* cancel) const {
  DmarcResult out;
  out.discovery = discovery_;
  if (!pending.from.ok) {
    out.result = Result::kPermError;
    out.from_problem = pending.from.problem;
    out.comment = pending.from.error;
    return out;
  }
  const std::string& author = pending.from.domain;
  out.from_domain = author;
  if (pending.author.steps.empty() || !pending.author.steps.front().second.valid()) {
    // A Pending not made by start(): our bug, not the sender's; never wait on it.
    out.result = Result::kTempError;
    out.comment = "DMARC lookup was never started";
    return out;
  }
  const bool tree = discovery_ == Discovery::kTreeWalk;

  // Policy discovery (RFC 9989 "DMARC Policy Discovery").
  const WalkOutcome walk = run_walk(pending.author, tree, deadline, cancel);
  const bool own_record = !walk.records.empty() && walk.records.front().domain == author;
  std::optional<std::string> author_org;  // unknown after a temporary failure
  if (!tree) {
    author_org = psl_.organizational_domain(author);
  } else if (!walk.temporary) {
    const std::vector<WalkRecord> found = walk_records(walk);
    author_org = select_org_domain(author, found);
  }
  if (author_org) out.org_domain = *author_org;
  if (!own_record && walk.temporary) {
    out.result = Result::kTempError;
    out.comment = walk.detail;
    return out;
  }
  const Found* used = nullptr;
  if (own_record) {
    used = &walk.records.front();
  } else if (author_org) {
    // The Organizational Domain's record, else the Public Suffix Domain's (psd=y).
    for (const Found& found : walk.records) {
      if (found.domain == *author_org) used = &found;
    }
    if (used == nullptr && tree) {
      for (const Found& found : walk.records) {
        if (found.psd == Psd::kYes) used = &found;
      }
    }
  }
  if (used == nullptr) {
    out.comment = "no DMARC record";
    return out;
  }
  const Record record = parse_record(used->text);
  if (!record.valid) {
    out.comment = "invalid DMARC record at " + dmarc_name(used->domain) + ": " + record.error;
    return out;
  }
  out.policy_domain = used->domain;
  out.psd = record.psd;
  out.p = record.p;
  out.sp = record.sp;
  out.np = record.np;
  out.adkim = record.adkim;
  out.aspf = record.aspf;
  out.rua = record.rua;
  out.p_none_for_rua = record.p_none_for_rua;
  // RFC 9989 "Removal of the pct Tag": t=y is the analogue of pct=0; other pct values are
  // ignored (no sampling). An explicit t tag wins.
  if (record.t) {
    out.testing = *record.t;
  } else if (record.pct == 0) {
    out.testing = true;
    out.testing_from_pct = true;
  }

  // Which tag applies: p for the Author Domain's own record; above it sp when the Author
  // Domain exists, np when it does not; absent np falls back to sp, then p.
  if (used->domain == author) {
    out.policy_tag = PolicyTag::kP;
    out.requested = record.p;
  } else {
    const Policy for_existing = record.sp.value_or(record.p);
    const Policy for_missing = record.np.value_or(for_existing);
    bool exists = true;
    if (for_missing != for_existing && !walk.first_name_exists) {
      // _dmarc.<author> did not exist; ask whether <author> itself does.
      const dns::Answer answer = dns::Resolver::await(pending.author_exists, deadline, cancel);
      if (answer.is_temporary_failure()) {
        out.result = Result::kTempError;
        out.comment = dns::failure_text(answer, author, dns::RrType::kTxt);
        return out;
      }
      exists = answer.status != dns::Status::kNxDomain;
    }
    out.author_domain_exists = exists;
    if (!exists && record.np) {
      out.policy_tag = PolicyTag::kNp;
      out.requested = *record.np;
    } else if (record.sp) {
      out.policy_tag = PolicyTag::kSp;
      out.requested = *record.sp;
    } else {
      out.policy_tag = PolicyTag::kP;
      out.requested = record.p;
    }
  }

  // Identifier alignment (RFC 9989 "Identifier Alignment Evaluation").
  std::string unknown_detail;
  auto org_of = [&](const std::string& domain) -> std::optional<std::string> {
    if (!tree) return psl_.organizational_domain(domain);
    if (domain == author) return author_org;
    const Walk* walk_of = nullptr;
    for (const Walk& w : pending.identifiers) {
      if (w.domain == domain) walk_of = &w;
    }
    Walk late;
    if (walk_of == nullptr) {
      late = start_walk(domain);  // not known at end of headers: the cache may still help
      walk_of = &late;
    }
    const WalkOutcome outcome = run_walk(*walk_of, true, deadline, cancel);
    if (outcome.temporary) {
      unknown_detail = outcome.detail;
      return std::nullopt;
    }
    const std::vector<WalkRecord> found = walk_records(outcome);
    return select_org_domain(domain, found);
  };
  auto check = [&](std::string_view identifier, Alignment mode) {
    const std::optional<std::string> name = normalize_domain(identifier);
    if (!name) return Aligned::kNo;
    if (*name == author) return Aligned::kYes;
    if (mode == Alignment::kStrict) return Aligned::kNo;
    // An Organizational Domain is a suffix of its domain: names without a common last label
    // never align, whatever the walks say.
    if (labels_of(*name).back() != labels_of(author).back()) return Aligned::kNo;
    if (!author_org) {
      unknown_detail = walk.detail;
      return Aligned::kUnknown;
    }
    const std::optional<std::string> org = org_of(*name);
    if (!org) return Aligned::kUnknown;
    return !org->empty() && *org == *author_org ? Aligned::kYes : Aligned::kNo;
  };
  bool unknown = false;
  if (const spf::CheckResult* spf = inputs.spf;
      spf != nullptr && spf->result == spf::Result::kPass && spf->identity != spf::Identity::kPra) {
    const Aligned a = check(spf_domain_of(*spf), out.aspf);
    out.spf_aligned = a == Aligned::kYes;
    unknown = unknown || a == Aligned::kUnknown;
  }
  for (const dkim::SignatureResult& signature : inputs.dkim) {
    if (signature.result != dkim::Result::kPass) continue;
    const Aligned a = check(signature.domain, out.adkim);
    if (a == Aligned::kYes) {
      out.dkim_aligned = true;
      out.dkim_aligned_domain = *normalize_domain(signature.domain);
      break;
    }
    unknown = unknown || a == Aligned::kUnknown;
  }
  if (out.spf_aligned || out.dkim_aligned) {
    out.result = Result::kPass;
    out.comment =
        out.dkim_aligned ? "DKIM d=" + out.dkim_aligned_domain + " aligned" : "SPF aligned";
    return out;
  }
  if (unknown) {
    // An identifier might have aligned: the Organizational Domain walk did not finish.
    out.result = Result::kTempError;
    out.comment = unknown_detail;
    return out;
  }
  out.result = Result::kFail;
  out.comment = "neither SPF nor DKIM aligned with " + author;
  out.disposition = out.testing ? step_down(out.requested) : out.requested;
  return out;
}

}  // namespace authmilter::dmarc

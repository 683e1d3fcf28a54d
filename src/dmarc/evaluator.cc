#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/domain.h"
#include "authmilter/mail/address.h"
#include "libopendmarc.h"

namespace authmilter::dmarc {
namespace {

constexpr std::string_view kDmarcPrefix = "_dmarc.";

int default_percent() {
  thread_local std::mt19937 generator{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(generator);
}

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

// What one _dmarc name said (RFC 7489 §6.6.3 steps 1-2 or 3-4).
struct Discovery {
  bool temporary = false;            // temperror
  std::string detail;                // for the comment
  std::vector<std::string> records;  // TXT records that start with v=DMARC1
};

Discovery discover(const dns::PendingAnswer& pending, const std::string& domain,
                   dns::Deadline deadline, const work::CancelToken* cancel) {
  Discovery out;
  const dns::Answer answer = dns::Resolver::await(pending, deadline, cancel);
  if (answer.is_temporary_failure()) {
    out.temporary = true;
    out.detail = dns::failure_text(answer, dmarc_name(domain), dns::RrType::kTxt);
    return out;
  }
  if (!answer.has_records()) return out;  // NXDOMAIN, NODATA: an empty set
  for (const dns::Record& record : answer.records) {
    if (record.type == dns::RrType::kTxt && is_dmarc_record(record.data)) {
      out.records.push_back(record.data);
    }
  }
  return out;
}

std::string spf_domain_of(const spf::CheckResult& spf) {
  if (!spf.domain.empty()) return spf.domain;
  if (spf.identity == spf::Identity::kHelo) return spf.checked;
  return mail::domain_of(spf.checked);
}

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

bool aligned(std::string_view a, std::string_view b, Alignment mode, const OrgDomainFinder& org) {
  const std::optional<std::string> na = normalize_domain(a);
  const std::optional<std::string> nb = normalize_domain(b);
  if (!na || !nb) return false;
  if (*na == *nb) return true;
  if (mode == Alignment::kStrict) return false;
  const std::string oa = org.organizational_domain(*na);
  return !oa.empty() && oa == org.organizational_domain(*nb);
}

Evaluator::Evaluator(dns::Resolver& resolver, const OrgDomainFinder& org, PercentSource percent)
    : resolver_(resolver), org_(org), percent_(std::move(percent)) {
  if (!percent_) percent_ = default_percent;
}

Evaluator::Pending Evaluator::start(const FromDomain& from) const {
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
  pending.org_domain = org_.organizational_domain(pending.from.domain);
  pending.from_answer = start_lookup(resolver_, pending.from.domain);
  if (pending.org_domain != pending.from.domain) {
    // Speculative: needed only when the first set is empty, but then it is already here.
    pending.org_answer = start_lookup(resolver_, pending.org_domain);
  }
  return pending;
}

Evaluator::Pending Evaluator::start(std::string_view from_domain) const {
  FromDomain from;
  from.ok = true;
  from.domain = std::string(from_domain);
  return start(from);
}

DmarcResult Evaluator::evaluate(const Pending& pending, const Inputs& inputs,
                                dns::Deadline deadline, const work::CancelToken* cancel) const {
  DmarcResult out;
  if (!pending.from.ok) {
    out.result = Result::kPermError;
    out.from_problem = pending.from.problem;
    out.comment = pending.from.error;
    return out;
  }
  out.from_domain = pending.from.domain;
  out.org_domain = pending.org_domain;
  if (!pending.from_answer.valid()) {
    // A Pending not made by start(): our bug, not the sender's; never wait on it.
    out.result = Result::kTempError;
    out.comment = "DMARC lookup was never started";
    return out;
  }

  // Policy discovery, RFC 7489 §6.6.3.
  Discovery found = discover(pending.from_answer, out.from_domain, deadline, cancel);
  std::string where = out.from_domain;
  if (!found.temporary && found.records.empty() && pending.org_answer.valid()) {
    found = discover(pending.org_answer, out.org_domain, deadline, cancel);
    where = out.org_domain;
  }
  if (found.temporary) {
    out.result = Result::kTempError;
    out.comment = found.detail;
    return out;
  }
  if (found.records.empty()) {
    out.comment = "no DMARC record";
    return out;
  }
  if (found.records.size() > 1) {
    out.comment = "multiple DMARC records at " + dmarc_name(where);
    return out;
  }
  const Record record = parse_record(found.records.front());
  if (!record.valid) {
    out.comment = "invalid DMARC record at " + dmarc_name(where) + ": " + record.error;
    return out;
  }
  std::string error;
  const std::string org_for_sp = where == out.from_domain ? std::string() : where;
  const std::optional<detail::RequestedPolicy> policy =
      detail::requested_policy(record, out.from_domain, org_for_sp, &error);
  if (!policy) {
    out.comment = "DMARC record at " + dmarc_name(where) + " not usable: " + error;
    return out;
  }
  out.policy_domain = where;
  out.p = policy->p;
  out.sp = policy->sp.value_or(policy->p);
  out.sp_explicit = policy->sp.has_value();
  out.adkim = policy->adkim;
  out.aspf = policy->aspf;
  out.pct = policy->pct;
  out.p_none_for_rua = record.p_none_for_rua;
  out.requested = policy->to_enforce;
  out.subdomain_policy_applied = policy->sp_used;

  // Identifier alignment, RFC 7489 §3.1.
  if (const spf::CheckResult* spf = inputs.spf;
      spf != nullptr && spf->result == spf::Result::kPass && spf->identity != spf::Identity::kPra) {
    out.spf_aligned = aligned(spf_domain_of(*spf), out.from_domain, out.aspf, org_);
  }
  for (const dkim::SignatureResult& signature : inputs.dkim) {
    if (signature.result == dkim::Result::kPass &&
        aligned(signature.domain, out.from_domain, out.adkim, org_)) {
      out.dkim_aligned = true;
      out.dkim_aligned_domain = *normalize_domain(signature.domain);
      break;
    }
  }
  if (out.spf_aligned || out.dkim_aligned) {
    out.result = Result::kPass;
    out.comment =
        out.dkim_aligned ? "DKIM d=" + out.dkim_aligned_domain + " aligned" : "SPF aligned";
    return out;
  }

  out.result = Result::kFail;
  out.comment = "neither SPF nor DKIM aligned with " + out.from_domain;
  // Message sampling, RFC 7489 §6.6.4.
  out.disposition = out.requested;
  if (out.requested != Policy::kNone && out.pct < 100) {
    bool applies = false;
    if (out.pct > 0) {
      const int roll = percent_();
      applies = roll >= 0 && roll < out.pct;
    }
    if (!applies) {
      out.sampled_out = true;
      out.comment += "; sampled out by pct=" + std::to_string(out.pct);
      out.disposition = out.requested == Policy::kReject ? Policy::kQuarantine : Policy::kNone;
    }
  }
  return out;
}

}  // namespace authmilter::dmarc

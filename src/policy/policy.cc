#include "authmilter/policy/policy.h"

#include <algorithm>
#include <vector>

#include "authmilter/mail/auth_results_parse.h"
#include "authmilter/util/ascii.h"

namespace authmilter::policy {

using config::Action;

const spf::CheckResult* Results::spf_envelope() const {
  if (spf_mail_from) return &*spf_mail_from;
  if (spf_helo) return &*spf_helo;
  return nullptr;
}

int severity(Action action) {
  switch (action) {
    case Action::kAccept:
      return 0;
    case Action::kMark:
      return 1;
    case Action::kQuarantine:
      return 2;
    case Action::kTempfail:
      return 3;
    case Action::kReject:
      return 4;
  }
  return 0;
}

namespace {

// One candidate verdict per outcome; `permanent` is the class of the check itself (an SPF
// fail is a permanent judgement even when the admin chose to defer it).
Verdict candidate(Action action, std::string check, std::string_view permanent_detail,
                  std::string_view temporary_detail, std::string reason) {
  Verdict verdict;
  verdict.action = action;
  verdict.check = std::move(check);
  verdict.reason = std::move(reason);
  if (action == Action::kReject) {
    verdict.smtp_code = "550";
    verdict.enhanced_code = std::string(permanent_detail);
  } else if (action == Action::kTempfail) {
    verdict.smtp_code = "451";
    verdict.enhanced_code = std::string(temporary_detail);
  }
  return verdict;
}

std::string spf_reason(std::string_view what, const spf::CheckResult& spf,
                       std::string_view client_ip) {
  std::string reason = std::string(what) + " for " +
                       (spf.domain.empty() ? std::string("the sender") : spf.domain) + " from " +
                       std::string(client_ip);
  if (!spf.explanation.empty()) reason += ": " + spf.explanation;
  return reason;
}

bool trusted_sealer(const config::Config& config, std::string_view sealer) {
  return std::any_of(
      config.arc_trusted_sealers.begin(), config.arc_trusted_sealers.end(),
      [&](const std::string& trusted) { return util::iequals_ascii(trusted, sealer); });
}

// Relaxed alignment (RFC 7489 §3.1): the same organizational domain. `org` is the From:
// domain's, as DMARC found it; without one only the From: domain itself aligns.
bool aligned_with_from(std::string_view domain, const dmarc::DmarcResult& dm) {
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return false;
  if (util::iequals_ascii(domain, dm.from_domain)) return true;
  const std::string_view org = dm.org_domain;
  if (org.empty()) return false;
  if (util::iequals_ascii(domain, org)) return true;
  return domain.size() > org.size() + 1 && domain[domain.size() - org.size() - 1] == '.' &&
         util::iequals_ascii(domain.substr(domain.size() - org.size()), org);
}

// The sealer's ARC-Authentication-Results vouch for the From: domain.
bool aar_vouches(std::string_view aar, const dmarc::DmarcResult& dm) {
  const auto parsed = mail::parse_authentication_results(aar);
  if (!parsed) return false;
  for (const mail::ParsedResInfo& res : parsed->results) {
    if (res.result != "pass") continue;
    for (const auto& [property, value] : res.properties) {
      if (res.method == "dkim" && property == "header.d" && aligned_with_from(value, dm))
        return true;
      if (res.method == "dkim" && property == "header.i") {
        const std::size_t at = value.rfind('@');
        if (at != std::string::npos &&
            aligned_with_from(std::string_view(value).substr(at + 1), dm))
          return true;
      }
      if (res.method == "spf" && property == "smtp.mailfrom") {
        const std::size_t at = value.rfind('@');
        const std::string_view domain = at == std::string::npos
                                            ? std::string_view(value)
                                            : std::string_view(value).substr(at + 1);
        if (aligned_with_from(domain, dm)) return true;
      }
      if (res.method == "dmarc" && property == "header.from" &&
          util::iequals_ascii(value, dm.from_domain)) {
        return true;
      }
    }
  }
  return false;
}

bool dmarc_would_act(const dmarc::DmarcResult& dm) {
  return dm.result == dmarc::Result::kFail &&
         (dm.disposition == dmarc::Policy::kReject || dm.disposition == dmarc::Policy::kQuarantine);
}

// The chain could not be checked (DNS) and a trusted sealer is in it: it might have vouched.
const dkim::ArcSetSummary* undecided_trusted_set(const Results& results,
                                                 const config::Config& config) {
  if (!results.arc || results.arc->result != dkim::ArcResult::kTempError) return nullptr;
  for (auto it = results.arc->sets.rbegin(); it != results.arc->sets.rend(); ++it) {
    if (trusted_sealer(config, it->sealer)) return &*it;
  }
  return nullptr;
}

}  // namespace

std::optional<DmarcOverride> arc_override(const Results& results, const config::Config& config) {
  if (!results.dmarc || !dmarc_would_act(*results.dmarc)) return std::nullopt;
  if (!results.arc || results.arc->result != dkim::ArcResult::kPass) return std::nullopt;
  const auto& sets = results.arc->sets;
  for (auto it = sets.rbegin(); it != sets.rend(); ++it) {  // the newest trusted sealer first
    if (trusted_sealer(config, it->sealer) && aar_vouches(it->auth_results, *results.dmarc)) {
      return DmarcOverride{"trusted_forwarder", it->sealer, "arc override by " + it->sealer};
    }
  }
  return std::nullopt;
}

Verdict batv_verdict(const config::Config& config, std::string_view recipient,
                     mail::BatvStatus status) {
  return candidate(config.batv_fail, "batv-fail", "5.7.1", "4.7.1",
                   std::string(recipient) +
                       " does not accept bounces of mail it did not send (BATV: " +
                       std::string(mail::to_string(status)) + ")");
}

Verdict internal_error_verdict(const config::Config& config) {
  // Our own failure never rejects mail: `OnInternalError reject` is refused by the config,
  // and this guards the rule even for a Config built in code.
  const Action action =
      config.on_internal_error == Action::kReject ? Action::kTempfail : config.on_internal_error;
  return candidate(action, "internal-error", "4.3.0", "4.3.0",
                   "Temporary local problem, try again later");
}

Verdict shutdown_verdict() {
  // RFC 3463 4.3.2: "System not accepting network messages"; the MTA retries later.
  return candidate(Action::kTempfail, "shutdown", "4.3.2", "4.3.2",
                   "Mail filter shutting down, try again later");
}

Verdict decide(const Results& results, const config::Config& config, std::string_view client_ip) {
  std::vector<Verdict> candidates;
  if (results.internal_error) candidates.push_back(internal_error_verdict(config));
  // A DMARC pass authenticates the From: domain (aligned SPF or DKIM): an SPF failure at our
  // MX (forwarded mail) or a PRA failure no longer says the message is forged.
  const bool dmarc_pass = results.dmarc && results.dmarc->result == dmarc::Result::kPass;
  const spf::CheckResult* envelope = dmarc_pass ? nullptr : results.spf_envelope();
  if (const spf::CheckResult* spf = envelope) {
    switch (spf->result) {
      case spf::Result::kFail:
        candidates.push_back(candidate(config.spf_fail, "spf-fail", "5.7.23", "4.7.23",
                                       spf_reason("SPF fail", *spf, client_ip)));
        break;
      case spf::Result::kSoftFail:
        candidates.push_back(candidate(config.spf_softfail, "spf-softfail", "5.7.23", "4.7.23",
                                       spf_reason("SPF softfail", *spf, client_ip)));
        break;
      case spf::Result::kTempError: {
        // DNS trouble never rejects: the configuration refuses `TempError reject`, and this
        // guards the rule even for a Config built in code.
        Action action =
            config.temp_error == Action::kReject ? Action::kTempfail : config.temp_error;
        candidates.push_back(
            candidate(action, "temperror", "4.4.3", "4.4.3",
                      "DNS lookup failed for " +
                          (spf->domain.empty() ? std::string("the sender") : spf->domain) +
                          ", try again later"));
        break;
      }
      default:
        break;
    }
  }
  if (const auto& sid = dmarc_pass ? std::optional<SenderIdResult>() : results.sender_id) {
    const std::string domain =
        sid->check.domain.empty() ? std::string("the sender") : sid->check.domain;
    if (sid->check.result == spf::Result::kFail) {
      std::string reason =
          "SenderID fail for " + domain + " from " + std::string(client_ip) + " (forged " +
          (sid->source ? std::string(mail::to_field_name(*sid->source)) : std::string("sender")) +
          ")";
      candidates.push_back(
          candidate(config.pra_fail, "pra-fail", "5.7.1", "4.7.1", std::move(reason)));
    } else if (sid->check.result == spf::Result::kTempError && config.pra_fail != Action::kAccept) {
      // Only when the PRA could have decided the verdict (PRAFail is not accept).
      Action action = config.temp_error == Action::kReject ? Action::kTempfail : config.temp_error;
      candidates.push_back(candidate(action, "temperror", "4.4.3", "4.4.3",
                                     "DNS lookup failed for " + domain + ", try again later"));
    }
  }
  if (const auto& dm = results.dmarc) {
    const std::string domain = !dm->policy_domain.empty() ? dm->policy_domain : dm->from_domain;
    const dkim::ArcSetSummary* undecided =
        dmarc_would_act(*dm) ? undecided_trusted_set(results, config) : nullptr;
    if (dmarc_would_act(*dm) && results.dmarc_override) {
      // A trusted sealer vouched for the From: domain (ARCTrustedSealers): no DMARC action.
    } else if (undecided != nullptr) {
      Action action = config.temp_error == Action::kReject ? Action::kTempfail : config.temp_error;
      candidates.push_back(candidate(
          action, "temperror", "4.4.3", "4.4.3",
          "DNS lookup failed for the ARC seal of " + undecided->sealer + ", try again later"));
    } else if (dm->result == dmarc::Result::kFail && dm->disposition == dmarc::Policy::kReject) {
      candidates.push_back(candidate(config.dmarc_reject, "dmarc-reject", "5.7.1", "4.7.1",
                                     "DMARC policy of " + domain + " is reject"));
    } else if (dm->result == dmarc::Result::kFail &&
               dm->disposition == dmarc::Policy::kQuarantine) {
      candidates.push_back(candidate(config.dmarc_quarantine, "dmarc-quarantine", "5.7.1", "4.7.1",
                                     "DMARC policy of " + domain + " is quarantine"));
    } else if (dm->result == dmarc::Result::kPermError &&
               (dm->from_problem == dmarc::FromProblem::kMultipleFields ||
                dm->from_problem == dmarc::FromProblem::kMultipleDomains)) {
      candidates.push_back(candidate(config.dmarc_multiple_from, "dmarc-multiple-from", "5.7.1",
                                     "4.7.1",
                                     "A message must have one From: address (RFC 7489 6.6.1)"));
    } else if (dm->result == dmarc::Result::kTempError &&
               (config.dmarc_reject != Action::kAccept ||
                config.dmarc_quarantine != Action::kAccept)) {
      Action action = config.temp_error == Action::kReject ? Action::kTempfail : config.temp_error;
      candidates.push_back(
          candidate(action, "temperror", "4.4.3", "4.4.3",
                    "DNS lookup failed for the DMARC policy of " + domain + ", try again later"));
    }
  }
  // iprev judges the client, not the From: domain: a DMARC pass does not cancel it.
  if (const auto& ip = results.iprev) {
    if (ip->result == iprev::Result::kFail || ip->result == iprev::Result::kPermError) {
      candidates.push_back(
          candidate(config.iprev_fail, "iprev-fail", "5.7.25", "4.7.25",
                    "Reverse DNS of " + ip->ip + " does not name a host that resolves back to it"));
    } else if (ip->result == iprev::Result::kTempError && config.iprev_fail != Action::kAccept) {
      // Only when iprev could have decided the verdict (IPRevFail is not accept).
      Action action = config.temp_error == Action::kReject ? Action::kTempfail : config.temp_error;
      candidates.push_back(
          candidate(action, "temperror", "4.4.3", "4.4.3",
                    "DNS lookup failed for the reverse DNS of " + ip->ip + ", try again later"));
    }
  }
  if (const auto& own = results.own_domain; own && own->spoof) {
    candidates.push_back(candidate(config.own_domain_spoof, "own-domain-spoof", "5.7.1", "4.7.1",
                                   "Message claims to be from " + own->domain +
                                       " but does not come from its approved senders"));
  }
  // A bad bounce recipient whose BATVFail is mark or quarantine acts on the whole message.
  if (const auto& batv = results.batv; batv && batv->deferred) {
    candidates.push_back(batv_verdict(config, batv->deferred_recipient, batv->deferred_status));
  }
  Verdict verdict;  // accept
  for (auto& c : candidates) {
    if (severity(c.action) > severity(verdict.action)) verdict = std::move(c);
  }
  return verdict;
}

}  // namespace authmilter::policy

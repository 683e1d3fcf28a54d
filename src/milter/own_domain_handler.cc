#include "authmilter/milter/own_domain_handler.h"

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/mail/pra.h"
#include "authmilter/milter/spf_handler.h"

namespace authmilter::milter {

bool is_own_domain(std::string_view domain, const std::vector<std::string>& own_domains) {
  for (const std::string& own : own_domains) {
    if (domain == own) return true;
    if (domain.size() > own.size() && domain.ends_with(own) &&
        domain[domain.size() - own.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

HandlerSpec OwnDomainHandler::spec() {
  return {"own-domain",
          {"dkim", "trusted-results"},
          [](const Services&, const Session&, Trust trust) { return trust == Trust::kUntrusted; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<OwnDomainHandler>(); }};
}

void OwnDomainHandler::on_eoh(Transaction& txn) {
  const config::Config& cfg = txn.services().config;
  if (cfg.own_domains.empty()) return;

  policy::OwnDomainResult claim;
  if (const dmarc::FromDomain& from = txn.pending().from;
      from.ok && is_own_domain(from.domain, cfg.own_domains)) {
    claim.domain = from.domain;
    claim.field = "From";
  } else if (const mail::Pra& pra = txn.pending().pra;
             pra.ok && is_own_domain(pra.mailbox.domain, cfg.own_domains)) {
    claim.domain = pra.mailbox.domain;
    claim.field = std::string(mail::to_field_name(*pra.source));
  } else {
    return;  // does not claim to be us
  }
  if (cfg.own_domain_sender_networks.contains(txn.client_ip())) {
    claim.approved_by = "network " + txn.client_ip();
  } else {
    // As an SPF include: would: the service's record evaluated for the client.
    for (const std::string& service : cfg.own_domain_sender_includes) {
      include_requests_.push_back(
          {txn.client_ip(), txn.client_helo(), "postmaster@" + service, spf::Identity::kMailFrom});
    }
    include_checks_.reserve(include_requests_.size());
    for (const spf::Request& request : include_requests_) {
      include_checks_.push_back(start_spf_check(txn, request));
    }
  }
  claim_ = std::move(claim);
}

void OwnDomainHandler::on_eom(Transaction& txn) {
  if (!claim_) return;
  policy::OwnDomainResult& claim = *claim_;
  for (std::size_t i = 0; i < include_checks_.size() && claim.approved_by.empty(); ++i) {
    const spf::CheckResult r =
        collect_spf(include_checks_[i], include_requests_[i], txn.deadline(), txn.cancel_token());
    const std::string service = include_requests_[i].sender.substr(11);  // after "postmaster@"
    if (r.result == spf::Result::kPass) {
      claim.approved_by = "include:" + service;
    } else if (r.result == spf::Result::kTempError) {
      claim.temporary = true;  // could not tell: never a spoof verdict on DNS trouble
    }
  }
  if (claim.approved_by.empty()) {
    for (const dkim::SignatureResult& sig : txn.results().dkim) {
      if (sig.result != dkim::Result::kPass) continue;
      const std::vector<std::string> claimed{claim.domain};
      const std::vector<std::string> signer{sig.domain};
      if (is_own_domain(claim.domain, signer) || is_own_domain(sig.domain, claimed)) {
        claim.approved_by = "dkim d=" + sig.domain;
        break;
      }
    }
  }
  claim.spoof = claim.approved_by.empty() && !claim.temporary;
  txn.results().own_domain = claim;
}

}  // namespace authmilter::milter

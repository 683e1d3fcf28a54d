#include "authmilter/milter/dmarc_handler.h"

#include <algorithm>
#include <string>
#include <vector>

#include "authmilter/dkim/tag_list.h"
#include "authmilter/mail/address.h"
#include "authmilter/util/ascii.h"

namespace authmilter::milter {
namespace {

// The domains relaxed alignment may need Organizational Domains for, known at end of headers:
// the envelope's SPF identity (MAIL FROM, or HELO for the null sender) and each
// DKIM-Signature's d= (bounded by MaxSignatures, as the DKIM check is).
std::vector<std::string> alignment_identifiers(const Transaction& txn) {
  std::vector<std::string> out;
  std::string spf_domain =
      txn.mail_from().empty() ? txn.client_helo() : mail::domain_of(txn.mail_from());
  if (!spf_domain.empty()) out.push_back(std::move(spf_domain));
  std::size_t signatures = 0;
  for (const mail::HeaderField& field : txn.headers()) {
    if (!util::iequals_ascii(field.name, "DKIM-Signature")) continue;
    if (++signatures > txn.services().config.max_signatures) break;
    const dkim::TagList tags = dkim::parse_tag_list(field.value());
    if (const std::string* d = tags.find("d"); d != nullptr && !d->empty()) out.push_back(*d);
  }
  return out;
}

}  // namespace

HandlerSpec DmarcHandler::spec() {
  return {"dmarc",
          {"spf", "dkim", "trusted-results"},
          [](const Services& services, const Session&, Trust trust) {
            return trust == Trust::kUntrusted && services.dmarc != nullptr;
          },
          []() -> std::unique_ptr<Handler> { return std::make_unique<DmarcHandler>(); }};
}

void DmarcHandler::on_eoh(Transaction& txn) {
  const dmarc::FromDomain& from = txn.pending().from;
  const auto& ignored = txn.services().config.ignore_dmarc_for;
  if (from.ok && std::find(ignored.begin(), ignored.end(), from.domain) != ignored.end()) {
    return;  // the admin exempted this From: domain: no lookups, no dmarc= entry
  }
  const dmarc::Evaluator& evaluator = *txn.services().dmarc;
  if (!from.ok || evaluator.discovery() != dmarc::Discovery::kTreeWalk) {
    pending_ = evaluator.start(from);
    return;
  }
  const std::vector<std::string> identifiers = alignment_identifiers(txn);
  pending_ = evaluator.start(from, identifiers);
}

void DmarcHandler::on_eom(Transaction& txn) {
  if (!pending_) return;
  policy::Results& results = txn.results();
  dmarc::Inputs inputs;
  inputs.spf = results.spf_envelope();
  inputs.dkim = results.dkim;
  results.dmarc =
      txn.services().dmarc->evaluate(*pending_, inputs, txn.deadline(), txn.cancel_token());
}

}  // namespace authmilter::milter

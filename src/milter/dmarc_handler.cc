#include "authmilter/milter/dmarc_handler.h"

#include <algorithm>
#include <vector>

namespace authmilter::milter {

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
  pending_ = txn.services().dmarc->start(from);
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

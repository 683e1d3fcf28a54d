#include "authmilter/milter/dmarc_handler.h"

#include <algorithm>
#include <vector>

namespace authmilter::milter {

void DmarcHandler::on_eoh(Transaction& txn) {
  std::vector<std::string_view> from_values;
  for (const Header& header : txn.headers()) {
    if (dmarc::is_from_field(header.name)) from_values.push_back(header.value);
  }
  const dmarc::FromDomain from = dmarc::from_domain(from_values);
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
      txn.services().dmarc->evaluate(*pending_, inputs, txn.deadline(), txn.cancel_flag());
}

}  // namespace authmilter::milter

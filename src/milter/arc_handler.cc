#include "authmilter/milter/arc_handler.h"

#include <ctime>

namespace authmilter::milter {

HandlerSpec ArcHandler::spec() {
  return {"arc",
          {"dmarc"},
          [](const Services&, const Session&, Trust trust) { return trust == Trust::kUntrusted; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<ArcHandler>(); }};
}

void ArcHandler::on_envfrom(Transaction& txn) {
  const dkim::ArcOptions options{txn.services().config.dkim_min_key_bits,
                                 txn.services().arc_key != nullptr};
  verifier_ = std::make_unique<dkim::ArcVerifier>(txn.services().resolver, options, txn.deadline(),
                                                  txn.cancel_token());
}

void ArcHandler::on_eoh(Transaction& txn) { verifier_->end_of_headers(txn.headers()); }

void ArcHandler::on_body(Transaction& txn, std::string_view chunk) { verifier_->body(chunk); }

void ArcHandler::on_eom(Transaction& txn) {
  policy::Results& results = txn.results();
  results.arc = verifier_->finish();
  results.dmarc_override = policy::arc_override(results, txn.services().config);
}

void ArcHandler::on_outcome(Transaction& txn, Outcome& outcome) {
  const dkim::ArcSigningKey* key = txn.services().arc_key;
  if (key == nullptr || !txn.services().config.arc_sign || outcome.auth_results.empty()) return;
  const config::Action action = outcome.verdict.action;
  if (action == config::Action::kReject || action == config::Action::kTempfail) return;
  const dkim::ArcChainResult& chain = verifier_->finish();
  if (chain.result == dkim::ArcResult::kTempError) return;
  if (chain.instances > 0 && chain.newest_cv == dkim::ArcCv::kFail) return;
  outcome.arc_set = verifier_->seal(*key, outcome.auth_results, std::time(nullptr));
}

}  // namespace authmilter::milter

#include "authmilter/milter/dkim_handler.h"

namespace authmilter::milter {

HandlerSpec DkimHandler::spec() {
  return {"dkim",
          {},
          [](const Services& services, const Session&, Trust trust) {
            return trust == Trust::kUntrusted && services.dkim != nullptr;
          },
          []() -> std::unique_ptr<Handler> { return std::make_unique<DkimHandler>(); }};
}

void DkimHandler::on_envfrom(Transaction& txn) {
  txn.results().dkim_checked = true;
  verifier_ =
      txn.services().dkim->start_message(txn.queue_id(), txn.deadline(), txn.cancel_token());
}

void DkimHandler::on_header(Transaction& txn, const mail::HeaderField& field) {
  verifier_->header(field);
}

void DkimHandler::on_eoh(Transaction& txn) { verifier_->end_of_headers(); }

void DkimHandler::on_body(Transaction& txn, std::string_view chunk) { verifier_->body(chunk); }

// b= needs the headers and the key only: verified while the body's last chunks may still be
// hashed on another core (a 2 MB body at c=1: the RSA verification off the critical path).
void DkimHandler::on_eom_start(Transaction& txn) { verifier_->verify_header_signatures(); }

void DkimHandler::on_eom(Transaction& txn) {
  txn.results().dkim = verifier_->finish();
  txn.results().dkim_skipped = verifier_->skipped_signatures();
}

}  // namespace authmilter::milter

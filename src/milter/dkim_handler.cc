#include "authmilter/milter/dkim_handler.h"

namespace authmilter::milter {

void DkimHandler::on_envfrom(Transaction& txn) {
  verifier_ = txn.services().dkim->start_message(txn.queue_id(), txn.deadline(), txn.cancel_flag());
}

void DkimHandler::on_header(Transaction& txn, std::string_view name, std::string_view value,
                            std::string_view raw_value) {
  std::string field;
  field.reserve(name.size() + 1 + raw_value.size());
  field.append(name).append(":").append(raw_value);
  verifier_->header_field(field);
}

void DkimHandler::on_eoh(Transaction& txn) { verifier_->end_of_headers(); }

void DkimHandler::on_body(Transaction& txn, std::string_view chunk) { verifier_->body(chunk); }

void DkimHandler::on_eom(Transaction& txn) {
  txn.results().dkim = verifier_->finish();
  txn.results().dkim_skipped = verifier_->skipped_signatures();
}

}  // namespace authmilter::milter

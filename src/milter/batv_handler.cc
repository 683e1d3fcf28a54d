#include "authmilter/milter/batv_handler.h"

#include <ctime>

#include "authmilter/log/log.h"
#include "authmilter/mail/address.h"
#include "authmilter/milter/own_domain_handler.h"

namespace authmilter::milter {

HandlerSpec BatvHandler::spec() {
  return {"batv",
          {},
          [](const Services& services, const Session&, Trust) { return services.batv != nullptr; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<BatvHandler>(); }};
}

std::optional<policy::Verdict> BatvHandler::on_rcpt(Transaction& txn, std::string_view argument,
                                                    std::string& recipient) {
  const config::Config& cfg = txn.services().config;
  if (txn.trust() != Trust::kUntrusted || !txn.mail_from().empty() ||
      !is_own_domain(mail::domain_of(recipient), cfg.own_domains)) {
    return std::nullopt;
  }
  const mail::BatvCheck check =
      mail::batv_verify(recipient, *txn.services().batv, std::time(nullptr));
  if (check.status == mail::BatvStatus::kValid) {
    result_.untagged_recipients.emplace_back(std::string(argument), "<" + check.original + ">");
    recipient = check.original;
    return std::nullopt;
  }
  ++result_.refused;
  policy::Verdict verdict = policy::batv_verdict(cfg, recipient, check.status);
  std::string line;
  log::append_field(line, "queue", txn.queue_id().empty() ? "NOQUEUE" : txn.queue_id());
  log::append_field(line, "client", txn.session().client_ip);
  log::append_field(line, "rcpt", recipient);
  log::append_field(line, "batv", mail::to_string(check.status));
  log::append_field(line, "verdict", config::to_string(verdict.action));
  txn.log_recipient(std::move(line));
  if (verdict.action == config::Action::kReject || verdict.action == config::Action::kTempfail) {
    return verdict;
  }
  // Mark or quarantine: applies to the message at its end (the policy merges it).
  result_.deferred = true;
  result_.deferred_recipient = recipient;
  result_.deferred_status = check.status;
  return std::nullopt;
}

void BatvHandler::on_eom(Transaction& txn) {
  const std::string& mail_from = txn.mail_from();
  if (txn.trust() != Trust::kUntrusted && !mail_from.empty() &&
      is_own_domain(mail::domain_of(mail_from), txn.services().config.own_domains)) {
    result_.tagged_mail_from =
        "<" + mail::batv_sign(mail_from, *txn.services().batv, std::time(nullptr)) + ">";
  }
  txn.results().batv = result_;
}

}  // namespace authmilter::milter

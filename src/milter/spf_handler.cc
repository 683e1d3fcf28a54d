#include "authmilter/milter/spf_handler.h"

#include <memory>
#include <utility>

namespace authmilter::milter {

work::Future<spf::CheckResult> start_spf_check(Transaction& txn, const spf::Request& request) {
  const spf::Checker& checker = txn.services().spf;  // daemon-wide: outlives the pool's tasks
  const dns::Deadline deadline = txn.deadline();
  std::shared_ptr<const work::CancelToken> cancel = txn.shared_cancel_token();
  // The check owns a copy of the request and a share of the cancel token: on the pool it may
  // run after this Transaction is gone (then cancelled, it is dropped or stops at its next
  // lookup).
  return start_ready_first(txn, checker.resolver(),
                           [&checker, request, deadline, cancel](dns::Resolver& resolver) {
                             return checker.check_via(resolver, request, deadline, cancel.get());
                           });
}

spf::CheckResult collect_spf(const work::Future<spf::CheckResult>& pending,
                             const spf::Request& request, dns::Deadline deadline,
                             const work::CancelToken* cancel) {
  std::string why;
  if (const spf::CheckResult* done = await_check(pending, deadline, cancel, why)) return *done;
  spf::CheckResult timed_out;
  timed_out.result = spf::Result::kTempError;
  timed_out.identity = request.identity;
  timed_out.checked = request.identity == spf::Identity::kHelo ? request.helo : request.sender;
  timed_out.comment = std::move(why);
  return timed_out;
}

HandlerSpec SpfHandler::spec() {
  return {"spf",
          {},
          [](const Services&, const Session&, Trust trust) { return trust == Trust::kUntrusted; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<SpfHandler>(); }};
}

void SpfHandler::on_envfrom(Transaction& txn) {
  if (!txn.session().trusted_relay) start(txn);
}

void SpfHandler::on_eoh(Transaction& txn) {
  if (txn.session().trusted_relay) start(txn);
}

void SpfHandler::start(Transaction& txn) {
  const bool null_sender = txn.mail_from().empty();
  if (!null_sender) {
    mail_from_request_ = {txn.client_ip(), txn.client_helo(), txn.mail_from(),
                          spf::Identity::kMailFrom};
    mail_from_ = start_spf_check(txn, mail_from_request_);
    txn.pending().spf_envelope = mail_from_;
  }
  if (null_sender || txn.services().config.spf_helo == config::HeloCheck::kAlways) {
    helo_request_ = {txn.client_ip(), txn.client_helo(), "", spf::Identity::kHelo};
    helo_ = start_spf_check(txn, helo_request_);
    if (null_sender) txn.pending().spf_envelope = helo_;
  }
}

void SpfHandler::on_eom(Transaction& txn) {
  if (mail_from_.valid()) {
    txn.results().spf_mail_from =
        collect_spf(mail_from_, mail_from_request_, txn.deadline(), txn.cancel_token());
  }
  if (helo_.valid()) {
    txn.results().spf_helo = collect_spf(helo_, helo_request_, txn.deadline(), txn.cancel_token());
  }
}

}  // namespace authmilter::milter

#include "authmilter/milter/spf_handler.h"

#include <chrono>

namespace authmilter::milter {
namespace {

// The background check finishes its own lookups at the deadline; this grace lets its
// temperror (with the lookup that timed out) arrive instead of a bare "deadline" one.
constexpr auto kJoinGrace = std::chrono::milliseconds(200);

std::shared_future<spf::CheckResult> start_check(Transaction& txn, const spf::Request& request) {
  const spf::Checker& checker = txn.services().spf;
  const dns::Deadline deadline = txn.deadline();
  const std::atomic<bool>* cancel = txn.cancel_flag();
  // The task owns a copy of the request: Pending::spf_envelope shares the result, so the
  // task may outlive this handler (the Transaction joins it when it lets go of Pending).
  return std::async(std::launch::async,
                    [&checker, request, deadline, cancel] {
                      return checker.check(request, deadline, cancel);
                    })
      .share();
}

}  // namespace

spf::CheckResult collect_spf(const std::shared_future<spf::CheckResult>& pending,
                             const spf::Request& request, dns::Deadline deadline) {
  if (pending.wait_until(deadline + kJoinGrace) == std::future_status::ready) {
    return pending.get();
  }
  spf::CheckResult timed_out;
  timed_out.result = spf::Result::kTempError;
  timed_out.identity = request.identity;
  timed_out.checked = request.identity == spf::Identity::kHelo ? request.helo : request.sender;
  timed_out.comment = "check did not finish before MessageTimeout";
  return timed_out;
}

HandlerSpec SpfHandler::spec() {
  return {"spf",
          {},
          [](const Services&, const Session&, Trust trust) { return trust == Trust::kUntrusted; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<SpfHandler>(); }};
}

SpfHandler::~SpfHandler() {
  // std::async futures join in their destructors; the Transaction has set the cancel flag,
  // so the tasks return within one wait slice.
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
    mail_from_ = start_check(txn, mail_from_request_);
    txn.pending().spf_envelope = mail_from_;
  }
  if (null_sender || txn.services().config.spf_helo == config::HeloCheck::kAlways) {
    helo_request_ = {txn.client_ip(), txn.client_helo(), "", spf::Identity::kHelo};
    helo_ = start_check(txn, helo_request_);
    if (null_sender) txn.pending().spf_envelope = helo_;
  }
}

void SpfHandler::on_eom(Transaction& txn) {
  if (mail_from_.valid()) {
    txn.results().spf_mail_from = collect_spf(mail_from_, mail_from_request_, txn.deadline());
  }
  if (helo_.valid()) {
    txn.results().spf_helo = collect_spf(helo_, helo_request_, txn.deadline());
  }
}

}  // namespace authmilter::milter

#include "authmilter/milter/sender_id_handler.h"

#include "authmilter/milter/spf_handler.h"

namespace authmilter::milter {
namespace {

// Runs on a background task: waits for SPF, then decides whether the PRA check runs.
std::optional<policy::SenderIdResult> run_check(const spf::Checker& checker,
                                                config::SenderIdMode mode,
                                                std::shared_future<spf::CheckResult> spf,
                                                const spf::Request& request,
                                                policy::SenderIdResult base, dns::Deadline deadline,
                                                const std::atomic<bool>* cancel) {
  if (mode == config::SenderIdMode::kFallback) {
    if (!spf.valid()) return std::nullopt;
    spf::Request spf_request;  // only for the timeout result's identity
    const spf::CheckResult envelope = collect_spf(spf, spf_request, deadline);
    if (spf::is_authoritative(envelope.result)) return std::nullopt;  // SPF's word is final
    base.why = "spf=" + std::string(spf::to_token(envelope.result));
  } else {
    base.why = "always";
  }
  if (base.source) {
    base.check = checker.check(request, deadline, cancel);
  }
  return base;
}

}  // namespace

HandlerSpec SenderIdHandler::spec() {
  return {"sender-id",
          {"spf"},
          [](const Services&, const Session&, Trust trust) { return trust == Trust::kUntrusted; },
          []() -> std::unique_ptr<Handler> { return std::make_unique<SenderIdHandler>(); }};
}

void SenderIdHandler::on_eoh(Transaction& txn) {
  const config::SenderIdMode mode = txn.services().config.sender_id;
  if (mode == config::SenderIdMode::kOff) return;

  policy::SenderIdResult base;
  base.check.identity = spf::Identity::kPra;
  const mail::Pra& pra = txn.pending().pra;
  base.source = pra.source;
  if (pra.ok) {
    base.pra = pra.mailbox.address();
    base.check.checked = base.pra;
    base.check.domain = pra.mailbox.domain;
  } else {
    base.source.reset();  // no PRA: nothing to check, the result is the RFC's permerror
    base.check.result = spf::Result::kPermError;
    base.check.comment = "no PRA: " + pra.error;
    if (pra.source) base.pra = std::string(mail::to_field_name(*pra.source)) + " field";
  }
  if (txn.headers_truncated()) {
    base.source.reset();
    base.check.result = spf::Result::kPermError;
    base.check.comment = "no PRA: headers exceed MaxHeaderBytes";
  }
  request_ = {txn.client_ip(), txn.client_helo(), base.pra, spf::Identity::kPra};
  const spf::Checker& checker = txn.services().spf;
  const dns::Deadline deadline = txn.deadline();
  const std::atomic<bool>* cancel = txn.cancel_flag();
  // The task owns copies of its inputs; it borrows only the checker (daemon-wide) and the
  // cancel flag (the Transaction joins the task before that goes).
  check_ =
      std::async(std::launch::async, [&checker, mode, spf = txn.pending().spf_envelope,
                                      request = request_, base = std::move(base), deadline,
                                      cancel]() mutable {
        return run_check(checker, mode, std::move(spf), request, std::move(base), deadline, cancel);
      }).share();
}

void SenderIdHandler::on_eom(Transaction& txn) {
  if (!check_.valid()) return;
  // The task's own waits end at the deadline; the grace covers its last step.
  if (check_.wait_until(txn.deadline() + std::chrono::milliseconds(300)) ==
      std::future_status::ready) {
    txn.results().sender_id = check_.get();
    return;
  }
  policy::SenderIdResult timed_out;
  timed_out.check.result = spf::Result::kTempError;
  timed_out.check.identity = spf::Identity::kPra;
  timed_out.check.comment = "check did not finish before MessageTimeout";
  timed_out.pra = request_.sender;
  timed_out.why = "timeout";
  txn.results().sender_id = timed_out;
}

}  // namespace authmilter::milter

#include "authmilter/milter/sender_id_handler.h"

#include "authmilter/milter/spf_handler.h"

#include <memory>
#include <string>
#include <utility>

namespace authmilter::milter {
namespace {

// Runs once SPF's result is there (it never waits for it), here or on the Pool: decides
// whether the PRA check runs, and runs it, its DNS through `resolver`.
std::optional<policy::SenderIdResult> run_check(const spf::Checker& checker,
                                                dns::Resolver& resolver, config::SenderIdMode mode,
                                                const work::Future<spf::CheckResult>& spf,
                                                const spf::Request& request,
                                                policy::SenderIdResult base, dns::Deadline deadline,
                                                const work::CancelToken* cancel) {
  if (mode == config::SenderIdMode::kFallback) {
    if (!spf.valid()) return std::nullopt;
    spf::Request spf_request;  // only for the not-run result's identity
    // Ready by now: the temperror it may give is for an SPF check that never ran.
    const spf::CheckResult envelope = collect_spf(spf, spf_request, deadline, cancel);
    if (spf::is_authoritative(envelope.result)) return std::nullopt;  // SPF's word is final
    base.why = "spf=" + std::string(spf::to_token(envelope.result));
  } else {
    base.why = "always";
  }
  if (base.source) {
    base.check = checker.check_via(resolver, request, deadline, cancel);
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
  std::shared_ptr<const work::CancelToken> cancel = txn.shared_cancel_token();
  const work::Future<spf::CheckResult> spf = txn.pending().spf_envelope;
  // The check owns copies of its inputs and a share of the cancel token; it borrows only the
  // checker (daemon-wide). SPF done (it usually is: from cached answers it completes at MAIL
  // FROM): tried here first (start_ready_first). Otherwise queued once SPF is done, so no
  // worker waits for SPF.
  auto check = [&checker, mode, spf, request = request_, base = std::move(base), deadline,
                cancel](dns::Resolver& resolver) {
    return run_check(checker, resolver, mode, spf, request, base, deadline, cancel.get());
  };
  if (!spf.valid() || spf.ready()) {
    check_ = start_ready_first(txn, checker.resolver(), std::move(check));
    return;
  }
  check_ = txn.services().pool.submit_after(
      spf, deadline, std::move(cancel),
      [check = std::move(check), &resolver = checker.resolver()] { return check(resolver); });
}

void SenderIdHandler::on_eom(Transaction& txn) {
  if (!check_.valid()) return;
  std::string why;
  if (const auto* done = await_check(check_, txn.deadline(), txn.cancel_token(), why)) {
    txn.results().sender_id = *done;
    return;
  }
  policy::SenderIdResult timed_out;
  timed_out.check.result = spf::Result::kTempError;
  timed_out.check.identity = spf::Identity::kPra;
  timed_out.check.comment = std::move(why);
  timed_out.pra = request_.sender;
  timed_out.why = "timeout";
  txn.results().sender_id = timed_out;
}

}  // namespace authmilter::milter

#include "authmilter/milter/iprev_handler.h"

#include <memory>

#include "authmilter/milter/spf_handler.h"

namespace authmilter::milter {

HandlerSpec IprevHandler::spec() {
  return {"iprev",
          {},
          [](const Services& services, const Session&, Trust trust) {
            return trust == Trust::kUntrusted && services.config.iprev;
          },
          []() -> std::unique_ptr<Handler> { return std::make_unique<IprevHandler>(); }};
}

void IprevHandler::on_envfrom(Transaction& txn) {
  if (!txn.session().trusted_relay) start(txn);
}

void IprevHandler::on_eoh(Transaction& txn) {
  if (txn.session().trusted_relay) start(txn);
}

void IprevHandler::start(Transaction& txn) {
  ip_ = txn.client_ip();
  dns::Resolver& resolver = txn.services().resolver;  // daemon-wide: outlives the pool's tasks
  const dns::Deadline deadline = txn.deadline();
  std::shared_ptr<const work::CancelToken> cancel = txn.shared_cancel_token();
  // The check owns a copy of the address and a share of the cancel token: on the pool it may
  // run after this Transaction is gone (then cancelled, it is dropped or stops at its next
  // lookup). From ready answers it completes here (start_ready_first).
  check_ = start_ready_first(txn, resolver, [ip = ip_, deadline, cancel](dns::Resolver& via) {
    return iprev::evaluate(ip, via, deadline, cancel.get());
  });
}

void IprevHandler::on_eom(Transaction& txn) {
  if (!check_.valid()) return;
  std::string why;
  if (const iprev::IprevResult* done =
          await_check(check_, txn.deadline(), txn.cancel_token(), why)) {
    txn.results().iprev = *done;
    return;
  }
  iprev::IprevResult timed_out;
  timed_out.result = iprev::Result::kTempError;
  timed_out.ip = ip_;
  timed_out.comment = std::move(why);
  txn.results().iprev = std::move(timed_out);
}

}  // namespace authmilter::milter

// authmilter::milter::IprevHandler — the iprev check (RFC 8601 §3) for one message.
//
// What: queues iprev::evaluate() for the judged client on the worker Pool as soon as that
//   client is known: at MAIL FROM for a direct client, at end of headers behind one of
//   TrustedRelays (the first untrusted Received: hop); at end of message it waits for it
//   (bounded by MessageTimeout: then temperror) and stores Results::iprev.
// Config keys: IPRev (off: no handler, no iprev= entry), IPRevFail through the policy.
// Limits: those of iprev::evaluate() (at most 10 PTR names, 11 queries).
#pragma once

#include "authmilter/iprev/iprev.h"
#include "authmilter/milter/transaction.h"
#include "authmilter/work/future.h"

namespace authmilter::milter {

class IprevHandler final : public Handler {
 public:
  // Requires nothing; untrusted clients only, when IPRev is on.
  static HandlerSpec spec();
  void on_envfrom(Transaction& txn) override;
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  void start(Transaction& txn);
  std::string ip_;
  work::Future<iprev::IprevResult> check_;
};

}  // namespace authmilter::milter

// authmilter::milter::OwnDomainHandler — outsiders forging our own domains (issue #6).
//
// Why: users get mail "from themselves": outsiders put the organisation's domain in From:.
//   Blocking that outright also blocks staff who send as the organisation through approved
//   third-party services, hence the allowlist.
// What: a message from outside (neither internal nor authenticated: those are not judged at
//   all) whose From: domain (or, failing that, the PRA's) is one of OwnDomains or below one is
//   a spoof unless (a) the judged client is in OwnDomainSenders' networks, (b) an
//   `include:domain` of OwnDomainSenders authorizes the client (that domain's SPF record
//   evaluated for the client, as an SPF include: would: pass means approved), or (c) a DKIM
//   signature of one of OwnDomains passes for that domain (aligned, relaxed). The include
//   checks are queued on the worker Pool at end of headers and run while the body streams.
// Config keys: OwnDomains, OwnDomainSenders, and through the policy OwnDomainSpoof.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

// True when `domain` is `own` or a subdomain of it.
bool is_own_domain(std::string_view domain, const std::vector<std::string>& own_domains);

class OwnDomainHandler final : public Handler {
 public:
  // Declared order (handler.h): after dkim and trusted-results (an aligned DKIM pass approves).
  static HandlerSpec spec();
  void on_eoh(Transaction& txn) override;
  void on_eom(Transaction& txn) override;

 private:
  std::optional<policy::OwnDomainResult> claim_;
  std::vector<spf::Request> include_requests_;
  std::vector<work::Future<spf::CheckResult>> include_checks_;
};

}  // namespace authmilter::milter

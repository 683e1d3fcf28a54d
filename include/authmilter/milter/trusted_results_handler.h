// authmilter::milter::TrustedResultsHandler — reusing a trusted upstream's results (issue #6).
//
// Why: behind our own relays SPF is re-checked against a relay's address and DKIM may break
//   on rewritten headers, though the edge host already judged the message correctly. When the
//   client is a trusted relay, the topmost Authentication-Results header of an authserv-id in
//   TrustedAuthservIDs is believed: its spf and dkim results replace ours, each with a comment
//   naming that authserv-id, and DMARC is evaluated again from them (alignment needs only the
//   domains they carry). A-R headers of any other authserv-id are never trusted, and none at
//   all from a client that is not a trusted relay: anyone can write such a header.
// Config keys: TrustedAuthservIDs (with TrustedRelays).
#pragma once

#include <optional>

#include "authmilter/mail/auth_results_parse.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

class TrustedResultsHandler final : public Handler {
 public:
  // Declared order (handler.h): after spf and dkim, whose results it replaces.
  static HandlerSpec spec();
  void on_header(Transaction& txn, const mail::HeaderField& field) override;
  void on_eom(Transaction& txn) override;

 private:
  std::optional<mail::ParsedAuthResults> trusted_;
};

}  // namespace authmilter::milter

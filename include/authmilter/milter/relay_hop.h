// authmilter::milter — the client to judge behind a trusted relay (issue #6, TrustedRelays).
//
// What: when the connecting client is one of TrustedRelays, SPF, SenderID and DMARC must judge
//   the host that handed the message to the organisation, not our relay: the first untrusted
//   hop of the Received: chain (mail::select_first_untrusted_hop(), mail/received.h).
//   Postfix and Sendmail hide their own Received: from milters; an MTA that shows it names
//   the connecting relay there, which the walk treats as trusted and steps over.
// Result: that hop's IP and HELO with a note for the A-R comment and the log, or, when the
//   chain is not usable, the relay itself with a note saying why.
// Config keys: TrustedRelays.
// Security: Received: fields below the first untrusted hop are written by whoever sent the
//   message; the walk stops at that hop and never believes anything further down.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "authmilter/config/cidr.h"
#include "authmilter/mail/header.h"

namespace authmilter::milter {

struct JudgedClient {
  std::string ip;
  std::string helo;
  std::string note;  // "via trusted relay 10.0.0.2, judged 192.0.2.10", or why not
};

JudgedClient judged_client_behind_relay(std::span<const mail::HeaderField> headers,
                                        std::string_view relay_ip, std::string_view relay_helo,
                                        const config::CidrList& trusted_relays);

}  // namespace authmilter::milter

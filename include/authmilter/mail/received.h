// authmilter::mail — the Received: chain behind a trusted relay (TrustedRelays, issue 6).
//
// What: parse_received() reads what one Received: field (RFC 5321 §4.4, RFC 5322 §3.6.7)
//   says about the hop that delivered the message to its "by" host: the sender's IP address,
//   the HELO/EHLO name it gave and the PTR name the receiver saw. select_first_untrusted_hop()
//   walks the chain from the top and returns the first sender that is not a trusted relay,
//   so SPF/SenderID/DMARC can judge the message on the host that really handed it to the
//   organisation instead of on an internal relay.
// Formats (the from-part only; everything after the "by" host is ignored):
//   Postfix   from HELO (rdns [192.0.2.1]) / (unknown [IPv6:2001:db8::1]), followed by
//             optional (using TLS...), (Client CN ...), (Authenticated sender: ...) comments
//   Sendmail  from HELO (rdns [192.0.2.1]) [(may be forged)], the "(may be forged)" nested
//             or not; from HELO (user@rdns [ip]) with ident; from HELO ([192.0.2.1])
//   Exim      from rdns ([192.0.2.1]:port helo=HELO ident=u); from [192.0.2.1] (port=N
//             helo=HELO); from rdns ([192.0.2.1]) and from [192.0.2.1] (no helo= item:
//             the HELO was the name itself)
//   Exchange / Office 365  from HELO (192.0.2.1) / (2a01:111:f400:7e1b::200), no brackets
//   Gmail     from HELO (rdns. [209.85.220.41]) (trailing dot of the PTR name dropped)
//   qmail     from rdns (HELO name) (192.0.2.1) / (ident@192.0.2.1)
//   The first comment after the from-name (after qmail's "(HELO x)") must be the TCP-info
//   comment, and no other top-level comment of the from-part may look like one: a field
//   with two candidate addresses is refused rather than guessed at. Address literals in
//   later comments (a TLS client CN, a SASL user name) are never read.
// Which field is the first: the milter sees the Received: fields "as received", without the
//   one our own MTA adds. Postfix hides its own first (Received:) header from Milters for
//   Sendmail compatibility (src/milter/milter8.c; HISTORY 20141018 calls exposing it a
//   protocol violation; MILTER_README asks not to remove it with header_checks), and
//   libmilter's smfi_insheader(3) documents that a filter "will not receive the headers
//   that are inserted by sendmail itself". So received[0] is the field the connecting
//   trusted relay wrote. Should an MTA show its own field anyway, that field names the
//   connecting client, which counts as trusted, so the walk steps over it unchanged: pass
//   the Received: values exactly as the MTA presents them, top first.
// Walk: received[i] was written by a trusted host (i = 0: the connecting relay; below: the
//   sender named one field up, checked trusted). Its sender is trusted when is_trusted(ip),
//   when it is the connecting client itself, or when it is a loopback address (127.0.0.0/8,
//   ::1: a trusted host naming itself, e.g. a content filter re-injecting on localhost);
//   then go one field down. The first untrusted sender is the answer, and nothing below
//   that field is ever parsed: it was written by, or under the control of, the untrusted
//   party. Every trusted relay must add a Received: field (all common MTAs do); one that
//   does not would make the walk read a field the next host down wrote.
// Results: ok with the hop; or !ok with `error` ("Received: #2 unparsable (...)", "no
//   Received: header from a trusted relay", ...), where #N is the field's index, top = 0.
//   all_trusted marks the one benign failure: every sender named was trusted and the chain
//   ended, i.e. the message originated inside the trusted network. A field without a
//   from-part ("by host (Postfix, from userid 0)", smtpd_hide_client_session) is an error,
//   not an origin: a relay that hides its client says nothing about it. Error texts never
//   quote the header (they go into A-R comments and logs).
// IP addresses: "IPv6:" tags and brackets are removed, the text is validated by inet_pton
//   and rewritten by inet_ntop (canonical, lower case); an IPv4-mapped IPv6 address
//   (::ffff:192.0.2.1, RFC 4291 §2.5.5.2) becomes the IPv4 address, as RFC 7208 §5 treats
//   it. Zone ids and ports inside the literal are refused.
// Limits: kMaxReceivedLength bytes per field (checked before anything else),
//   kMaxIpLiteralLength characters of address text, kMaxCommentDepth (header.h) comment
//   nesting, kMaxReceivedHops fields walked. Parsing is one linear pass, never recursive.
// Security: Received: fields are hostile text. NUL and control characters (other than
//   HTAB; folding CR/LF is unfolded) make a field unparsable; 8-bit text is kept as written
//   in helo/reverse_name/by (callers sanitize before writing it anywhere, see
//   sanitize_for_header()). Config keys: TrustedRelays (the caller's is_trusted predicate;
//   mail does not depend on config).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/header.h"

namespace authmilter::mail {

// Longest Received: value read. A Postfix field with a 2048-byte HELO (line_length_limit),
// TLS, client CN and SASL comments stays under 4 KB; four times that is ample.
inline constexpr std::size_t kMaxReceivedLength = 16384;
// "IPv6:" + the longest IPv6 text (INET6_ADDRSTRLEN - 1 = 45).
inline constexpr std::size_t kMaxIpLiteralLength = 50;
// Fields walked at most: Postfix's hopcount_limit default (mail with more Received: fields
// is bounced by Postfix anyway).
inline constexpr std::size_t kMaxReceivedHops = 50;

struct ReceivedHop {         // what one Received: field says about the hop to its "by" host
  bool ok = false;           // the from-part and an IP address were found
  std::string helo;          // the name the sender gave in HELO/EHLO, as written
  std::string reverse_name;  // PTR name the receiver wrote; empty if none, or "unknown"
  std::string ip;            // normalized (see above)
  std::string by;            // the "by" host as written; empty when the field has none
  std::string error;         // why not ok
};

// `value` as the milter passes it (folding CRLF+WSP or LF+WSP kept, no leading space).
ReceivedHop parse_received(std::string_view value);

struct HopSelection {
  bool ok = false;
  std::string ip, helo;            // the first untrusted hop
  std::size_t received_index = 0;  // index (top = 0) of the Received: field that named it
  bool all_trusted = false;        // !ok: the chain ended at trusted hosts only (internal)
  std::string error;               // !ok: why, e.g. "Received: #2 unparsable (...)"
};

// `received`: the message's Received: values, top (newest) first. `connecting_ip`: the
// client that connected to us; it must be trusted (is_trusted(connecting_ip)), otherwise
// the headers are not ours to believe and the result is an error.
HopSelection select_first_untrusted_hop(const std::vector<std::string_view>& received,
                                        std::string_view connecting_ip,
                                        const std::function<bool(std::string_view ip)>& is_trusted);

// The normalization above for one address: "192.0.2.1", "[192.0.2.1]", "IPv6:2001:db8::1",
// "[IPv6:2001:DB8::1]", "::ffff:192.0.2.1" (-> "192.0.2.1"); nullopt for anything else.
std::optional<std::string> normalize_ip(std::string_view text);

// 127.0.0.0/8 or ::1 (after normalize_ip(); false for unparsable text).
bool is_loopback_ip(std::string_view text);

}  // namespace authmilter::mail

// authmilter::mail — envelope and header address helpers.
//
// envelope_address(): the address inside MAIL FROM's argument ("<a@b>", "a@b", "<>" with
//   ESMTP parameters already split off by the MTA): angle brackets and surrounding WSP are
//   stripped, an RFC 5321 §4.1.2 source route ("@x,@y:a@b", obsolete but still legal, §C)
//   is dropped, a quoted local part ("\"a b>c\"@d") is kept as written; "<>" gives "".
// domain_of(): the domain of an address (after the last '@' outside a quoted local part),
//   lower-cased (ASCII only), without a trailing dot; empty when there is none or when the
//   domain part is empty. A leading '<' makes it go through envelope_address() first.
// local_part_of(): the part before that '@', as written (quotes and quoted-pairs kept);
//   the whole address when it has no '@' (RFC 7208 §4.3 leaves "postmaster" to the caller).
// sanitize_for_header(): untrusted text made safe for a header: CR, LF, NUL, the other C0
//   controls, DEL and the C1 controls (U+0080..U+009F) are removed, HTAB becomes a space,
//   well-formed UTF-8 (RFC 6532) is kept and every byte that is not part of a well-formed
//   sequence becomes '?'. The result never contains a line break, so it can never start a new
//   header field.
// Limits: none here; all functions are linear and allocate at most the input's size. Callers
//   bound their inputs (the A-R writer caps values, see auth_results.h).
#pragma once

#include <string>
#include <string_view>

namespace authmilter::mail {

std::string envelope_address(std::string_view mail_from_argument);
std::string domain_of(std::string_view address);
std::string local_part_of(std::string_view address);
std::string sanitize_for_header(std::string_view text);

}  // namespace authmilter::mail

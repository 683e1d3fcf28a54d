// authmilter::mail — RFC 5322 §3.4 address lists (From:, Sender:, Resent-From:, ...).
//
// What: parses a header value into its mailboxes: display names, comments and folding
//   (CFWS), quoted local parts, angle-addr and bare addr-spec, groups (their members are
//   flattened; an empty group yields none), obsolete forms RFC 5322 §4.4 asks readers to
//   accept (obs-local-part, route in angle-addr). RFC 2047 encoded words in display names are
//   kept as written (only addresses matter to the checks).
// Used by: SenderID's PRA (RFC 4407 §2, which needs "exactly one mailbox") and DMARC's
//   From: domain (RFC 7489 §6.6.1).
// Security: hostile input (NUL, 8-bit, unbalanced quotes/comments, 1 MB values, deep comment
//   nesting) never crashes; it gives ok=false with a reason. Limits are named constants.
//   8-bit: RFC 6532 UTF-8 is accepted wherever RFC 5322 allows text (atoms, quoted strings,
//   comments, domain literals); other 8-bit bytes are tolerated in display names and local
//   parts (legacy mailers), but a domain must be well-formed UTF-8. NUL anywhere, and control
//   characters outside quoted strings and comments, make the value unparsable.
// Limits: kMaxAddressListLength bytes of value (Postfix's header_size_limit default; longer
//   values are refused before parsing), kMaxMailboxes mailboxes, kMaxCommentDepth nesting
//   levels of comments. The parser is one linear pass that never recurses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/header.h"

namespace authmilter::mail {

inline constexpr std::size_t kMaxAddressListLength = 102400;
inline constexpr std::size_t kMaxMailboxes = 1000;

struct Mailbox {
  std::string display_name;  // as written, unquoted, may be empty
  std::string local_part;    // as written (quotes kept for quoted local parts)
  std::string domain;        // lower-cased, no trailing dot; may be a [literal]
  std::string address() const { return local_part + "@" + domain; }
};

struct AddressList {
  bool ok = false;  // false: unparsable (error says why); mailboxes then holds what parsed
  std::vector<Mailbox> mailboxes;
  std::string error;
};

AddressList parse_address_list(std::string_view header_value);

}  // namespace authmilter::mail

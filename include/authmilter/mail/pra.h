// authmilter::mail — the Purported Responsible Address (RFC 4407 §2), SenderID's identity.
//
// What: given the message's header fields in order, selects the one header RFC 4407 §2 names
//   and returns its single mailbox:
//   1. the first non-empty Resent-Sender, unless a non-empty Resent-From precedes it with a
//      Received or Return-Path field between the two (the Resent-Sender then belongs to an
//      older resent block): go on with 2;
//   2. the first non-empty Resent-From;
//   3. the Sender, when there is exactly one non-empty Sender (more than one: no PRA);
//   4. the From, when there is exactly one non-empty From (none or more than one: no PRA);
//   5. the selected field must hold exactly one mailbox with a domain name (parsed by
//      parse_address_list(); an unparsable value, several mailboxes, none, or a domain
//      literal instead of a domain name give no PRA);
//   6. otherwise the message is ill-formed and has no PRA: ok=false with the reason in
//      `error`. RFC 4406 §4 makes that a SenderID permerror; the caller reports it.
//   "Non-empty" (RFC 4407 §2): the value holds something other than whitespace (SP, HTAB,
//   CR, LF); an empty or blank field counts as absent. A value holding only a comment is
//   not blank: it is selected and then fails step 5.
// Input: HeaderFields (mail/header.h): field names without the colon (compared case-insensitively,
// trailing WSP ignored,
//   as RFC 5322 §4.5 obsolete syntax allows "From :"); values as the MTA passes them, folding
//   (CRLF WSP, or bare LF) kept.
// Result: the mailbox (display name, local part as written, lower-cased domain) and which
//   field it came from, for the A-R ptype.property (RFC 8601 §2.7.3 "header.<field>").
// Limits: those of parse_address_list() (address_list.h); linear in the number of fields.
// Security: header fields are hostile; nothing here allocates more than the input's size.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/mail/address_list.h"
#include "authmilter/mail/header.h"

namespace authmilter::mail {

enum class PraSource { kResentSender, kResentFrom, kSender, kFrom };

// "header.resent-sender", "header.resent-from", "header.sender", "header.from".
std::string_view to_ptype_property(PraSource source);
// "Resent-Sender", "Resent-From", "Sender", "From".
std::string_view to_field_name(PraSource source);

struct Pra {
  bool ok = false;
  // The field the algorithm settled on (steps 1-4), also when step 5 then failed, or the
  // field that occurred more than once (steps 3/4); nullopt when the message has none of the
  // four fields (non-empty).
  std::optional<PraSource> source;
  // Index (into the input) of the selected field; npos when none was selected.
  std::size_t index = static_cast<std::size_t>(-1);
  Mailbox mailbox;    // ok only
  std::string error;  // !ok: why there is no PRA, e.g. "2 From fields and no Sender"
};

Pra extract_pra(std::span<const HeaderField> headers);

}  // namespace authmilter::mail

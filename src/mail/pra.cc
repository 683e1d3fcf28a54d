#include "authmilter/mail/pra.h"

#include "authmilter/mail/header.h"

#include <string>

namespace authmilter::mail {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Field names compare case-insensitively (RFC 5322 §1.2.2); obs-optional (§4.5) allows WSP
// before the colon, which some MTAs leave on the name.
bool is_field(std::string_view name, std::string_view wanted) {
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  return iequals_ascii(name, wanted);
}

// RFC 4407 §2: a field is non-empty iff it contains a non-whitespace character.
bool non_empty(std::string_view value) {
  return value.find_first_not_of(" \t\r\n") != std::string_view::npos;
}

}  // namespace

std::string_view to_ptype_property(PraSource source) {
  switch (source) {
    case PraSource::kResentSender:
      return "header.resent-sender";
    case PraSource::kResentFrom:
      return "header.resent-from";
    case PraSource::kSender:
      return "header.sender";
    case PraSource::kFrom:
      break;
  }
  return "header.from";
}

std::string_view to_field_name(PraSource source) {
  switch (source) {
    case PraSource::kResentSender:
      return "Resent-Sender";
    case PraSource::kResentFrom:
      return "Resent-From";
    case PraSource::kSender:
      return "Sender";
    case PraSource::kFrom:
      break;
  }
  return "From";
}

Pra extract_pra(std::span<const HeaderField> headers) {
  Pra out;
  // One pass collects what every step needs.
  std::size_t resent_sender = kNone;        // step 1: first non-empty Resent-Sender
  bool resent_sender_blocked = false;       // step 1: Resent-From, then trace, then it
  std::size_t resent_from = kNone;          // step 2: first non-empty Resent-From
  bool trace_after_resent_from = false;     // a Received/Return-Path after that Resent-From
  std::size_t sender = kNone, senders = 0;  // step 3
  std::size_t from = kNone, froms = 0;      // step 4
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const std::string_view name = headers[i].name;
    const bool filled = non_empty(headers[i].value());
    if (is_field(name, "Received") || is_field(name, "Return-Path")) {
      // Trace fields count whatever their content: they only mark a block boundary.
      if (resent_from != kNone) trace_after_resent_from = true;
    } else if (!filled) {
      continue;  // blank fields are treated as absent
    } else if (is_field(name, "Resent-Sender")) {
      if (resent_sender == kNone) {
        resent_sender = i;
        // "said Resent-From" is any non-empty one before it; with the first one the test is
        // the weakest, and a trace field after a later one is also after the first.
        resent_sender_blocked = resent_from != kNone && trace_after_resent_from;
      }
    } else if (is_field(name, "Resent-From")) {
      if (resent_from == kNone) resent_from = i;
    } else if (is_field(name, "Sender")) {
      if (senders++ == 0) sender = i;
    } else if (is_field(name, "From")) {
      if (froms++ == 0) from = i;
    }
  }

  if (resent_sender != kNone && !resent_sender_blocked) {  // step 1
    out.source = PraSource::kResentSender;
    out.index = resent_sender;
  } else if (resent_from != kNone) {  // step 2
    out.source = PraSource::kResentFrom;
    out.index = resent_from;
  } else if (senders > 1) {  // step 3 -> 6
    out.source = PraSource::kSender;
    out.error = std::to_string(senders) + " Sender fields";
    return out;
  } else if (senders == 1) {  // step 3 -> 5
    out.source = PraSource::kSender;
    out.index = sender;
  } else if (froms > 1) {  // step 4 -> 6
    out.source = PraSource::kFrom;
    out.error = std::to_string(froms) + " From fields and no Sender";
    return out;
  } else if (froms == 1) {  // step 4 -> 5
    out.source = PraSource::kFrom;
    out.index = from;
  } else {  // step 4 -> 6
    out.error = "no Resent-Sender, Resent-From, Sender or From field";
    return out;
  }

  // Step 5: the selected field must hold exactly one mailbox with a domain name.
  const std::string field(to_field_name(*out.source));
  const AddressList list = parse_address_list(headers[out.index].value());
  if (!list.ok) {
    out.error = field + " is unparsable: " + list.error;
  } else if (list.mailboxes.size() != 1) {
    out.error = field + " holds " + std::to_string(list.mailboxes.size()) + " mailboxes";
  } else if (list.mailboxes[0].domain.front() == '[') {
    out.error = field + " has a domain literal, not a domain name";
  } else {
    out.ok = true;
    out.mailbox = list.mailboxes[0];
  }
  return out;
}

}  // namespace authmilter::mail

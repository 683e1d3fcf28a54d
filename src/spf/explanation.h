// authmilter::spf exp= text — the explanation a fail result carries (RFC 7208 §6.2).
//
// What: libspf2 asks for the TXT record of the exp= target through the DNS layer's `lookup`
//   and expands it itself. Before it sees the text: several TXT records, or a text that is
//   not a valid explain-string (§7.1 macro-string of printable ASCII), mean no explanation;
//   each SP becomes the equivalent "%_" macro, because libspf2 1.2.10 turns a literal SP into
//   '%' and loses the macro after it; the macro fixes of record_lint.h are applied with this
//   check's macro values (macro_values.h); a text libspf2 cannot compile safely
//   (CVE-2021-20314 / CVE-2023-42118, record_lint.h's kMaxLibspf2Block) gives none.
// Not a DNS-querying term and never void (§4.6.4); a temporary DNS error gives no
//   explanation, not temperror (§6.2).
// Internal to the spf module.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"

struct SPF_request_struct;  // libspf2's SPF_request_t (spf2/spf_request.h)

namespace authmilter::spf {

// The exp= TXT text as libspf2 should compile it, or nullopt when it is not a valid
// explain-string (then there is no explanation).
std::optional<std::string> prepare_explanation(std::string_view text);

// The text to hand libspf2 for the answer to an exp= TXT lookup: nullopt unless the answer
// holds exactly one record, it is a valid explain-string and libspf2 can compile it safely.
// `request` gives macro values
// (%{p} is never looked up for it); may be null.
std::optional<std::string> explanation_text(const dns::Answer& answer, SPF_request_struct* request);

}  // namespace authmilter::spf

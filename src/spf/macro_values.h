// authmilter::spf macro values — what each RFC 7208 §7.3 macro letter stands for in a check.
//
// What: the values libspf2's own expander would use (from its SPF_request_t), for the macro
//   fixes record_lint.h applies to records and exp= texts before libspf2 compiles them.
//   %{i} of an IPv6 client is its 32 nibbles, high first ("dot-format", §7.3); %{t} is "0"
//   (one part); %{p} needs DNS and is looked up (and cached in the request) only when asked.
// Internal to the spf module.
#pragma once

#include <optional>
#include <string>

struct SPF_request_struct;  // libspf2's SPF_request_t (spf2/spf_request.h)

namespace authmilter::spf {

// The value of macro `letter` (either case) for `request`, nullopt when unknown (no request,
// an unset field, an unknown letter, or %{p} not yet resolved and !resolve_client_name).
std::optional<std::string> macro_value(SPF_request_struct* request, char letter,
                                       bool resolve_client_name);

}  // namespace authmilter::spf

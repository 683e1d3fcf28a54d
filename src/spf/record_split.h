// authmilter::spf record split — compiling records longer than libspf2 can hold.
//
// What: libspf2 1.2.10 keeps at most SPF_MAX_MECH_LEN (511) octets of compiled mechanisms per
//   record and silently drops every mechanism past that (SPF_record_compile ignores
//   SPF_E_BIG_MECH): 64 ip4 or 26 ip6 terms suffice, and "-all" would vanish. A record it does
//   not compile whole is split: the first part ends in "redirect=<n>" + kContinuationSuffix,
//   and get_spf (dns_layer.h) serves the rest for that name, without DNS and without counting
//   a term, under the record's own domain (%{d}, implicit a/mx), with the record's exp=. A
//   redirect at the end of a record is exactly "go on with these terms", and the part names
//   are under the reserved TLD .invalid (RFC 6761 §6.4), so no real name can carry them.
// Limits: each part adds one level to libspf2's recursion depth (max 20); record_lint.h's
//   kMaxMechanisms bounds the number of parts. The first part is found by bisection, each
//   step a trial compile.
// Errors: a record that does not compile is permerror, never temperror (SPF_E_DNS_ERROR
//   would read as one); the message names the record (LookupContext::problem).
// Internal to the spf module.
#pragma once

#include <string>
#include <string_view>

#include "libspf2.h"
#include "lookup_context.h"

namespace authmilter::spf {

// Names of the parts of split records (RFC 6761 §6.4: .invalid never exists).
inline constexpr std::string_view kContinuationSuffix = ".continue.authmilter.invalid";

// Sets the response's result, reason and error to a failed record fetch; returns `code`.
SPF_errcode_t record_error(SPF_response_t* response, SPF_result_t result, SPF_errcode_t code);

// Compiles a prepared record for `domain` into *recordp, split into parts when libspf2 would
// drop mechanisms. `where` names the record in messages.
SPF_errcode_t compile_record(SPF_server_t* server, LookupContext& ctx, SPF_response_t* response,
                             SPF_record_t** recordp, const std::string& record,
                             const std::string& domain, const std::string& where);

// When `domain` names the rest of a split record not yet served: compiles that rest into
// *recordp (under the record's own domain, which request->cur_dom is pointed at) and returns
// true with the result in `err`. False otherwise.
bool serve_continuation(SPF_server_t* server, SPF_request_t* request, LookupContext& ctx,
                        SPF_response_t* response, SPF_record_t** recordp, const std::string& domain,
                        SPF_errcode_t& err);

}  // namespace authmilter::spf

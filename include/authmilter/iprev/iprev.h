// authmilter::iprev — the "iprev" check of RFC 8601 §3: does the client's IP address have a
// DNS name that resolves back to it ("forward-confirmed reverse DNS")?
//
// What: evaluate() asks the PTR records of the client address (in-addr.arpa, or ip6.arpa
//   nibbles for IPv6, RFC 3596 §2.5), then the A (IPv4) or AAAA (IPv6) records of each PTR
//   name, all of them at once, and reports pass when one name resolves back to the address.
//   An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is judged as the IPv4 address.
// Results (RFC 8601 §2.7.3):
//   pass       a PTR name's forward lookup holds the client address;
//   fail       PTR names were found but none resolves back (NXDOMAIN, NODATA or other
//              addresses), and no forward lookup failed temporarily;
//   temperror  the PTR lookup failed temporarily (SERVFAIL, timeout), or no name matched and
//              at least one forward lookup failed temporarily (a later try may pass);
//   permerror  no PTR record is published for the address (NXDOMAIN or NODATA), or the
//              client address is not an IP address.
// Limits: at most kMaxPtrNames PTR names are followed (the rest are ignored, as RFC 7208 §4.6.4
//   does for the SPF ptr mechanism), so one client costs at most 1 + 10 queries. Every wait
//   ends at the caller's deadline or cancel (then temperror).
// Config keys: IPRev (on/off), IPRevFail (through the policy).
// Security: PTR names come from whoever controls the reverse zone: they are only looked up
//   and reported (the A-R writer sanitizes them), never trusted as the client's identity
//   unless the forward lookup confirms them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"
#include "authmilter/work/cancel.h"

namespace authmilter::iprev {

enum class Result { kPass, kFail, kTempError, kPermError };
std::string_view to_token(Result result);  // "pass", "fail", "temperror", "permerror"

inline constexpr std::size_t kMaxPtrNames = 10;

struct IprevResult {
  Result result = Result::kPermError;
  std::string ip;             // the client address judged, as given
  std::string ptr_name;       // pass: the confirmed name; otherwise the first PTR name ("" if none)
  std::size_t ptr_names = 0;  // PTR names followed (at most kMaxPtrNames)
  std::string comment;        // why, for the A-R comment and the log
};

// The reverse-lookup name of `ip` ("1.2.0.192.in-addr.arpa", "…ip6.arpa" nibbles); nullopt
// when `ip` is not an IPv4 or IPv6 address.
std::optional<std::string> reverse_name(std::string_view ip);

// Reverse-then-forward lookup of `ip` through `resolver`, bounded by `deadline` and `cancel`.
IprevResult evaluate(std::string_view ip, dns::Resolver& resolver, dns::Deadline deadline,
                     const work::CancelToken* cancel = nullptr);

}  // namespace authmilter::iprev

// authmilter::spf — Sender Policy Framework checks (RFC 7208) on libspf2.
//
// What: evaluates the MAIL FROM identity (RFC 7208 §2.4) and the HELO identity (§2.3) for a
//   client IP, with libspf2's mechanism engine over our own dns::Resolver (a custom
//   SPF_dns_server_t), so include/redirect chains share the daemon's cache and every lookup
//   is bounded by the message deadline.
// Results: the seven RFC 7208 §2.6 results, each with exactly its RFC 8601 token.
// Limits: RFC 7208 §4.6.4 (10 DNS-querying mechanisms, 2 void lookups, 10 MX/PTR names),
//   kMaxDnsTerms etc. below, enforced per check by the DNS layer (src/spf/dns_layer.h);
//   input limits kMaxSenderLength,
//   kMaxHeloLength, kMaxExplanationLength below. Records pass record_lint.h first.
// Deviations from libspf2 defaults: no free pass for loopback clients, TXT records only (never
//   the SPF RR type), no built-in explanation text.
// libspf2 1.2.10 bugs worked around (record_lint.h, src/spf/): records rewritten before
//   compiling (/0 CIDR lengths, unknown modifiers, redirect placement, macro truncation and the
//   ',' '/' delimiters), long records split into parts, RFC 7208 §4.6.4 limits counted for the
//   whole check, PTR names with DNS errors skipped. The OpenSPF RFC 7208 suite passes in full
//   (tests/conformance/, docs/CONFORMANCE.md).
// Thread-safety: a Checker is shared by all milter threads; each check builds its own
//   libspf2 server/request/response, owned by RAII handles.
// Security: MAIL FROM, HELO and DNS answers are hostile input; libspf2 only ever sees names
//   that passed our syntax pre-checks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"

namespace authmilter::spf {

// Input limits. A longer MAIL FROM is refused with "none" before any lookup (RFC 5321
// §4.5.3.1.3 allows 256 octets of path; we allow some slack for lax clients).
inline constexpr std::size_t kMaxSenderLength = 512;
// A HELO longer than this is not offered to %{h} macros (it cannot be a domain anyway).
inline constexpr std::size_t kMaxHeloLength = 255;
// exp= explanations (RFC 7208 §6.2) are cut to this many octets.
inline constexpr std::size_t kMaxExplanationLength = 512;

// RFC 7208 §4.6.4 limits, counted for the whole check (libspf2 counts per include level).
inline constexpr int kMaxDnsTerms = 10;          // ¶1: a, mx, ptr, exists, include, redirect
inline constexpr int kMaxVoidLookups = 2;        // ¶7: NXDOMAIN / no records; more: permerror
inline constexpr std::size_t kMaxMxNames = 10;   // ¶2: more is permerror
inline constexpr std::size_t kMaxPtrNames = 10;  // ¶3: the rest is ignored

enum class Result { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };

// RFC 8601 / RFC 7208 token: "pass", "softfail", "temperror", ...
std::string_view to_token(Result result);
// RFC 4406/issue #3: none, neutral, temperror and permerror say nothing about the sender;
// pass, fail and softfail are the domain owner's statement.
bool is_authoritative(Result result);

enum class Identity { kMailFrom, kHelo, kPra };
std::string_view to_string(Identity identity);  // "mailfrom", "helo", "pra"

struct Request {
  std::string client_ip;  // textual IPv4 or IPv6
  std::string helo;       // HELO/EHLO argument as given
  std::string sender;     // MAIL FROM address without <>, or the PRA; empty for <>
  Identity identity = Identity::kMailFrom;
};

struct CheckResult {
  Result result = Result::kNone;
  Identity identity = Identity::kMailFrom;
  // The identity as checked: "local@domain" ("postmaster@domain" without a local-part),
  // "postmaster@helo.name" for a null MAIL FROM (RFC 7208 §2.4), the HELO name itself for
  // Identity::kHelo (so it can be written as smtp.helo).
  std::string checked;
  std::string domain;       // the domain whose record was evaluated
  std::string explanation;  // exp= text on fail (RFC 7208 §6.2), sanitized, may be empty
  std::string comment;      // short human reason for logs and header comments
};

struct CheckerOptions {
  std::string receiver = "localhost";  // our host name, for %{r} and Received-SPF
};

class Checker {
 public:
  Checker(dns::Resolver& resolver, CheckerOptions options);
  // Evaluates `request` (MAIL FROM or HELO per request.identity). Never throws for hostile
  // input; DNS trouble or the deadline gives kTempError.
  CheckResult check(const Request& request, dns::Deadline deadline,
                    const work::CancelToken* cancel = nullptr) const {
    return check_via(resolver_, request, deadline, cancel);
  }
  // The same, with its DNS through `resolver` instead of the Checker's own (a
  // dns::ReadyOnlyResolver over it, to try the check without waiting).
  CheckResult check_via(dns::Resolver& resolver, const Request& request, dns::Deadline deadline,
                        const work::CancelToken* cancel = nullptr) const;
  dns::Resolver& resolver() const { return resolver_; }

 private:
  dns::Resolver& resolver_;
  CheckerOptions options_;
};

// RFC 7208 §9.1 Received-SPF header value (without the field name).
std::string received_spf_value(const CheckResult& result, const Request& request,
                               std::string_view receiver);

}  // namespace authmilter::spf

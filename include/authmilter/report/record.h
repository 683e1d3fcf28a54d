// authmilter::report::Record — what one DMARC-judged message contributes to an aggregate
// report (RFC 9990 §3.1: the <record> fields, and the policy as published).
//
// What: make_record() takes a message's typed results (policy::Results) and its envelope and
//   keeps exactly what RFC 9990's <record> and <policy_published> need: source IP, the
//   RFC5322.From domain, the MAIL FROM and first RCPT TO domains, the policy as discovered
//   (domain, p, sp, np, adkim, aspf, testing, discovery method, psd), the applied disposition
//   and its override reasons, the DMARC-relevant DKIM and SPF results and the rua URIs.
//   Messages without a DMARC policy record (dmarc=none, permerror, no policy domain) give no
//   record: there is nobody to report to.
// Applied disposition (RFC 9990 §3.1.5, PolicyEvaluatedType): "pass" when DMARC passed,
//   otherwise what this receiver did for DMARC's sake: the DMARCReject/DMARCQuarantine action
//   for the disposition the policy asked for (after pct). Where that differs from the request
//   a "local_policy" reason says so; RFC 9989 testing (t=y, or pct=0) that lowered it gives
//   "policy_test_mode".
// Limits: kMaxRuaUris URIs and kMaxDkimResults signatures per record are kept (the rest
//   is dropped here, before the store); every string is at most kMaxFieldBytes and is
//   well-formed UTF-8 without controls (8-bit input becomes U+FFFD), so the XML writer and
//   the stores never see raw controls or broken sequences.
// Security: every field came from the SMTP client or DNS; sanitize() runs on each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/config/config.h"
#include "authmilter/policy/results.h"

namespace authmilter::report {

inline constexpr std::size_t kMaxRuaUris = 16;
inline constexpr std::size_t kMaxDkimResults = 16;
inline constexpr std::size_t kMaxFieldBytes = 1024;

struct DkimAuth {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string result;    // RFC 8601 token: none, pass, fail, policy, neutral, temperror, permerror
  bool operator==(const DkimAuth&) const = default;
  auto operator<=>(const DkimAuth&) const = default;
};

struct SpfAuth {
  std::string domain;
  std::string scope;   // "mfrom" or "helo" (RFC 9990's schema only names mfrom)
  std::string result;  // RFC 8601 token
  bool operator==(const SpfAuth&) const = default;
  auto operator<=>(const SpfAuth&) const = default;
};

struct OverrideReason {
  std::string type;  // local_policy, mailing_list, other, policy_test_mode, trusted_forwarder
  std::string comment;
  bool operator==(const OverrideReason&) const = default;
  auto operator<=>(const OverrideReason&) const = default;
};

struct Record {
  std::int64_t time = 0;  // seconds since the epoch (UTC), end of message
  std::string source_ip;
  std::string header_from;
  std::string envelope_from;  // MAIL FROM domain; empty for <>
  std::string envelope_to;    // the first recipient's domain

  // policy_published (RFC 9990 §3.1.3), as discovered for this message.
  std::string policy_domain;
  std::string p;                 // none, quarantine, reject
  std::string sp;                // as published; empty: not in the record
  std::string np;                // as published (RFC 9989 np=); empty: not in the record
  std::string adkim;             // r, s
  std::string aspf;              // r, s
  std::string testing;           // n, y (RFC 9989 t=)
  std::string discovery_method;  // psl, treewalk
  std::string psd;               // y, n, u; empty: not known

  // policy_evaluated
  std::string disposition;  // none, pass, quarantine, reject
  std::string dmarc_dkim;   // pass, fail
  std::string dmarc_spf;    // pass, fail
  std::vector<OverrideReason> reasons;

  std::vector<DkimAuth> dkim;
  std::optional<SpfAuth> spf;
  std::vector<std::string> rua;

  bool operator==(const Record&) const = default;
};

// The envelope and client facts of one message.
struct Envelope {
  std::string_view client_ip;   // the judged client
  std::string_view mail_from;   // address, "" for <>
  std::string_view first_rcpt;  // address, may be empty
  std::int64_t time = 0;
};

// nullopt when the message has no DMARC policy domain (nothing to report).
std::optional<Record> make_record(const policy::Results& results, const Envelope& envelope,
                                  const config::Config& config);

// What this receiver did for DMARC: "pass", "none", "quarantine", "reject", and the reasons.
std::string applied_disposition(const dmarc::DmarcResult& dmarc, const config::Config& config,
                                std::vector<OverrideReason>* reasons);

// At most kMaxFieldBytes, well-formed UTF-8 without C0/C1 controls or DEL (U+FFFD instead).
std::string sanitize(std::string_view text);

}  // namespace authmilter::report

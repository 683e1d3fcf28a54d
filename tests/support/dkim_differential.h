// The DKIM differential harness (tests only): runs one message through our verifier
// (dkim::Library, src/dkim) and the libopendkim reference (opendkim_reference.h) fed the
// same way, against the same zone and options, and compares the results per signature.
//
// Agreement: the same number of results; per signature the same RFC 8601 result token, d=,
//   s=, header.b prefix and, where both give a reason of a known kind (reason_kind()), the
//   same kind. Comments are worded differently by the two verifiers, so only their kind
//   counts ("body-hash" vs "signature" for a fail, "expired", "no-key", ...).
// Allowed differences: where our verifier follows the RFC and libopendkim does not, each
//   difference is named in allowed_differences() with its RFC reason and a narrow predicate
//   on the two results and on facts the harness finds out by itself (MessageFacts: the body
//   hash by the test signer's literal RFC 6376 §3.4 canonicalization, the key records in the
//   zone); it is counted, and every other difference is a disagreement. The list is
//   documented in docs/CONFORMANCE.md ("DKIM: the libopendkim reference").
// Used by tests/unit/dkim_differential_test.cc and tests/fuzz/fuzz_dkim_differential.cc.
// Not linked into the daemon.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/dkim.h"
#include "authmilter/dkim/tag_list.h"
#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/resolver.h"

namespace authmilter::test_support::opendkim {

// How a verifier is fed the header fields.
enum class Feed {
  kMilter,  // header({name, " " + value without its leading whitespace}), as the milter does
  kRaw,     // header_field(the whole field text)
};

// The coarse kind of a result's comment: "body-hash", "signature", "length", "key-size",
// "sha1", "limit", "dns", "no-key", "revoked", "future", "key", "validation" (RFC 6376
// §6.1.1: malformed, unsupported algorithm, bad selector/domain, expired), or "" when the
// comment says nothing comparable.
std::string_view reason_kind(std::string_view comment);

// What the harness knows about one DKIM-Signature field without either verifier.
struct SignatureFacts {
  // bh= against the body hash of the test signer (dkim_test_support.h: RFC 6376 §3.4.3 and
  // §3.4.4 taken literally: lines end at CRLF only, so a bare CR or LF is line content; a
  // missing final CRLF is supplied); unset when c=, a=, l= or bh= cannot be read or l=
  // exceeds the canonical body.
  std::optional<bool> body_hash_matches;
  std::optional<bool> l_exceeds_body;  // l= beyond the canonical body (unset: no usable l=)
  bool t_in_future = false;            // t= more than 300 s ahead of the clock
  bool has_vt_or_ff = false;           // the field holds a VT or FF byte (not WSP in RFC 5234)
  bool bad_tag_name = false;           // a tag name is not ALPHA *ALNUMPUNC (RFC 6376 §3.2)
  // Earlier signatures of the message that our verifier alone found invalid (RFC 6376
  // §6.1.1) under an allowed difference; MaxSignatures then counts differently (compare()).
  std::size_t earlier_validation_differences = 0;
  std::vector<std::string> key_records;  // TXT at s=._domainkey.d= (none on any DNS error)
  dkim::TagList tags;                    // the signature's tags (dkim/tag_list.h)
};

struct MessageFacts {
  bool body_has_bare_cr = false;           // a CR not followed by LF
  bool body_has_bare_lf = false;           // an LF not preceded by CR
  bool body_ends_without_crlf = false;     // a non-empty body whose last bytes are not CRLF
  std::vector<SignatureFacts> signatures;  // per DKIM-Signature field, in header order
};

// Finds the facts of a message (the key records through `zone`).
MessageFacts gather_facts(dns::Resolver& zone, const std::vector<std::string>& fields,
                          std::string_view body);

struct AllowedDifference {
  std::string_view name;    // short identifier, counted and printed
  std::string_view reason;  // the RFC reason our behaviour is the right one
  bool (*applies)(const dkim::SignatureResult& ours, const dkim::SignatureResult& reference,
                  const SignatureFacts& signature, const MessageFacts& message);
};
const std::vector<AllowedDifference>& allowed_differences();

struct Comparison {
  std::size_t signatures = 0;                  // results compared
  std::vector<std::string> disagreements;      // unexplained differences, in words
  std::map<std::string, std::size_t> allowed;  // allowed difference name -> count
};

// One line describing a result, for failure messages.
std::string describe(const dkim::SignatureResult& result);

struct BothResults {
  std::vector<dkim::SignatureResult> ours;
  std::vector<dkim::SignatureResult> reference;
  MessageFacts facts;
};

// Compares both results of `both`, adding to `comparison`; `label` names the case in the
// disagreement texts. Returns true when they agree (allowed differences included).
bool compare(const BothResults& both, std::string_view label, Comparison& comparison);

// Verifies `fields` (whole header fields, folds as CRLF+WSP, no final CRLF) and `body` with
// both verifiers, each with its own library over `zone` and `options`, and gathers the
// facts. The body goes in chunks whose sizes cycle through `chunks` (empty: in one piece).
BothResults verify_both(dns::Resolver& zone, const dkim::VerifierOptions& options,
                        const std::vector<std::string>& fields, std::string_view body, Feed feed,
                        const std::vector<std::size_t>& chunks);

// Feeds one verifier (either kind) as verify_both() does and returns finish().
template <class AnyVerifier>
std::vector<dkim::SignatureResult> feed_message(AnyVerifier& verifier,
                                                const std::vector<std::string>& fields,
                                                std::string_view body, Feed feed,
                                                const std::vector<std::size_t>& chunks) {
  for (const auto& field : fields) {
    if (feed == Feed::kRaw) {
      verifier.header_field(field);
      continue;
    }
    std::size_t colon = field.find(':');
    if (colon == std::string::npos) {
      verifier.header_field(field);  // both refuse it the same way
      continue;
    }
    std::string_view value = std::string_view(field).substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    verifier.header({field.substr(0, colon), " " + std::string(value)});
  }
  verifier.end_of_headers();
  std::size_t next = 0;
  for (std::size_t pos = 0; pos < body.size();) {
    std::size_t size = chunks.empty() ? body.size() : std::max<std::size_t>(chunks[next], 1);
    if (!chunks.empty()) next = (next + 1) % chunks.size();
    verifier.body(body.substr(pos, size));
    pos += size;
  }
  return verifier.finish();
}

}  // namespace authmilter::test_support::opendkim

// authmilter::dkim ARC — Authenticated Received Chain verification and sealing (RFC 8617)
// on the OpenSSL signature engine (canonicalize.h, signature_engine.h).
//
// Verify (RFC 8617 §5.2): ArcVerifier gets the message's header fields at end of headers,
//   parses the ARC Sets (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal, each
//   with i=), starts the key lookups of every seal and message signature, hashes the body
//   chunks for the AMS body hashes (one streaming hasher per body canonicalization in use)
//   and at finish() decides:
//     none  no ARC header field at all;
//     fail  structure (an instance outside 1..kMaxArcInstances, a duplicate or missing
//           member of a set, more than kMaxArcFields ARC fields, malformed or duplicate tags,
//           a= other than rsa-sha256 (the only algorithm RFC 8617 defines), h= in a seal,
//           missing required tags), the newest seal's cv=fail, cv=pass on i=1 or cv other
//           than pass on i>1 (§5.1.2), the newest AMS or any seal not verifying, no key,
//           a revoked or unusable key, an RSA key under DKIMMinKeyBits;
//     temperror  a key lookup failed temporarily (SERVFAIL, timeout, cancel) and nothing
//           else failed: the chain is undecided;
//     pass  otherwise. oldest_pass (§5.2 step 5) is the oldest instance from which on every
//           AMS still verifies (0: all of them do, reported only when > 0).
// Seal (RFC 8617 §5.1): seal() adds the set i = highest + 1 (never past kMaxArcInstances)
//   with our A-R as the AAR, an AMS over kSealedHeaderNames present in the message (relaxed/
//   relaxed, the body hash streamed during the message) and an AS over all sets with
//   cv=none (first set), pass (chain passed) or fail. Callers decide whether to seal at all
//   (not on reject/tempfail, internal clients, newest cv=fail, temperror). Tags are written
//   in the ValiMail suite's normalized order (sorted by name), so its signing vectors
//   compare byte for byte.
// Config keys (read by the milter): DKIMMinKeyBits (sealer keys too), ARCSign,
//   ARCSealDomain, ARCSelector, ARCKeyFile.
// Limits: kMaxArcInstances (50) sets, kMaxArcFields ARC fields looked at; header fields as
//   the Transaction keeps them (MaxHeaderBytes).
// Security: every header, tag and key is hostile; nothing here throws for any input (only
//   std::bad_alloc); the private key never leaves ArcSigningKey.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dkim/signature_engine.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/header.h"

namespace authmilter::dkim {

inline constexpr unsigned kMaxArcInstances = 50;
inline constexpr std::size_t kMaxArcFields = 3 * kMaxArcInstances + 3;

// Header fields our AMS signs when present (From always).
inline constexpr std::string_view kSealedHeaderNames[] = {"from",
                                                          "to",
                                                          "cc",
                                                          "subject",
                                                          "date",
                                                          "message-id",
                                                          "reply-to",
                                                          "in-reply-to",
                                                          "references",
                                                          "mime-version",
                                                          "content-type",
                                                          "content-transfer-encoding",
                                                          "list-id",
                                                          "list-post",
                                                          "list-unsubscribe",
                                                          "sender",
                                                          "dkim-signature"};

enum class ArcResult { kNone, kPass, kFail, kTempError };
std::string_view to_token(ArcResult result);  // "none", "pass", "fail", "temperror"

enum class ArcCv { kNone, kPass, kFail };
std::string_view to_token(ArcCv cv);

struct ArcSetSummary {
  unsigned instance = 0;
  std::string sealer;        // the seal's d= (lower case)
  std::string selector;      // the seal's s=
  std::string auth_results;  // the AAR after "i=N;" (unfolded, trimmed)
  ArcCv cv = ArcCv::kNone;
};

struct ArcChainResult {
  ArcResult result = ArcResult::kNone;
  unsigned instances = 0;    // highest instance seen (0: no ARC fields)
  unsigned oldest_pass = 0;  // RFC 8617 §5.2 step 5; 0 when every AMS verifies
  ArcCv newest_cv = ArcCv::kNone;
  std::vector<ArcSetSummary> sets;  // i=1 first; filled for a structurally sound chain
  std::string comment;              // why fail/temperror
};

struct ArcOptions {
  unsigned min_key_bits = 1024;  // DKIMMinKeyBits
  bool seal_body_hash = false;   // keep a relaxed body hash for seal()
};

// ARCKeyFile with ARCSealDomain and ARCSelector.
struct ArcSigningKey {
  std::string domain;
  std::string selector;
  std::shared_ptr<EVP_PKEY> key;
  // Throws std::runtime_error naming the file when it cannot be read or is no RSA key.
  static ArcSigningKey load_file(const std::string& path, std::string domain, std::string selector);
};

// One ARC set, header values without the leading space, in the order to insert at the top:
// seal first, then message signature, then authentication results.
struct ArcSealedSet {
  unsigned instance = 0;
  std::string seal;
  std::string message_signature;
  std::string authentication_results;
};

class ArcVerifier {
 public:
  ArcVerifier(dns::Resolver& resolver, ArcOptions options, dns::Deadline deadline,
              const work::CancelToken* cancel = nullptr);
  ~ArcVerifier();
  ArcVerifier(const ArcVerifier&) = delete;
  ArcVerifier& operator=(const ArcVerifier&) = delete;

  // All header fields of the message, top first; `headers` must outlive this verifier and
  // not change. Starts the key lookups.
  void end_of_headers(std::span<const mail::HeaderField> headers);
  void body(std::string_view chunk);
  // Waits for the keys (deadline, cancel) and judges; a second call returns the same.
  const ArcChainResult& finish();
  // After finish(): the next set over `auth_results` (our A-R value, "authserv-id; ...")
  // with t=`now`; nullopt when i would pass kMaxArcInstances, the chain is temperror, or
  // signing fails.
  std::optional<ArcSealedSet> seal(const ArcSigningKey& key, std::string_view auth_results,
                                   std::int64_t now);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The AMS value (tags sorted, b= filled) for `headers` with body hash `body_hash` (raw).
// Throws std::runtime_error when OpenSSL cannot sign.
std::string arc_message_signature(const ArcSigningKey& key, unsigned instance, std::int64_t t,
                                  std::string_view h, std::span<const mail::HeaderField> headers,
                                  std::string_view body_hash);
// The AS value over `chain` (every earlier set's AAR, AMS, AS in order, then the new AAR
// and AMS). Throws std::runtime_error when OpenSSL cannot sign.
std::string arc_seal(const ArcSigningKey& key, unsigned instance, std::int64_t t, ArcCv cv,
                     std::span<const mail::HeaderField> chain);

}  // namespace authmilter::dkim

// authmilter::dkim::Library / Verifier — DKIM verification of every signature (RFC 6376,
// RFC 8463 Ed25519, RFC 8301 algorithm and key-size rules) on our own OpenSSL engine:
// tag_list.h (tag=value lists), canonicalize.h (header and body canonicalization, the
// streaming BodyHasher), signature_engine.h (key records, key lookups, EVP signatures).
//
// What: one Library per process holds the resolver and the options; start_message() gives a
//   Verifier for one message, fed from the milter callbacks: header fields as they arrive
//   (kept for the header hash), end_of_headers(), body chunks (hashed as they stream, never
//   buffered), finish(). finish() returns one SignatureResult per DKIM-Signature field, in
//   header order (top first); an empty vector means "no signature" (dkim=none).
// Steps: end_of_headers() checks every signature (RFC 6376 §3.5 tags, §6.1.1: v=1, required
//   tags, a= known, c=, q=dns/txt, h= signs From (§5.4), i= within d= (dkim-quoted-printable
//   decoded), l=/t=/x= digits, x= not before t=), judges what needs no key, *starts* the key
//   lookup of every signature to verify through KeyLookups (so they run while the body
//   streams) and sets up one BodyHasher per distinct (body canonicalization, hash, l=),
//   shared by the signatures that use it. finish() waits for the keys until the message
//   deadline or the cancel token (Resolver::await semantics), parses each key for its
//   signature (§3.6.1), compares the body hash, then verifies b= over the signed header data
//   (§3.7, §5.4.2 bottom-up field selection): RSASSA-PKCS1-v1_5 with SHA-256 (or SHA-1), or
//   Ed25519 over the SHA-256 of the data (RFC 8463 §3, raw 32-byte k=ed25519 keys).
// Judging (RFC 8601 §2.7.1 tokens): pass (comment "body length limit l=N" with l=); fail with
//   comment "body hash mismatch", "signature did not verify" or "l= exceeds body length";
//   policy for rsa-sha1 unless VerifierOptions::allow_sha1 (RFC 8301 §3.1), for a signature
//   that verifies with an RSA key shorter than min_key_bits (RFC 8301 §3.2; key_bits says
//   the size; one that does not verify is fail) and for signatures past max_signatures; temperror
//   for SERVFAIL/timeout/cancel of the key lookup ("key lookup failed: ..."); permerror for
//   malformed signatures ("malformed signature: ..."; duplicate tags, missing tags, x= before t=,
//   i= outside d=, From not signed), "unsupported algorithm", "invalid selector or domain",
//   "signature expired" (x= more than 300 s past), "no key for signature" (NXDOMAIN/NODATA),
//   "several key records", "key revoked" (empty p=) and unusable keys (signature_engine.h's
//   parse_dkim_key texts: syntax, version, k= unknown or not matching a=, key h= not allowing the
//   hash, key s= not email, t=s with a subdomain i=, undecodable p=); neutral for a t= more than
//   300 s in the future. dnssec: the key's TXT answer carried the AD bit. test_key: the key says
//   t=y.
// Limits: max_signatures (config MaxSignatures) signatures are verified (malformed, expired,
//   future and rsa-sha1-under-policy ones need no lookup and do not count); at most
//   kMaxSignatureFields DKIM-Signature fields are looked at, later ones are only counted
//   (skipped_signatures()), so no hostile message makes us hash the body hundreds of times;
//   distinct body hashes are at most that many too. Header fields past kMaxHeaderFields or
//   kMaxHeaderBytes are not kept (signatures covering them then fail). header.b prefixes are
//   kMinBPrefix..kMaxBPrefix characters. Key records are read up to kMaxKeyRecordBytes.
//   Parsed keys are memoized per Library by (record text, algorithm), at most 256 of them
//   (decoding p= costs more than verifying); DNS answers are never cached here (the
//   resolver's TTL cache does that).
// Config keys (read by the milter, passed as VerifierOptions): MaxSignatures, DKIMAllowSHA1,
//   DKIMMinKeyBits.
// Line ends: bare CR/LF in header fields become CRLF (the milter hands folds over with LF);
//   a bare LF in the body is a line end, a bare CR is content, and a missing final CRLF is
//   supplied (§3.4.3, §3.4.4).
// Thread-safety: Library is shared by all milter threads; a Verifier belongs to one message
//   (one thread at a time) and must not outlive its Library.
// Security: header fields, body and key records are hostile. Nothing here throws for any
//   input (only std::bad_alloc); NUL bytes, 8-bit bytes, huge or duplicated fields give
//   permerror or a dropped field, never a crash. Body work is linear and bounded by the
//   distinct body hashes; key names that are not LDH-plus-underscore labels are never asked.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/dkim.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/header.h"

namespace authmilter::dkim {

// Signatures verified per message by default (config MaxSignatures).
inline constexpr std::size_t kDefaultMaxSignatures = 5;
// DKIM-Signature fields looked at per message; max_signatures is clamped to this.
inline constexpr std::size_t kMaxSignatureFields = 50;
// Header fields (and their bytes) kept per message. Postfix's own limits
// (header_size_limit 100 KiB per field, ~1000 fields) are far below.
inline constexpr std::size_t kMaxHeaderFields = 1000;
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;
// header.b: at least this many characters of b= (RFC 6008 §4), more when two signatures of
// the message share a longer prefix, never more than kMaxBPrefix.
inline constexpr std::size_t kMinBPrefix = 8;
inline constexpr std::size_t kMaxBPrefix = 64;
// Ed25519 public keys are 256 bits (RFC 8032).
inline constexpr unsigned kEd25519KeyBits = 256;

struct VerifierOptions {
  std::size_t max_signatures = kDefaultMaxSignatures;  // MaxSignatures
  bool allow_sha1 = false;                             // DKIMAllowSHA1
  unsigned min_key_bits = 1024;                        // DKIMMinKeyBits (RSA only)
};

class Verifier;

class Library {
 public:
  // Never throws for any options (max_signatures is clamped to kMaxSignatureFields).
  Library(dns::Resolver& resolver, VerifierOptions options);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // A verifier for one message. `id` (the queue id) is for callers' logs. Key lookups wait
  // until `deadline` or until `*cancel` is cancelled.
  std::unique_ptr<Verifier> start_message(std::string_view id, dns::Deadline deadline,
                                          const work::CancelToken* cancel = nullptr) const;

  const VerifierOptions& options() const;
  // Whether ed25519-sha256 is verified: always (OpenSSL 3's Ed25519); kept for callers.
  bool supports_ed25519() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class Verifier {
 public:
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // One header field (mail/header.h), fed as "name:raw_value" (original spacing kept, folds
  // as CRLF or LF + WSP).
  void header(const mail::HeaderField& field);
  // One whole header field exactly as in the message ("Name:value", no final CRLF), for
  // tests and fuzzers that hold the message text.
  void header_field(std::string_view field);
  // End of headers: signatures checked, key lookups started, body hashers set up. Called by
  // body() or finish() when the caller did not.
  void end_of_headers();
  // Verifies b= of every signature to verify (waiting for its key, as finish() does), which
  // needs the headers only; finish() then uses the outcome. May run on one thread while
  // body() runs on another (they touch disjoint state): the milter does it at end of message
  // while the last chunks of a large body are still being hashed on another core.
  void verify_header_signatures();
  void body(std::string_view chunk);
  // End of message: waits for the key lookups (deadline, cancel), verifies, and returns one
  // result per DKIM-Signature field looked at. Empty: no signature. Calling it again
  // returns the same results.
  std::vector<SignatureResult> finish();

  // DKIM-Signature fields past kMaxSignatureFields (not reported; for a log line).
  std::size_t skipped_signatures() const;
  // Header fields not kept (limits, NUL bytes, no colon, bad name, after eoh).
  std::size_t dropped_header_fields() const;

  struct Impl;

 private:
  friend class Library;
  explicit Verifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace authmilter::dkim

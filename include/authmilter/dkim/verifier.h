// authmilter::dkim::Library / Verifier — DKIM verification of every signature (RFC 6376,
// RFC 8463 Ed25519, RFC 8301 algorithm and key-size rules) on libopendkim.
//
// What: one Library per process owns the shared DKIM_LIB (libopendkim allows one library
//   handle to serve many threads, one DKIM handle per message). start_message() gives a
//   Verifier, RAII over one libopendkim verify handle, fed from the milter callbacks: header
//   fields as they arrive, end_of_headers(), body chunks (hashed as they stream, never
//   buffered whole), finish(). finish() returns one SignatureResult per DKIM-Signature field,
//   in header order (top first); an empty vector means "no signature" (dkim=none).
// DNS: libopendkim's key queries go through our dns::Resolver via its dkim_dns_set_query_*
//   hooks (wire-format replies built with dns::wire::encode_response). end_of_headers()
//   already *starts* the key lookup of every signature that will be verified, so the lookups
//   run while the body streams; finish() waits for them until the message deadline or the
//   cancel token (Resolver::await semantics). SERVFAIL/timeout/cancel → temperror;
//   NXDOMAIN/NODATA → permerror ("no key"). The AD bit of the key's answer becomes
//   libopendkim's DNSSEC status and SignatureResult::dnssec.
// Judging (RFC 8601 §2.7.1 tokens): pass; fail with comment "body hash mismatch" or
//   "signature did not verify" (also "l= exceeds body length"); policy for rsa-sha1 unless
//   VerifierOptions::allow_sha1 (RFC 8301 §3.1), for RSA keys shorter than min_key_bits
//   (RFC 8301 §3.2) and for signatures past max_signatures; temperror for DNS trouble;
//   permerror for malformed signatures (syntax, duplicate tags, missing tags, bad d=/s=/i=,
//   x= before t=, x= expired by more than libopendkim's 300 s clock drift), no key, revoked key
//   (empty p=), unusable key (bad syntax, decoding, k=, key h= not allowing the hash, key s= not
//   allowing email, t=s with a subdomain i=, several key records); neutral for a t= in the future
//   and anything else libopendkim could not process.
// Limits: max_signatures (config MaxSignatures) signatures are verified (malformed ones and
//   rsa-sha1 under policy need no lookup and do not count); at most kMaxSignatureFields
//   DKIM-Signature fields are looked at, later ones are not fed to libopendkim at all (so no
//   hostile message makes it hash the body hundreds of times) and are only counted
//   (skipped_signatures()); header fields past kMaxHeaderFields or kMaxHeaderBytes are not
//   fed (signatures covering them then fail). header.b prefixes are kMinBPrefix..kMaxBPrefix
//   characters. libopendkim reads at most 1024 characters of a key record (enough for
//   4096-bit RSA keys).
// Config keys (read by the milter, passed as VerifierOptions): MaxSignatures, DKIMAllowSHA1,
//   DKIMMinKeyBits.
// Quirks handled: libopendkim wants each header field as one "Name: value" buffer with folds
//   as CRLF+WSP; bare CR/LF in fields are turned into CRLF here (its own FIXCRLF repair of
//   header fields cuts DKIM-Signature values short). Bare LF in the body and a missing final
//   CRLF are repaired by DKIM_LIBFLAGS_FIXCRLF (RFC 6376 §3.4.3 adds that CRLF anyway). It
//   rejects the whole message when From cannot be parsed unless DKIM_LIBFLAGS_BADSIGHANDLES
//   is set, which in turn keeps malformed signatures in its list, so this module tracks
//   them itself and tells libopendkim to ignore them. It does not compare the key's k= with
//   a=, nor refuse duplicate tags; this module does (permerror). Its Ed25519 key size is
//   not reported; key_bits says 256.
// Thread-safety: Library is shared by all milter threads; a Verifier belongs to one message
//   (one thread at a time) and must not outlive its Library.
// Security: header fields, body and key records are hostile. Nothing here throws for any
//   input; NUL bytes, 8-bit bytes, huge or duplicated fields give permerror or a dropped
//   field, never a crash.
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
// Header fields (and their bytes) fed to libopendkim per message. Postfix's own limits
// (header_size_limit 100 KiB per field, ~1000 fields) are far below.
inline constexpr std::size_t kMaxHeaderFields = 1000;
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;
// header.b: at least this many characters of b= (RFC 6008 §4), more when two signatures of
// the message share a longer prefix, never more than kMaxBPrefix.
inline constexpr std::size_t kMinBPrefix = 8;
inline constexpr std::size_t kMaxBPrefix = 64;
// Ed25519 public keys are 256 bits (RFC 8032); libopendkim reports 512 (the signature size).
inline constexpr unsigned kEd25519KeyBits = 256;

struct VerifierOptions {
  std::size_t max_signatures = kDefaultMaxSignatures;  // MaxSignatures
  bool allow_sha1 = false;                             // DKIMAllowSHA1
  unsigned min_key_bits = 1024;                        // DKIMMinKeyBits (RSA only)
};

class Verifier;

class Library {
 public:
  // Throws std::runtime_error when libopendkim cannot be initialised or configured.
  Library(dns::Resolver& resolver, VerifierOptions options);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // A verifier for one message. `id` (the queue id) appears in libopendkim's own messages.
  // Key lookups wait until `deadline` or until `*cancel` is cancelled. Throws
  // std::runtime_error only when libopendkim cannot allocate a handle.
  std::unique_ptr<Verifier> start_message(std::string_view id, dns::Deadline deadline,
                                          const work::CancelToken* cancel = nullptr) const;

  const VerifierOptions& options() const;
  // Whether this libopendkim verifies ed25519-sha256 (DKIM_FEATURE_ED25519); Debian 12's
  // 2.11.0~beta2 does. Without it such signatures are permerror ("unsupported algorithm").
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
  // End of headers: libopendkim's dkim_eoh, then the key lookups start. Called by body()
  // or finish() when the caller did not.
  void end_of_headers();
  void body(std::string_view chunk);
  // End of message: waits for the key lookups (deadline, cancel), verifies, and returns one
  // result per DKIM-Signature field looked at. Empty: no signature. Calling it again
  // returns the same results.
  std::vector<SignatureResult> finish();

  // DKIM-Signature fields past kMaxSignatureFields (not reported; for a log line).
  std::size_t skipped_signatures() const;
  // Header fields not fed to libopendkim (limits, NUL bytes, no colon, after eoh).
  std::size_t dropped_header_fields() const;

  struct Impl;

 private:
  friend class Library;
  explicit Verifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace authmilter::dkim

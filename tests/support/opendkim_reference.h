// authmilter::test_support::opendkim — the libopendkim reference verifier (tests only).
//
// Why it exists: the daemon verifies DKIM with its own code on OpenSSL (src/dkim, issue 15:
//   libopendkim's per-byte body canonicalization was most of the CPU on large messages). This
//   is the verifier the daemon had before, on libopendkim 2.11 (main b4818e1: the libopendkim
//   calls, its DNS hooks over dns::Resolver, and the corrections made around it), kept as the
//   reference that tests/unit/dkim_differential_test.cc and the dkim_differential fuzz target
//   hold our verifier to: same message, same zone, same options, the same result per
//   signature. It is never linked into the daemon (docs/dependencies.md).
// API: the one of dkim::Library / dkim::Verifier (dkim/verifier.h) under other names, with
//   the same results type (dkim::SignatureResult) and options (dkim::VerifierOptions), so a
//   test feeds both alike. What it reports (RFC 6376, RFC 8463, RFC 8301; RFC 8601 §2.7.1
//   tokens): pass; fail "body hash mismatch" / "signature did not verify" / "l= exceeds body
//   length"; policy for rsa-sha1 unless allow_sha1, RSA keys under min_key_bits and
//   signatures past max_signatures; temperror for DNS trouble; permerror for malformed
//   signatures, no key, revoked or unusable keys, k= not matching a=, duplicate tags, x=
//   expired by more than libopendkim's 300 s drift; neutral for t= in the future.
// Limits: as the old verifier: kMaxSignatureFields signature fields, kMaxHeaderFields /
//   kMaxHeaderBytes of header, libopendkim reads at most 1024 characters of a key record.
// Quirks: libopendkim wants each header field as one "Name: value" buffer with CRLF folds;
//   bare CR/LF in fields become CRLF here; DKIM_LIBFLAGS_FIXCRLF repairs the body.
// Thread-safety: a ReferenceLibrary may serve several threads; a ReferenceVerifier belongs to
//   one message and must not outlive its library.
// Security: inputs are hostile (fuzzed); nothing throws for any message or key record.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "authmilter/dkim/dkim.h"
#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/header.h"

namespace authmilter::test_support::opendkim {

// The old verifier's limits (dkim/verifier.h at main b4818e1), fixed here so the reference
// does not move when ours does.
inline constexpr std::size_t kMaxSignatureFields = 50;
inline constexpr std::size_t kMaxHeaderFields = 1000;
inline constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;
inline constexpr std::size_t kMinBPrefix = 8;
inline constexpr std::size_t kMaxBPrefix = 64;
inline constexpr unsigned kEd25519KeyBits = 256;

class ReferenceVerifier;

class ReferenceLibrary {
 public:
  // Throws std::runtime_error when libopendkim cannot be initialised or configured.
  ReferenceLibrary(dns::Resolver& resolver, dkim::VerifierOptions options);
  ~ReferenceLibrary();
  ReferenceLibrary(const ReferenceLibrary&) = delete;
  ReferenceLibrary& operator=(const ReferenceLibrary&) = delete;

  std::unique_ptr<ReferenceVerifier> start_message(std::string_view id, dns::Deadline deadline,
                                                   const work::CancelToken* cancel = nullptr) const;

  const dkim::VerifierOptions& options() const;
  // Whether this libopendkim verifies ed25519-sha256 (Debian 12's 2.11.0~beta2 does).
  bool supports_ed25519() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class ReferenceVerifier {
 public:
  ~ReferenceVerifier();
  ReferenceVerifier(const ReferenceVerifier&) = delete;
  ReferenceVerifier& operator=(const ReferenceVerifier&) = delete;

  void header(const mail::HeaderField& field);  // "name:raw_value"
  void header_field(std::string_view field);    // the whole field, no final CRLF
  void end_of_headers();
  void body(std::string_view chunk);
  std::vector<dkim::SignatureResult> finish();  // repeatable

  std::size_t skipped_signatures() const;
  std::size_t dropped_header_fields() const;

  struct Impl;

 private:
  friend class ReferenceLibrary;
  explicit ReferenceVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace authmilter::test_support::opendkim

// authmilter::dkim signature engine — key records, key lookups through our Resolver and
// rsa-sha256 signatures on OpenSSL EVP (RFC 6376 §3.3, §3.6.1; RFC 8301), shared by ARC's
// AMS and AS (RFC 8617 §5.1) and meant for DKIM once it moves off libopendkim (issue 15).
//
// Key records (RFC 6376 §3.6.1): v= (DKIM1 if present), k= (rsa only here), h= (must allow
//   sha256 if present), s= (email or *), t= (y: testing), p= (empty: revoked; base64
//   SubjectPublicKeyInfo, or a PKCS#1 RSAPublicKey as some publishers use). RSA keys shorter
//   than the minimum (DKIMMinKeyBits, RFC 8301 §3.2) are refused.
// KeyLookups: per message; start() asks "<s>._domainkey.<d>" TXT at end of headers (names
//   that are not LDH-plus-underscore labels are refused without a query), get() waits for
//   the answer until the message deadline or cancel and parses it once. SERVFAIL, timeout,
//   cancel: kTempError; NXDOMAIN, NODATA, several records: kPermError ("no key").
// Signatures: RSASSA-PKCS1-v1_5 with SHA-256 over the canonical data (OpenSSL computes the
//   digest), verify and sign; PKCS#1 v1.5 is deterministic, so signing vectors compare byte
//   for byte.
// Limits: kMaxKeyRecordBytes of key record text; kMaxKeyLookups distinct keys per message.
// Security: records and signatures are hostile; nothing here throws for any input (only
//   std::bad_alloc). Private keys (ARCKeyFile) are read once at start-up.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"

namespace authmilter::dkim {

inline constexpr std::size_t kMaxKeyRecordBytes = 4096;
inline constexpr std::size_t kMaxKeyLookups = 64;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

enum class KeyStatus { kOk, kTempError, kPermError };

struct PublicKey {
  KeyStatus status = KeyStatus::kPermError;
  std::shared_ptr<EVP_PKEY> key;  // set when kOk
  unsigned bits = 0;
  bool testing = false;  // t=y
  std::string error;     // why not kOk: "no key", "key revoked", "key too short (512 bits)"
};

// Parses one key record text for an rsa-sha256 signature.
PublicKey parse_key_record(std::string_view text, unsigned min_key_bits);

class KeyLookups {
 public:
  KeyLookups(dns::Resolver& resolver, unsigned min_key_bits, dns::Deadline deadline,
             const work::CancelToken* cancel);
  // Starts the lookup (once per key name). Returns false for an invalid selector/domain.
  bool start(std::string_view selector, std::string_view domain);
  // Waits for and parses the key (starting the lookup if start() was not called).
  const PublicKey& get(std::string_view selector, std::string_view domain);

 private:
  dns::Resolver& resolver_;
  unsigned min_key_bits_;
  dns::Deadline deadline_;
  const work::CancelToken* cancel_;
  std::map<std::string, dns::PendingAnswer> started_;
  std::map<std::string, PublicKey> keys_;
  PublicKey invalid_name_;
};

// RSASSA-PKCS1-v1_5 SHA-256 of `data` checked against `signature` (raw bytes).
bool verify_rsa_sha256(EVP_PKEY* key, std::string_view data, std::string_view signature);
// The signature (raw bytes); nullopt when OpenSSL fails.
std::optional<std::string> sign_rsa_sha256(EVP_PKEY* key, std::string_view data);

// An RSA private key from PEM text (PKCS#8 or PKCS#1); nullptr when it is not one.
Pkey rsa_private_key_from_pem(std::string_view pem);

}  // namespace authmilter::dkim

// authmilter::dkim signature engine — key records, key lookups through our Resolver and
// signatures on OpenSSL EVP (RFC 6376 §3.3, §3.6.1; RFC 8301; RFC 8463), shared by DKIM
// (verifier.h) and ARC's AMS and AS (RFC 8617 §5.1).
//
// Key records (RFC 6376 §3.6.1): v= (DKIM1 if present), k= (rsa, ed25519; absent: rsa),
//   h= (must allow the signature's hash if present), s= (email or *), t= (y: testing,
//   s: no subdomain i=), p= (empty: revoked; RSA: base64 SubjectPublicKeyInfo, or a PKCS#1
//   RSAPublicKey as some publishers use; Ed25519: the raw 32-byte key, RFC 8463 §4.2).
//   parse_dkim_key() reads every tag for one signature algorithm and says what is wrong in
//   words; parse_key_record() is the ARC (rsa-sha256 only) form, refusing RSA keys shorter
//   than the minimum (DKIMMinKeyBits, RFC 8301 §3.2). DKIM judges short keys itself (policy).
// KeyLookups: per message; start() asks "<s>._domainkey.<d>" TXT at end of headers (names
//   that are not LDH-plus-underscore labels are refused without a query), record()/get()
//   wait for the answer until the message deadline or cancel, once per name. SERVFAIL,
//   timeout, cancel: kTempError; NXDOMAIN, NODATA: kPermError ("no key"); several records:
//   kPermError. The AD bit of the answer is kept (KeyRecord::authenticated).
// Signatures: RSASSA-PKCS1-v1_5 with SHA-256 (or SHA-1, RFC 8301 when allowed) over the
//   canonical data (OpenSSL computes the digest); Ed25519 (PureEdDSA) over the SHA-256 of the
//   data (RFC 8463 §3). Verify and (rsa-sha256) sign; PKCS#1 v1.5 is deterministic, so
//   signing vectors compare byte for byte.
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

// Signature algorithms of the a= tag (RFC 6376 §3.3, RFC 8463).
enum class SignatureAlgorithm { kRsaSha256, kRsaSha1, kEd25519Sha256 };
std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view a_tag);
// The body/header hash of an algorithm: EVP_sha256() or EVP_sha1().
const EVP_MD* hash_of(SignatureAlgorithm algorithm);

// A key record parsed for a DKIM signature of `algorithm`. kOk keys have `key` and `bits`
// (RSA modulus size; 256 for Ed25519); short RSA keys are kOk (the verifier's policy).
// t=s sets `strict_identity`. `error` texts: "key record syntax error", "unknown key
// version", "unknown key type", "key type does not match the algorithm", "key h= does not
// allow the signature's hash", "key s= does not allow email", "key revoked", "key could not
// be decoded", "key record too long".
struct DkimKey {
  KeyStatus status = KeyStatus::kPermError;
  std::shared_ptr<EVP_PKEY> key;
  unsigned bits = 0;
  bool testing = false;          // t=y
  bool strict_identity = false;  // t=s
  std::string error;
};
DkimKey parse_dkim_key(std::string_view text, SignatureAlgorithm algorithm);

// One fetched key record: kOk with its text, or why not.
struct KeyRecord {
  KeyStatus status = KeyStatus::kPermError;
  std::string text;
  bool authenticated = false;  // the answer carried the AD bit (DNSSEC-validated upstream)
  std::string error;           // "no key", "several key records", the DNS failure text
};

// "<selector>._domainkey.<domain>" normalized (lower case, no trailing dot).
std::string key_name(std::string_view selector, std::string_view domain);
// Labels of letters, digits, '-' or '_' within the domain-name limits (RFC 1035 §2.3.4),
// optionally one root dot: names we query. Anything else is refused without a query.
bool valid_key_name(std::string_view name);

class KeyLookups {
 public:
  KeyLookups(dns::Resolver& resolver, unsigned min_key_bits, dns::Deadline deadline,
             const work::CancelToken* cancel);
  // Starts the lookup (once per key name). Returns false for an invalid selector/domain.
  bool start(std::string_view selector, std::string_view domain);
  // Waits for the record (starting the lookup if start() was not called).
  const KeyRecord& record(std::string_view selector, std::string_view domain);
  // Waits for and parses the key for rsa-sha256 (ARC).
  const PublicKey& get(std::string_view selector, std::string_view domain);

 private:
  dns::Resolver& resolver_;
  unsigned min_key_bits_;
  dns::Deadline deadline_;
  const work::CancelToken* cancel_;
  std::map<std::string, dns::PendingAnswer> started_;
  std::map<std::string, KeyRecord> records_;
  std::map<std::string, PublicKey> keys_;
  PublicKey invalid_name_;
  KeyRecord invalid_record_;
};

// RSASSA-PKCS1-v1_5 SHA-256 of `data` checked against `signature` (raw bytes).
bool verify_rsa_sha256(EVP_PKEY* key, std::string_view data, std::string_view signature);
// `signature` (raw bytes) of `data` under `algorithm` (RSA: PKCS#1 v1.5 with the hash;
// Ed25519: PureEdDSA over SHA-256(data)). False for a key of the wrong type.
bool verify_signature(EVP_PKEY* key, SignatureAlgorithm algorithm, std::string_view data,
                      std::string_view signature);
// The signature (raw bytes); nullopt when OpenSSL fails.
std::optional<std::string> sign_rsa_sha256(EVP_PKEY* key, std::string_view data);

// An RSA private key from PEM text (PKCS#8 or PKCS#1); nullptr when it is not one.
Pkey rsa_private_key_from_pem(std::string_view pem);

}  // namespace authmilter::dkim

// authmilter::mail — Bounce Address Tag Validation, "prvs" scheme (draft-levine-smtp-batv-01
// §4, simple private signature), against backscatter.
//
// What: batv_sign() turns an envelope sender local@domain into
//     prvs=KDDDSSSSSS=local@domain
//   K       key number, always '0' (one key; a tag with another digit is not ours);
//   DDD     expiry day: (days since 1970-01-01 UTC + kBatvValidityDays) modulo 1000, 3 digits;
//   SSSSSS  the first 3 bytes of HMAC-SHA1(key, hash-source), 6 hex digits (written lower
//           case); hash-source = K DDD local "@" domain, as in the draft (batv-tools does the
//           same), except that the domain is lower-cased (ASCII) first: domains are
//           case-insensitive and MTAs rewrite their case, local parts are case-sensitive
//           (RFC 5321 §2.4) and are hashed as written.
//   batv_verify() checks a recipient (of a bounce) against the key: kValid while the expiry
//   day is today or up to kBatvValidityDays days ahead, counted modulo 1000 (so the 999→000
//   wrap is seamless, and a tag issued 1000 days ago looks current again: an inherent limit
//   of the 3-digit day, the signature still has to match). A tag issued on day D verifies
//   on days D..D+7 and is kExpired from D+8. The signature is checked before the date
//   (so kExpired means "ours, but old") and compared with CRYPTO_memcmp (constant time).
//   The "prvs=" prefix and the hex digits are accepted in any case.
// Input: a bare address (mail::envelope_address() output: no angle brackets, no ESMTP
//   parameters). batv_sign() returns the address unchanged when it cannot be tagged safely:
//   empty (the null sender of a bounce), no '@', more than one '@', empty local part or
//   domain, a quoted local part, a byte <= 0x20 or DEL, or a result longer than
//   kMaxBatvLocalPartLength / kMaxBatvAddressLength. A well-formed tagged address is
//   re-tagged from its original (never double-tagged).
// Key file (BATVKeyFile, loaded by BatvKey::load_file()): a regular file of at most
//   kMaxBatvKeyFileSize bytes, readable and writable by its owner only (no group/other read
//   or write bit, like an ssh private key); its bytes, without trailing CR/LF, are the
//   secret, at least kMinBatvSecretLength of them (`openssl rand -hex 32 > batv.key` works).
//   Opened with O_NOFOLLOW|O_CLOEXEC and checked with fstat() on the open descriptor.
// Security: the secret is wiped (OPENSSL_cleanse) when a BatvKey is destroyed. All input is
//   hostile: NUL, 8-bit, megabytes and truncated tags never crash and give kMalformed or
//   kNotTagged. Only BatvStatus::kValid means "a bounce to an address we signed".
// Config keys: BATVKeyFile, BATVFail (wired by the milter).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace authmilter::mail {

inline constexpr int kBatvValidityDays = 7;
// Shorter secrets are refused: HMAC-SHA1 with fewer than 128 bits of key is guessable offline
// from one tagged address.
inline constexpr std::size_t kMinBatvSecretLength = 16;
// A key file is a few dozen bytes; anything bigger is a mistake (wrong file), not a key.
inline constexpr std::size_t kMaxBatvKeyFileSize = 4096;
// RFC 5321 §4.5.3.1.1 (local part) and §4.5.3.1.3 (path of 256 octets with its brackets).
inline constexpr std::size_t kMaxBatvLocalPartLength = 64;
inline constexpr std::size_t kMaxBatvAddressLength = 254;
// "prvs=" + K DDD SSSSSS + "=".
inline constexpr std::size_t kBatvTagLength = 16;

class BatvKey {
 public:
  // Throws std::runtime_error naming the path: missing, not a regular file, a symlink,
  // unreadable, group/world-readable or -writable, larger than kMaxBatvKeyFileSize, or fewer
  // than kMinBatvSecretLength bytes of secret.
  static BatvKey load_file(const std::string& path);
  // Throws std::invalid_argument when secret.size() < kMinBatvSecretLength.
  explicit BatvKey(std::string secret);
  // Copies and moves are plain values; the bytes a key leaves behind are wiped. (Secrets are
  // longer than std::string's in-object buffer, so a move hands over the heap block.)
  ~BatvKey();
  BatvKey(const BatvKey&) = default;
  BatvKey& operator=(const BatvKey& other);
  BatvKey(BatvKey&&) noexcept = default;
  BatvKey& operator=(BatvKey&& other) noexcept;

  // HMAC-SHA1(secret, message).
  std::array<unsigned char, 20> hmac_sha1(std::string_view message) const;

 private:
  void wipe() noexcept;

  std::string secret_;
};

// The tagged address, or `address` unchanged when it cannot be tagged (see above).
std::string batv_sign(std::string_view address, const BatvKey& key, std::int64_t unix_now);

enum class BatvStatus { kValid, kNotTagged, kExpired, kBadSignature, kMalformed };

// "valid", "not-tagged", "expired", "bad-signature", "malformed" (for logs and A-R comments).
std::string_view to_string(BatvStatus status);

struct BatvCheck {
  BatvStatus status = BatvStatus::kNotTagged;
  // Tagged (well-formed): the address without the tag, as written. kNotTagged: the input.
  // kMalformed: empty.
  std::string original;
};

// kNotTagged when the local part does not start with "prvs=" (any case); kMalformed when it
// does but the tag or the address after it is not well-formed (or too long); kBadSignature
// for a wrong signature or a key number other than 0; kExpired; kValid.
BatvCheck batv_verify(std::string_view address, const BatvKey& key, std::int64_t unix_now);

// True when `address` has the shape of a prvs-tagged address ("prvs=" K DDD SSSSSS "="
// local "@" domain with the digits in place); says nothing about the signature.
bool is_batv_tagged(std::string_view address);

}  // namespace authmilter::mail

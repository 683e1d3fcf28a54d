// authmilter::dkim canonicalization — the one header and body canonicalizer of the OpenSSL
// signature engine (RFC 6376 §3.4), shared by ARC's AMS and AS (RFC 8617 §5.1) and meant
// for DKIM once it moves off libopendkim.
//
// Header fields (§3.4.1, §3.4.2): simple keeps the field as it came (bare LF line ends become
//   CRLF); relaxed lower-cases the name, unfolds, turns WSP runs into one SP and trims the
//   value. Signed-field selection (§5.4.2): each name in h= takes the next unused instance
//   counting from the bottom; a name with no instance left is skipped (contributes nothing).
// Body (§3.4.3, §3.4.4): BodyHasher streams chunks straight into an EVP digest through a
//   fixed buffer (no per-byte string appends, the body is never kept); CRLF and bare LF end a
//   line, trailing empty lines are held back and dropped at the end, relaxed also drops
//   end-of-line WSP and reduces WSP runs to one SP. Simple gives CRLF for an empty body.
// b= removal (§3.5 "b="): the signature field's own value with the b= tag's value emptied,
//   every other byte kept, for the hash of the signature field itself.
// Limits: none of its own; callers bound the number of fields and bytes.
// Security: all input is hostile; linear, never throws except std::bad_alloc.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/mail/header.h"

namespace authmilter::dkim {

enum class Canonicalization { kSimple, kRelaxed };

struct CanonicalizationPair {
  Canonicalization header = Canonicalization::kSimple;
  Canonicalization body = Canonicalization::kSimple;
};

// The c= tag: "relaxed/simple", "relaxed" (body simple), absent = simple/simple.
std::optional<CanonicalizationPair> parse_canonicalization(std::string_view value);

// Appends "name:value\r\n" in canonical form.
void append_canonical_header(std::string& out, Canonicalization canon, std::string_view name,
                             std::string_view raw_value);

// The fields that h= (colon-separated names) selects, in h= order (RFC 6376 §5.4.2).
std::vector<const mail::HeaderField*> select_signed_fields(
    std::span<const mail::HeaderField> headers, std::string_view h_tag);

// `raw_value` of a signature field with the value of its b= tag removed (the rest kept).
std::string without_b_value(std::string_view raw_value);

// What a DKIM-style signature field (DKIM-Signature, ARC-Message-Signature) signs
// (RFC 6376 §3.7): the fields h= selects, then `signature` itself with b= emptied and without
// its final CRLF, all in `canon`.
std::string signed_header_data(std::span<const mail::HeaderField> headers, std::string_view h_tag,
                               Canonicalization canon, const mail::HeaderField& signature);

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

class BodyHasher {
 public:
  // SHA-256 (the only body hash ARC uses). Throws std::runtime_error if OpenSSL cannot
  // set up the digest.
  explicit BodyHasher(Canonicalization canon);
  void update(std::string_view chunk);
  // The raw digest; further updates are ignored, a second call returns the same digest.
  const std::string& finish();
  Canonicalization canonicalization() const { return canon_; }
  std::uint64_t canonical_length() const { return length_; }

 private:
  void byte(char c);
  void content(char c);
  void end_line();
  void emit(char c) {
    buffer_[used_++] = c;
    if (used_ == buffer_.size()) flush();
  }
  void flush();

  Canonicalization canon_;
  DigestContext ctx_;
  std::array<char, 4096> buffer_{};
  std::size_t used_ = 0;
  std::size_t held_empty_lines_ = 0;
  bool pending_wsp_ = false;
  bool pending_cr_ = false;
  bool line_has_content_ = false;
  bool any_output_ = false;
  std::uint64_t length_ = 0;
  bool finished_ = false;
  std::string digest_;
};

// Base64 (RFC 4648 §4). decode ignores whitespace (RFC 6376 b=, bh=, p=) and refuses
// anything else that is not base64.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace authmilter::dkim

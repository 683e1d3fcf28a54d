// authmilter::dkim canonicalization — the one header and body canonicalizer of the OpenSSL
// signature engine (RFC 6376 §3.4), shared by DKIM (verifier.h) and ARC's AMS and AS
// (RFC 8617 §5.1).
//
// Header fields (§3.4.1, §3.4.2): simple keeps the field as it came (bare LF line ends become
//   CRLF); relaxed lower-cases the name, unfolds, turns WSP runs into one SP and trims the
//   value. Signed-field selection (§5.4.2): each name in h= takes the next unused instance
//   counting from the bottom; a name with no instance left is skipped (contributes nothing).
// Body (§3.4.3, §3.4.4, l= of §3.5): BodyHasher streams chunks into an EVP digest (SHA-256,
//   or SHA-1 for rsa-sha1) at memory speed: no per-byte appends and no copy; the spans of a
//   chunk that need no change are hashed where they lie, one EVP update per run (runs under
//   256 bytes and the replacements go through a 4 KiB staging buffer instead). Simple
//   hashes a chunk without bare LF whole (else finds line ends with memchr); relaxed
//   compacts 64-byte blocks of plain text (bytes >= SP, HTAB, CRLF) with AVX-512 VBMI2 where
//   the CPU has it (run-time check), else finds the bytes that matter (control bytes, an SP
//   followed by WSP/CR/LF) 16 at a time with SSE2 (a scalar loop elsewhere). CRLF and bare LF
//   end a line (bare LF as CRLF: Postfix may hand LF over); trailing line ends are counted,
//   not stored, and dropped at the end; relaxed drops end-of-line WSP and reduces WSP runs to
//   one SP. Simple gives CRLF for an empty body, relaxed nothing. Chunk boundaries may fall
//   anywhere (between CR and LF, inside WSP runs): the state between chunks is three flags
//   and a count. With l= only the first l canonical bytes are hashed and scanning stops there.
// b= removal (§3.5 "b="): the signature field's own value with the b= tag's value emptied,
//   every other byte kept, for the hash of the signature field itself.
// Limits: none of its own; callers bound the number of fields and bytes.
// Security: all input is hostile; linear, never throws except std::bad_alloc.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
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
  // No l=: the whole canonical body is hashed.
  static constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

  // `digest`: EVP_sha256() (DKIM, ARC) or EVP_sha1() (rsa-sha1 when allowed). `limit`: the
  // l= tag, hash only the first `limit` canonical bytes. Throws std::runtime_error if OpenSSL
  // cannot set up the digest.
  explicit BodyHasher(Canonicalization canon, const EVP_MD* digest = EVP_sha256(),
                      std::uint64_t limit = kNoLimit);
  void update(std::string_view chunk);
  // The raw digest; further updates are ignored, a second call returns the same digest.
  const std::string& finish();
  Canonicalization canonicalization() const { return canon_; }
  const EVP_MD* digest_type() const { return md_; }
  std::uint64_t limit() const { return limit_; }
  // Canonical bytes seen so far (after finish(): the canonical body length). With a limit,
  // counting stops once the limit is reached, so it is min(length, more than limit).
  std::uint64_t canonical_length() const { return length_; }

 private:
  void update_simple(const char* data, std::size_t size, std::size_t pos);
  void update_relaxed(const char* data, std::size_t size, std::size_t pos);
  // Relaxed by 64-byte block compaction where the CPU can (AVX-512 VBMI2); returns where it
  // stopped (`pos` if it cannot run). Needs an empty run, nothing pending and no l= limit.
  std::size_t update_relaxed_blocks(const char* data, std::size_t size, std::size_t pos);
  // Hot path inline: a short piece into the staging buffer.
  void out(const char* data, std::size_t size) {
    if (size < kDirectRun && staged_ + size <= stage_.size() && limit_ - length_ >= size) {
      std::memcpy(stage_.data() + staged_, data, size);
      staged_ += size;
      length_ += size;
      return;
    }
    out_slow(data, size);
  }
  void out_slow(const char* data, std::size_t size);
  void flush_stage();
  void out_line_ends(std::size_t count);
  // Content ends at `end` of the current run: what was held back is real now.
  void confirm(std::size_t end) {
    if (held_line_ends_ != 0 || pending_wsp_) release_held();
    confirmed_ = end;
    any_content_ = true;
  }
  // Only called while the run holds no confirmed bytes, so these come first in the output;
  // the run's own tentative CRLFs are the same bytes, their order does not matter.
  void release_held() {
    if (held_line_ends_ != 0) out_line_ends(static_cast<std::size_t>(held_line_ends_));
    held_line_ends_ = 0;
    if (pending_wsp_) {
      out(" ", 1);
      pending_wsp_ = false;
    }
  }
  // Hashes the confirmed part of the run; its tentative line ends become held ones.
  void flush_run(const char* data, std::size_t cur);

  Canonicalization canon_;
  const EVP_MD* md_;
  std::uint64_t limit_;
  DigestContext ctx_;
  // Output pieces shorter than kDirectRun are gathered here before the digest sees them.
  static constexpr std::size_t kDirectRun = 256;
  std::array<char, 4096> stage_{};
  std::size_t staged_ = 0;
  // The run: bytes [run_begin_, confirmed_) of the current chunk are output as they are (not
  // yet hashed); [confirmed_, cur) are CRLF pairs that are output only if content follows.
  std::size_t run_begin_ = 0;
  std::size_t confirmed_ = 0;
  std::uint64_t held_line_ends_ = 0;  // CRLFs owed before the next content (not in the run)
  bool pending_wsp_ = false;          // relaxed: a WSP run owed as one SP if content follows
  bool pending_cr_ = false;           // the last chunk ended in CR: CRLF or content?
  bool any_content_ = false;
  std::uint64_t length_ = 0;
  bool finished_ = false;
  std::string digest_;
};

// Base64 (RFC 4648 §4). decode ignores whitespace (RFC 6376 b=, bh=, p=) and refuses
// anything else that is not base64.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace authmilter::dkim

// authmilter::dkim — DKIM verification results (RFC 6376, RFC 8463) shared with DMARC.
//
// This header is the contract between the dkim module (verification on our OpenSSL engine) and its
// readers (DMARC alignment, the A-R writer, policy). The verifier itself lives in
// dkim/verifier.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace authmilter::dkim {

// RFC 8601 §2.7.1 dkim results.
enum class Result { kNone, kPass, kFail, kNeutral, kPolicy, kTempError, kPermError };
std::string_view to_token(Result result);

struct SignatureResult {
  Result result = Result::kNone;
  std::string domain;     // d= (lower-cased)
  std::string identity;   // i= (empty when absent)
  std::string selector;   // s=
  std::string algorithm;  // a=, e.g. "rsa-sha256", "ed25519-sha256"
  std::string b_prefix;   // enough leading characters of b= to tell signatures apart (>= 8)
  std::string comment;    // why: "body hash mismatch", "key too short (512 bits)", ...
  unsigned key_bits = 0;  // 0 when no key was obtained
  bool dnssec = false;    // the key's TXT answer carried the AD bit
  bool test_key = false;  // the key record says t=y (RFC 6376 §3.6.1: signer is testing)
};

// header.b (RFC 6008 §4): for each signature's b= value (nullptr: no b= tag), enough of its
// leading base64 characters to tell it from the message's other signatures: at least
// `min_length`, at most `max_length`. Used by the verifier and the tests' libopendkim reference.
std::vector<std::string> header_b_prefixes(const std::vector<const std::string*>& b_values,
                                           std::size_t min_length, std::size_t max_length);

}  // namespace authmilter::dkim

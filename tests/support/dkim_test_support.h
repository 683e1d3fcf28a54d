// Test support (authmilter_test_support) for DKIM: an independent DKIM signer (RFC 6376 §3.4
// canonicalization, §3.5 tags, §3.7 hashes; RFC 8463 Ed25519) written on OpenSSL, key
// generation, message parsing and feeding a Verifier the way the milter does. Used by the
// unit and conformance tests and by the benchmarks.
//
// The signer is deliberately separate from libopendkim, so a canonicalization mistake on one
// side cannot cancel out on the other; tests/unit/dkim_support_test.cc checks it against the
// RFC 8463 Appendix A vectors byte for byte.
// Security: test keys only; nothing here is linked into the daemon.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/resolver.h"
#include "test_data.h"

namespace authmilter::dkim {

// Readable gtest output for results.
inline std::ostream& operator<<(std::ostream& out, Result result) {
  return out << to_token(result);
}

}  // namespace authmilter::dkim

namespace authmilter::dkim::testing {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

Key generate_rsa(unsigned bits);
Key generate_ed25519();
Key ed25519_from_seed(std::string_view seed);  // 32 raw bytes
Key private_key_from_pem(std::string_view pem);

std::string base64(std::string_view data);
std::string unbase64(std::string_view text);            // throws on bad input
std::string without_whitespace(std::string_view text);  // drops SP, HTAB, CR and LF

// The p= value: SubjectPublicKeyInfo DER for RSA, the 32 raw bytes for Ed25519 (RFC 8463 §4.2).
std::string public_key_base64(EVP_PKEY* key);
// "v=DKIM1; k=rsa; p=..." (or k=ed25519) with `extra` tags ("t=s; ") before p=.
std::string key_record(EVP_PKEY* key, std::string_view extra = "");
// A TXT record's text cut into 255-octet character-strings (RFC 1035 §3.3.14), as a zone
// carries a long key record.
std::vector<std::string> txt_strings(std::string_view record);

struct Message {
  std::vector<std::string> fields;  // whole header fields, folds kept as CRLF+WSP, no final CRLF
  std::string body;                 // CRLF lines
  std::string text() const;         // the whole message, CRLF line ends
};
// Parses CRLF or LF text (LF is turned into CRLF).
Message parse_message(std::string_view text);
using test_support::read_file;

// RFC 6376 §3.4 canonicalization.
std::string canon_header(std::string_view field, bool relaxed);  // with final CRLF
std::string canon_body(std::string_view body, bool relaxed);

struct SignSpec {
  std::string algorithm = "rsa-sha256";
  std::string canonicalization = "relaxed/relaxed";
  std::string domain = "example.org";
  std::string selector = "sel";
  std::vector<std::string> headers = {"From", "To", "Subject", "Date", "Message-ID"};
  std::optional<std::string> identity;
  std::optional<std::size_t> body_length;   // l=
  std::optional<std::uint64_t> timestamp;   // t=
  std::optional<std::uint64_t> expiration;  // x=
  std::string extra_tags;                   // written verbatim before h=, e.g. "q=dns/txt; "
};

// The complete DKIM-Signature field (no final CRLF) for `message`.
std::string sign(const Message& message, const SignSpec& spec, EVP_PKEY* key);
// Signs with a ready field text that ends in "b=" (folding and tag order kept), selecting
// `headers` as h= does. Returns the field with the signature appended.
std::string sign_template(const Message& message, std::string_view field_template,
                          const std::vector<std::string>& headers, std::string_view algorithm,
                          std::string_view canonicalization, EVP_PKEY* key);
// base64 of the body hash (bh=).
std::string body_hash(std::string_view body, bool relaxed, std::string_view algorithm,
                      std::optional<std::size_t> length = std::nullopt);

// A message with `signature` fields prepended (first element ends up on top).
Message with_signatures(const Message& message, const std::vector<std::string>& signatures);

enum class Feed {
  kMilter,  // header(name, value without leading whitespace)
  kRaw,     // header_field(field)
};
// Feeds `message` and returns finish(). chunk == 0: the body in one piece.
std::vector<SignatureResult> verify(Verifier& verifier, const Message& message,
                                    Feed feed = Feed::kMilter, std::size_t chunk = 0);

// One line of Mail::DKIM's FAKE_DNS.dat (tests/data/dkim-mail-dkim): "name<WS>rdata", where
// rdata is a TXT record's text, "" (an empty record), NXDOMAIN, ~~Query timed out~~ or
// ~~SERVFAIL~~. Comments (#, ;) and empty lines are skipped.
struct FakeDnsEntry {
  std::string name;
  std::optional<dns::Status> error;  // set for NXDOMAIN, timeout, SERVFAIL
  std::string txt;                   // otherwise: the record's text
};
std::vector<FakeDnsEntry> read_fake_dns(const std::string& path);

// A plain test message (From/To/Subject/Date/Message-ID and a few body lines).
Message sample_message();

// Keys generated once per test binary (RSA key generation is slow).
struct Keys {
  Key rsa1024;
  Key rsa2048;
  Key rsa512;
  Key ed25519;
  Key other_rsa1024;  // not published anywhere: signatures with it fail
};
const Keys& keys();

}  // namespace authmilter::dkim::testing

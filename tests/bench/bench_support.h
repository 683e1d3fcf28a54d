// Benchmark support: fixed test keys, a small DKIM signer on OpenSSL, typical messages and
// the in-memory zone every benchmark resolves against.
//
// What: everything the benchmarks need to run the daemon's engines on repeatable input. The
//   keys are fixed (generated once for this file, never used anywhere else), so RSA PKCS#1
//   v1.5 and Ed25519 signatures, and with them the callgrind instruction counts, are the same
//   on every run. The signer follows RFC 6376 §3.4.2/§3.4.4 (relaxed/relaxed), §3.5 and §3.7,
//   and RFC 8463 §3 for ed25519-sha256, as tests/unit/dkim_test_support.h does; it is kept
//   apart from the unit tests on purpose (benchmarks never include test files).
// LoopbackDnsServer (serving that zone to CaresResolver and the daemon) is in tests/support.
// Limits: messages are built in memory; body sizes are what the caller asks for.
// Security: test keys only; nothing here is linked into the daemon.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "loopback_dns_server.h"

namespace authmilter::bench {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// The fixed benchmark keys (throw std::runtime_error if OpenSSL cannot read them).
Key rsa2048_key();
Key ed25519_key();

// "v=DKIM1; k=rsa; p=..." (k=ed25519 for Ed25519 keys, RFC 8463 §4.2).
std::string key_record(EVP_PKEY* key);
// A TXT record's text cut into 255-octet character-strings, as a zone file carries it.
std::vector<std::string> as_strings(const std::string& record);

struct Message {
  std::vector<std::string> fields;  // whole header fields, folds as CRLF+WSP, no final CRLF
  std::string body;                 // CRLF lines
  std::string text() const;         // the whole message, CRLF line ends
};

// A plain message from alice@example.org with a body of about `body_bytes` octets of text
// lines (78 characters or fewer, some with runs of white space for relaxed canonicalization).
Message typical_message(std::size_t body_bytes);

// The DKIM-Signature field (relaxed/relaxed, h=from:to:subject:date:message-id) for `message`
// by d=`domain` s=`selector`; `algorithm` is "rsa-sha256" or "ed25519-sha256".
std::string dkim_sign(const Message& message, std::string_view algorithm, std::string_view domain,
                      std::string_view selector, EVP_PKEY* key);

// `message` with `signature` fields on top (first element topmost).
Message with_signatures(const Message& message, const std::vector<std::string>& signatures);

// Selectors under example.org in bench_zone(): rsa2048 and ed25519.
inline constexpr std::string_view kDomain = "example.org";
inline constexpr std::string_view kRsaSelector = "rsa2048";
inline constexpr std::string_view kEdSelector = "ed25519";
// The client that example.org's SPF record lists.
inline constexpr std::string_view kClientIp = "192.0.2.10";
inline constexpr std::string_view kHelo = "mail.example.org";

// Loads the zone of every benchmark into `zone`: SPF records (simple pass, include chain of
// depth 3, ten a: mechanisms, ten mx: mechanisms of ten hosts each), DMARC records and the
// two DKIM keys.
void load_bench_zone(dns::ZoneResolver& zone);

// The public suffix list: the pinned snapshot in tests/data/dmarc-mail-dmarc (2025-08-01), so
// organizational-domain lookups cost the same on every machine.
std::string public_suffix_list_path();

// The loopback DNS responder now lives in tests/support.
using test_support::LoopbackDnsServer;

}  // namespace authmilter::bench

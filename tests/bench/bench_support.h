// Benchmark support: fixed test keys, typical messages and the in-memory zone every benchmark
// resolves against; the DKIM signer and the loopback DNS server come from tests/support.
//
// What: everything the benchmarks need to run the daemon's engines on repeatable input. The
//   keys are fixed (generated once for this file, never used anywhere else), so RSA PKCS#1
//   v1.5 and Ed25519 signatures, and with them the callgrind instruction counts, are the same
//   on every run. Signatures are made by the test signer of tests/support/dkim_test_support.h
//   (RFC 6376 §3.4.2/§3.4.4 relaxed/relaxed, §3.5, §3.7; RFC 8463 §3 for ed25519-sha256).
// LoopbackDnsServer (tests/support): UDP and TCP on 127.0.0.1, answering every query from a
//   ZoneResolver, so CaresResolver and the daemon can be measured without a network.
// Limits: messages are built in memory; body sizes are what the caller asks for.
// Security: test keys only; nothing here is linked into the daemon.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"
#include "loopback_dns_server.h"

namespace authmilter::bench {

using dkim::testing::Key;
using dkim::testing::key_record;
using dkim::testing::Message;
using dkim::testing::with_signatures;

// The fixed benchmark keys (throw std::runtime_error if OpenSSL cannot read them).
Key rsa2048_key();
Key ed25519_key();

// A plain message from alice@example.org with a body of about `body_bytes` octets of text
// lines (78 characters or fewer, some with runs of white space for relaxed canonicalization).
Message typical_message(std::size_t body_bytes);

// The DKIM-Signature field (relaxed/relaxed, h=From:To:Subject:Date:Message-ID) for `message`
// by d=`domain` s=`selector`; `algorithm` is "rsa-sha256" or "ed25519-sha256".
std::string dkim_sign(const Message& message, std::string_view algorithm, std::string_view domain,
                      std::string_view selector, EVP_PKEY* key);

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

// tests/support's loopback DNS server; LoopbackDnsServer(zone) answers from that zone.
using test_support::LoopbackDnsServer;

}  // namespace authmilter::bench

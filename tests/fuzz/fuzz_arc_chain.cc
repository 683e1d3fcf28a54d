// Fuzz target: ARC chain verification and sealing (dkim/arc.h, RFC 8617) on the OpenSSL engine,
// with the key record taken from the input, over in-memory DNS.
//
// Input: the text of a key record (TXT at dummy._domainkey.example.org and
//   arc._domainkey.lists.example.org), 0x1e, then a message: header fields (folds as CRLF/LF
//   + WSP), an empty line, the body. Both are hostile in production (the key comes from DNS,
//   the message from the SMTP client).
// Invariants: no crash or sanitizer report; instances never above kMaxArcInstances; the sets
//   reported are numbered 1.. in order; pass only with at least one set; finish() is
//   repeatable; sealing after any result gives i = instances + 1 or nothing.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/rsa.h>

#include "authmilter/dkim/arc.h"
#include "authmilter/dns/zone_resolver.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const fuzz::KeyAndMessage split = fuzz::split_key_and_message(fuzz::as_text(data, size));
  if (!split.separated) return 0;

  dns::ZoneResolver zone;
  std::vector<std::string> strings = fuzz::txt_strings(split.key);
  if (strings.empty()) strings.emplace_back();
  for (const char* name : {"dummy._domainkey.example.org", "arc._domainkey.lists.example.org"}) {
    zone.add_txt(name, strings);
  }

  const fuzz::MessageParts parts = fuzz::split_message(split.message);
  std::vector<mail::HeaderField> headers;
  for (const std::string& field : parts.fields) {
    const std::size_t colon = field.find(':');
    if (colon == std::string::npos) continue;
    headers.push_back({field.substr(0, colon), field.substr(colon + 1)});
  }
  const std::string_view body = parts.body;

  dkim::ArcVerifier verifier(zone, {512, true}, dns::Clock::now() + std::chrono::seconds(5));
  verifier.end_of_headers(headers);
  for (std::size_t at = 0; at < body.size(); at += 4096) verifier.body(body.substr(at, 4096));
  const dkim::ArcChainResult result = verifier.finish();
  FUZZ_CHECK(result.instances <= dkim::kMaxArcInstances);
  for (std::size_t n = 0; n < result.sets.size(); ++n) {
    FUZZ_CHECK(result.sets[n].instance == n + 1);
  }
  if (result.result == dkim::ArcResult::kPass) FUZZ_CHECK(!result.sets.empty());
  FUZZ_CHECK(verifier.finish().result == result.result);

  static const dkim::ArcSigningKey key = [] {
    // A fixed test key: sealing must work over whatever chain came in.
    dkim::ArcSigningKey k;
    k.domain = "seal.example";
    k.selector = "arc";
    k.key = std::shared_ptr<EVP_PKEY>(EVP_RSA_gen(1024), EVP_PKEY_free);
    return k;
  }();
  if (key.key) {
    if (auto set = verifier.seal(key, "mx.example; none", 1)) {
      FUZZ_CHECK(set->instance == result.instances + 1);
    }
  }
  return 0;
}

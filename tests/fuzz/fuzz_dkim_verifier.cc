// Fuzz target: DKIM verification of a whole message (dkim/verifier.h, our OpenSSL engine), with the
// key record taken from the input, over in-memory DNS.
//
// Input: the text of a key record (TXT at every selector of example.org, example.com and
//   football.example.com), 0x1e, then a message: header fields (folds as CRLF/LF + WSP), an
//   empty line, the body. Both are hostile in production (the key comes from DNS, the message from
//   the SMTP client).
// Invariants: no crash or sanitizer report in our code or in what OpenSSL does through the
//   intercepted libc calls; at most kMaxSignatureFields results; header.b prefixes of at most
//   kMaxBPrefix characters; finish() is repeatable. AUTHMILTER_FUZZ_DEBUG=1 in the environment
//   prints each result (to see what a corpus file exercises).
// The verifier is fed as the milter does: header_field() per field, end_of_headers(), the body
//   in chunks of at most 64 KiB, finish().
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;

// Forwards to the zone of the input being run (libFuzzer runs inputs one at a time), so one
// Library, created once, serves every input.
class CurrentZone final : public dns::Resolver {
 public:
  dns::PendingAnswer start(std::string_view name, dns::RrType type) override {
    return zone->start(name, type);
  }
  std::unique_ptr<dns::ZoneResolver> zone = std::make_unique<dns::ZoneResolver>();
};

CurrentZone& resolver() {
  static CurrentZone instance;
  return instance;
}

const dkim::Library& library() {
  static const dkim::Library instance(resolver(), dkim::VerifierOptions{});
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const fuzz::KeyAndMessage split = fuzz::split_key_and_message(input);

  resolver().zone = std::make_unique<dns::ZoneResolver>();
  if (!split.key.empty()) {
    const std::vector<std::string> strings = fuzz::txt_strings(split.key);
    // The domains of the seeds (RFC 6376 A.2, RFC 8463 A.3) and of hand-made inputs.
    for (const char* domain : {"example.org", "example.com", "football.example.com"}) {
      resolver().zone->add_txt(std::string("*._domainkey.") + domain, strings);
    }
  }

  std::unique_ptr<dkim::Verifier> verifier =
      library().start_message("FUZZ", dns::Clock::now() + std::chrono::seconds(5));
  const fuzz::MessageParts parts = fuzz::split_message(split.message);
  for (const std::string& field : parts.fields) verifier->header_field(field);
  verifier->end_of_headers();
  constexpr std::size_t kChunk = 65535;
  for (std::size_t pos = 0; pos < parts.body.size(); pos += kChunk) {
    verifier->body(parts.body.substr(pos, kChunk));
  }

  const std::vector<dkim::SignatureResult> results = verifier->finish();
  FUZZ_CHECK(results.size() <= dkim::kMaxSignatureFields);
  for (const auto& r : results) FUZZ_CHECK(r.b_prefix.size() <= dkim::kMaxBPrefix);
  if (std::getenv("AUTHMILTER_FUZZ_DEBUG") != nullptr) {  // what a corpus file exercises
    for (const auto& r : results) {
      std::fprintf(stderr, "dkim=%s d=%s s=%s a=%s (%s)\n",
                   std::string(dkim::to_token(r.result)).c_str(), r.domain.c_str(),
                   r.selector.c_str(), r.algorithm.c_str(), r.comment.c_str());
    }
  }
  const std::vector<dkim::SignatureResult> again = verifier->finish();
  FUZZ_CHECK(again.size() == results.size());
  for (std::size_t i = 0; i < results.size(); ++i) FUZZ_CHECK(again[i].result == results[i].result);
  return 0;
}

// Fuzz target: the DKIM differential (issue 15): our verifier (dkim/verifier.h, src/dkim)
// and the libopendkim reference (tests/support/opendkim_reference.h) must agree on every
// signature of any message, modulo the named allowed differences (dkim_differential.h,
// docs/CONFORMANCE.md).
//
// Input: as fuzz_dkim_verifier (so its corpus seeds this one): the text of a key record
//   (TXT at every selector of example.org, example.com and football.example.com), 0x1e, then
//   a message: header fields (folds as CRLF/LF + WSP), an empty line, the body. A hash of the
//   input picks the options (DKIMAllowSHA1, DKIMMinKeyBits 512 or 1024) and the feeding (raw
//   or milter-style header fields; the body whole, in 64 KiB chunks, in odd sizes or byte by
//   byte), so mutations also explore those.
// Invariant: compare() finds no disagreement; on one, the results of both are printed and the
//   target aborts (libFuzzer keeps the input; the regression replay fails on it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_differential.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;
namespace reference = authmilter::test_support::opendkim;

std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t hash = 14695981039346656037u;
  for (char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211u;
  }
  return hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const fuzz::KeyAndMessage split = fuzz::split_key_and_message(input);

  dns::ZoneResolver zone;
  if (!split.key.empty()) {
    const std::vector<std::string> strings = fuzz::txt_strings(split.key);
    for (const char* domain : {"example.org", "example.com", "football.example.com"}) {
      zone.add_txt(std::string("*._domainkey.") + domain, strings);
    }
  }
  const fuzz::MessageParts parts = fuzz::split_message(split.message);
  const std::vector<std::string>& fields = parts.fields;
  const std::string_view body = parts.body;

  const std::uint64_t hash = fnv1a(input);
  dkim::VerifierOptions options;
  options.allow_sha1 = (hash & 1) != 0;
  options.min_key_bits = (hash & 2) != 0 ? 512 : 1024;
  const reference::Feed feed = (hash & 4) != 0 ? reference::Feed::kMilter : reference::Feed::kRaw;
  std::vector<std::size_t> chunks;
  switch ((hash >> 3) % 4) {
    case 0:
      break;  // whole
    case 1:
      chunks = {65536};
      break;
    case 2:
      chunks = {1 + (hash >> 8) % 97, 7, 65535, 3 + (hash >> 16) % 300};
      break;
    default:
      chunks = {body.size() <= 4096 ? std::size_t{1} : std::size_t{4096}};
  }

  const auto both = reference::verify_both(zone, options, fields, body, feed, chunks);
  reference::Comparison comparison;
  const bool agree = reference::compare(both, "input", comparison);
  if (!agree || std::getenv("AUTHMILTER_FUZZ_DEBUG") != nullptr) {
    for (const auto& line : comparison.disagreements) std::fprintf(stderr, "%s\n", line.c_str());
    for (const auto& r : both.ours)
      std::fprintf(stderr, "ours: %s\n", reference::describe(r).c_str());
    for (const auto& r : both.reference) {
      std::fprintf(stderr, "reference: %s\n", reference::describe(r).c_str());
    }
  }
  FUZZ_CHECK(agree);
  return 0;
}

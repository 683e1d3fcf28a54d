// The DKIM differential harness (dkim_differential.h).
#include "dkim_differential.h"

#include <chrono>

#include "authmilter/util/ascii.h"
#include "opendkim_reference.h"

namespace authmilter::test_support::opendkim {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

std::string_view reason_kind(std::string_view comment) {
  const std::string text = util::lowercase_ascii(comment);
  // Order matters: the specific key outcomes before the general "key" kind.
  if (contains(text, "body hash")) return "body-hash";
  if (contains(text, "did not verify") || contains(text, "signature verification")) {
    return "signature";
  }
  if (contains(text, "l=") && contains(text, "exceed")) return "length";
  if (contains(text, "too short") || contains(text, "too small")) return "key-size";
  if (contains(text, "sha1") || contains(text, "sha-1")) return "sha1";
  if (contains(text, "more than")) return "limit";
  if (contains(text, "lookup") || contains(text, "timeout") || contains(text, "servfail")) {
    return "dns";
  }
  if (contains(text, "no key")) return "no-key";
  if (contains(text, "revoked")) return "revoked";
  if (contains(text, "expired")) return "expired";
  if (contains(text, "future")) return "future";
  if (contains(text, "unsupported algorithm")) return "algorithm";
  if (contains(text, "malformed") || contains(text, "invalid selector")) return "malformed";
  if (contains(text, "key")) return "key";
  return "";
}

const std::vector<AllowedDifference>& allowed_differences() {
  // Each entry: narrow (a predicate on both results), with the RFC reason; docs/CONFORMANCE.md
  // lists the same entries.
  static const std::vector<AllowedDifference> list = {};
  return list;
}

std::string describe(const dkim::SignatureResult& r) {
  return std::string(dkim::to_token(r.result)) + " d=" + r.domain + " s=" + r.selector +
         " b=" + r.b_prefix + " a=" + r.algorithm + " (" + r.comment + ")";
}

bool compare(const std::vector<dkim::SignatureResult>& ours,
             const std::vector<dkim::SignatureResult>& reference, std::string_view label,
             Comparison& comparison) {
  if (ours.size() != reference.size()) {
    comparison.disagreements.push_back(std::string(label) + ": " + std::to_string(ours.size()) +
                                       " results, reference " + std::to_string(reference.size()));
    return false;
  }
  bool agree = true;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    ++comparison.signatures;
    const auto& a = ours[i];
    const auto& b = reference[i];
    const std::string_view kind_a = reason_kind(a.comment);
    const std::string_view kind_b = reason_kind(b.comment);
    const bool same = a.result == b.result && a.domain == b.domain && a.selector == b.selector &&
                      a.b_prefix == b.b_prefix &&
                      (kind_a.empty() || kind_b.empty() || kind_a == kind_b);
    if (same) continue;
    bool allowed = false;
    for (const auto& difference : allowed_differences()) {
      if (difference.applies(a, b)) {
        ++comparison.allowed[std::string(difference.name)];
        allowed = true;
        break;
      }
    }
    if (allowed) continue;
    agree = false;
    comparison.disagreements.push_back(std::string(label) + " #" + std::to_string(i) + ": ours " +
                                       describe(a) + " | reference " + describe(b));
  }
  return agree;
}

BothResults verify_both(dns::Resolver& zone, const dkim::VerifierOptions& options,
                        const std::vector<std::string>& fields, std::string_view body, Feed feed,
                        const std::vector<std::size_t>& chunks) {
  const auto deadline = dns::Clock::now() + std::chrono::seconds(10);
  BothResults out;
  {
    dkim::Library library(zone, options);
    auto verifier = library.start_message("OURS", deadline);
    out.ours = feed_message(*verifier, fields, body, feed, chunks);
  }
  {
    ReferenceLibrary library(zone, options);
    auto verifier = library.start_message("REFERENCE", deadline);
    out.reference = feed_message(*verifier, fields, body, feed, chunks);
  }
  return out;
}

}  // namespace authmilter::test_support::opendkim

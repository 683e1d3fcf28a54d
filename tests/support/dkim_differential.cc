// The DKIM differential harness (dkim_differential.h).
#include "dkim_differential.h"

#include <chrono>
#include <exception>

#include "authmilter/dkim/tag_list.h"
#include "authmilter/util/ascii.h"
#include "dkim_test_support.h"
#include "opendkim_reference.h"

namespace authmilter::test_support::opendkim {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The name of a header field as the verifiers read it (trailing spaces before the colon
// dropped).
std::string_view field_name(std::string_view field) {
  std::string_view name = field.substr(0, field.find(':'));
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  return name;
}

std::optional<bool> body_hash_matches(const dkim::TagList& tags, std::string_view body) {
  const std::string* c = tags.find("c");
  const std::string* a = tags.find("a");
  const std::string* bh = tags.find("bh");
  const std::string* l = tags.find("l");
  if (a == nullptr || bh == nullptr) return std::nullopt;
  const std::string algorithm = util::lowercase_ascii(*a);
  if (algorithm != "rsa-sha256" && algorithm != "rsa-sha1" && algorithm != "ed25519-sha256") {
    return std::nullopt;
  }
  std::string body_canon = "simple";
  if (c != nullptr) {
    const std::size_t slash = c->find('/');
    // "c=relaxed" names the header canonicalization only; the body's is then simple.
    if (slash != std::string::npos) body_canon = util::lowercase_ascii(c->substr(slash + 1));
  }
  if (body_canon != "simple" && body_canon != "relaxed") return std::nullopt;
  const bool relaxed = body_canon == "relaxed";
  std::optional<std::size_t> length;
  if (l != nullptr) {
    if (l->empty() || l->size() > 12 || l->find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    length = static_cast<std::size_t>(std::stoull(*l));
    if (*length > dkim::testing::canon_body(body, relaxed).size()) return std::nullopt;
  }
  return dkim::testing::body_hash(body, relaxed, algorithm, length) == *bh;
}

std::vector<std::string> key_records(dns::Resolver& zone, const dkim::TagList& tags) {
  const std::string* d = tags.find("d");
  const std::string* selector = tags.find("s");
  if (d == nullptr || selector == nullptr || d->empty() || selector->empty()) return {};
  try {
    const dns::Answer answer = zone.lookup(*selector + "._domainkey." + *d, dns::RrType::kTxt,
                                           dns::Clock::now() + std::chrono::seconds(5));
    std::vector<std::string> out;
    if (answer.status != dns::Status::kNoError) return out;
    for (const auto& record : answer.records) {
      std::string text;
      for (const auto& piece : record.strings) text += piece;
      out.push_back(record.strings.empty() ? record.data : text);
    }
    return out;
  } catch (const std::exception&) {
    return {};  // a name no resolver takes: no key
  }
}

}  // namespace

MessageFacts gather_facts(dns::Resolver& zone, const std::vector<std::string>& fields,
                          std::string_view body) {
  MessageFacts facts;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && (i + 1 == body.size() || body[i + 1] != '\n')) {
      facts.body_has_bare_cr = true;
    }
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) facts.body_has_bare_lf = true;
  }
  facts.body_ends_without_crlf =
      !body.empty() && (body.size() < 2 || body.substr(body.size() - 2) != "\r\n");
  for (const auto& field : fields) {
    if (field.find(':') == std::string::npos ||
        !util::iequals_ascii(field_name(field), "DKIM-Signature")) {
      continue;
    }
    std::string_view value = std::string_view(field).substr(field.find(':') + 1);
    value = value.substr(0, value.find('\0'));
    const dkim::TagList tags = dkim::parse_tag_list(value);
    SignatureFacts signature;
    signature.body_hash_matches = body_hash_matches(tags, body);
    signature.key_records = key_records(zone, tags);
    signature.tags = tags;
    facts.signatures.push_back(std::move(signature));
  }
  return facts;
}

std::string_view reason_kind(std::string_view comment) {
  const std::string text = util::lowercase_ascii(comment);
  // Order matters: malformed first ("malformed signature: body hash missing"), the specific
  // key outcomes before the general "key" kind.
  if (contains(text, "malformed") || contains(text, "invalid selector")) return "malformed";
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
  if (contains(text, "key")) return "key";
  return "";
}

namespace {

using dkim::Result;
using dkim::SignatureResult;

bool is(const SignatureResult& r, Result result, std::string_view kind) {
  return r.result == result && reason_kind(r.comment) == kind;
}

bool same_signature(const SignatureResult& a, const SignatureResult& b) {
  return a.domain == b.domain && a.selector == b.selector && a.b_prefix == b.b_prefix;
}

const std::string* tag(const SignatureFacts& facts, std::string_view name) {
  return facts.tags.error.empty() ? facts.tags.find(name) : nullptr;
}

}  // namespace

const std::vector<AllowedDifference>& allowed_differences() {
  // Each entry is narrow: the two results and what the harness found out by itself
  // (MessageFacts) must all fit. docs/CONFORMANCE.md lists the same entries.
  static const std::vector<AllowedDifference> list = {
      {"body-hash-before-signature",
       "RFC 6376 §6.1.3: the body hash is compared before the header signature is verified, "
       "so a signature whose body hash does not match is 'body hash did not verify'; "
       "libopendkim verifies the header signature first and reports that failure",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && is(ours, Result::kFail, "body-hash") &&
                is(reference, Result::kFail, "signature") && signature.body_hash_matches == false;
       }},
      {"missing-final-crlf",
       "RFC 6376 §3.4.3 and §3.4.4: a body that does not end in CRLF gets one; libopendkim's "
       "body hash differs for such bodies",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts& message) {
         // A verified signature: pass, or policy for a short key (RFC 8301 §3.2).
         return same_signature(ours, reference) &&
                (ours.result == Result::kPass || is(ours, Result::kPolicy, "key-size")) &&
                is(reference, Result::kFail, "body-hash") && message.body_ends_without_crlf &&
                signature.body_hash_matches == true;
       }},
      {"bare-cr-is-line-content",
       "RFC 6376 §3.4.3 and §3.4.4 canonicalize lines ended by CRLF; a CR without LF is "
       "content (RFC 6376 §5.3 makes line-end repair the signer's job); libopendkim's FIXCRLF "
       "turns it into a line end",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts& message) {
         return same_signature(ours, reference) && is(ours, Result::kFail, "body-hash") &&
                (reference.result == Result::kPass || is(reference, Result::kPolicy, "key-size")) &&
                message.body_has_bare_cr && signature.body_hash_matches == false;
       }},
      {"key-record-duplicate-tag",
       "RFC 6376 §3.2: a tag-list with a duplicated tag name is invalid as a whole; "
       "libopendkim keeps one of the values and uses the key",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         bool duplicate = false;
         for (const auto& record : signature.key_records) {
           duplicate = duplicate ||
                       dkim::parse_tag_list(record).error.find("duplicate") != std::string::npos;
         }
         return same_signature(ours, reference) && is(ours, Result::kPermError, "key") && duplicate;
       }},
      {"key-lookup-before-body-length",
       "RFC 6376 §6.1.2 (get the public key) comes before §6.1.3 (body and l=), so a "
       "signature without a key is permerror 'no key'; libopendkim checks l= against the "
       "body first",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && is(ours, Result::kPermError, "no-key") &&
                is(reference, Result::kFail, "length") && signature.key_records.empty();
       }},
      {"l-beyond-64-bits",
       "RFC 6376 §3.5: l= is 1*76DIGIT, so a value too large for 64 bits is well-formed and "
       "exceeds the body (fail); libopendkim calls it malformed (permerror)",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string* l = tag(signature, "l");
         return same_signature(ours, reference) && is(ours, Result::kFail, "length") &&
                is(reference, Result::kPermError, "malformed") && l != nullptr && l->size() > 18 &&
                l->size() <= 76 && l->find_first_not_of("0123456789") == std::string::npos;
       }},
      {"q-case-insensitive",
       "RFC 6376 §3.5 q= is ABNF \"dns/txt\", and ABNF strings are case-insensitive (RFC 5234 "
       "§2.3); libopendkim accepts only lower case",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string* q = tag(signature, "q");
         return same_signature(ours, reference) && ours.result != Result::kPermError &&
                is(reference, Result::kPermError, "malformed") && q != nullptr && *q != "dns/txt" &&
                util::iequals_ascii(*q, "dns/txt");
       }},
  };
  return list;
}

std::string describe(const dkim::SignatureResult& r) {
  return std::string(dkim::to_token(r.result)) + " d=" + r.domain + " s=" + r.selector +
         " b=" + r.b_prefix + " a=" + r.algorithm + " (" + r.comment + ")";
}

bool compare(const BothResults& both, std::string_view label, Comparison& comparison) {
  const auto& ours = both.ours;
  const auto& reference = both.reference;
  static const SignatureFacts kNoFacts;
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
      const SignatureFacts& facts =
          i < both.facts.signatures.size() ? both.facts.signatures[i] : kNoFacts;
      if (difference.applies(a, b, facts, both.facts)) {
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
  out.facts = gather_facts(zone, fields, body);
  return out;
}

}  // namespace authmilter::test_support::opendkim

// The DKIM differential harness (dkim_differential.h).
#include "dkim_differential.h"

#include <algorithm>
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

// l= larger than the canonical body (unset when c= or l= cannot be read).
std::optional<bool> l_exceeds_body(const dkim::TagList& tags, std::string_view body) {
  const std::string* c = tags.find("c");
  const std::string* l = tags.find("l");
  if (l == nullptr || l->empty() || l->size() > 76 ||
      l->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  std::string body_canon = "simple";
  if (c != nullptr && c->find('/') != std::string::npos) {
    body_canon = util::lowercase_ascii(c->substr(c->find('/') + 1));
  }
  if (body_canon != "simple" && body_canon != "relaxed") return std::nullopt;
  const std::size_t canonical = dkim::testing::canon_body(body, body_canon == "relaxed").size();
  const std::string digits = l->substr(
      l->find_first_not_of('0') == std::string::npos ? l->size() - 1 : l->find_first_not_of('0'));
  if (digits.size() > 18) return true;
  return std::stoull(digits) > canonical;
}

// A raw tag name (text before '=' in a tag-spec, whitespace around it dropped) that is not
// ALPHA *ALNUMPUNC (RFC 6376 §3.2).
bool has_bad_tag_name(std::string_view list) {
  for (std::size_t pos = 0; pos <= list.size();) {
    std::size_t end = std::min(list.find(';', pos), list.size());
    std::string_view spec = list.substr(pos, end - pos);
    pos = end + 1;
    if (spec.find('=') == std::string_view::npos) continue;
    std::string_view name = spec.substr(0, spec.find('='));
    const std::size_t first = name.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return true;
    name = name.substr(first, name.find_last_not_of(" \t\r\n") - first + 1);
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) return true;
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
        std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// t= more than libopendkim's 300 s of clock drift ahead of now.
bool t_in_future(const dkim::TagList& tags) {
  const std::string* t = tags.find("t");
  if (t == nullptr || t->empty() || t->find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  if (t->size() > 18) return true;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return std::stoull(*t) > static_cast<unsigned long long>(now) + 300;
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
    signature.l_exceeds_body = l_exceeds_body(tags, body);
    signature.t_in_future = t_in_future(tags);
    signature.has_vt_or_ff = value.find_first_of("\v\f") != std::string_view::npos;
    signature.bad_tag_name = has_bad_tag_name(value);
    signature.tags = tags;
    facts.signatures.push_back(std::move(signature));
  }
  return facts;
}

std::string_view reason_kind(std::string_view comment) {
  const std::string text = util::lowercase_ascii(comment);
  // RFC 6376 §6.1.1 (validate the signature field): malformed tags, an unsupported algorithm,
  // a selector or domain that forms no key name, an expired signature. The RFC sets no order
  // among these checks, so they are one kind. It comes first ("malformed signature: body
  // hash missing"); the specific key outcomes come before the general "key" kind.
  if (contains(text, "malformed") || contains(text, "invalid selector") ||
      contains(text, "unsupported algorithm") || contains(text, "expired")) {
    return "validation";
  }
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
  if (contains(text, "future")) return "future";
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

// RFC 6376 §2.4 base64string (whitespace already removed by the tag reader): base64
// characters, then at most two '='.
bool is_base64string(std::string_view value) {
  std::size_t end = value.size();
  while (end > 0 && value[end - 1] == '=' && value.size() - end < 2) --end;
  if (end == 0) return false;
  for (char c : value.substr(0, end)) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
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
      {"key-record-invalid",
       "RFC 6376 §3.2 and §3.6.1: a key record that is not a valid tag-list (a tag without "
       "'=', an empty, repeated or non-ALNUMPUNC tag name, a byte that is not printable ASCII "
       "or whitespace) or whose p= is not a base64string is invalid as a "
       "whole (permerror); libopendkim keeps what it can read and skips bad base64 characters",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         bool invalid = false;
         for (const auto& record : signature.key_records) {
           const dkim::TagList key = dkim::parse_tag_list(record);
           const std::string* p = key.find("p");
           const bool bad_byte = std::any_of(record.begin(), record.end(), [](char c) {
             const auto u = static_cast<unsigned char>(c);
             return (u < 0x20 && c != ' ' && c != '\t' && c != '\r' && c != '\n') || u >= 0x7f;
           });
           invalid = invalid || !key.error.empty() || bad_byte || has_bad_tag_name(record) ||
                     (p != nullptr && !p->empty() && !is_base64string(*p));
         }
         return same_signature(ours, reference) && is(ours, Result::kPermError, "key") && invalid;
       }},
      {"key-before-body-length",
       "RFC 6376 §6.1.2 (get the public key) comes before §6.1.3 (body, l=), so a signature "
       "without a usable key is permerror for the key; libopendkim checks l= against the "
       "body first",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string_view kind = reason_kind(ours.comment);
         return same_signature(ours, reference) && ours.result == Result::kPermError &&
                (kind == "no-key" || kind == "key" || kind == "revoked") &&
                is(reference, Result::kFail, "length") && signature.l_exceeds_body == true;
       }},
      {"vt-ff-are-not-whitespace",
       "RFC 6376 §3.2 (and RFC 5234 WSP): only SP and HTAB are whitespace in a tag-list, so a "
       "VT or FF byte makes the signature malformed; libopendkim takes them as whitespace "
       "(C isspace)",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && is(ours, Result::kPermError, "validation") &&
                !is(reference, Result::kPermError, "validation") && signature.has_vt_or_ff;
       }},
      {"tag-name-not-alnumpunc",
       "RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC (letters, digits, '_'), so a tag named "
       "otherwise makes the signature malformed; libopendkim takes any printable name",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && is(ours, Result::kPermError, "validation") &&
                !is(reference, Result::kPermError, "validation") && signature.bad_tag_name;
       }},
      {"t-x-not-12-digits",
       "RFC 6376 §3.5: t= and x= are 1*12DIGIT, so an empty or longer value or one with a "
       "sign makes the signature malformed; libopendkim reads them with strtoul",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         bool long_time = false;
         for (const char* name : {"t", "x"}) {
           const std::string* value = signature.tags.find(name);
           long_time = long_time || (value != nullptr &&
                                     (value->empty() || value->size() > 12 ||
                                      value->find_first_not_of("0123456789") != std::string::npos));
         }
         return same_signature(ours, reference) && is(ours, Result::kPermError, "validation") &&
                !is(reference, Result::kPermError, "validation") && long_time;
       }},
      {"limit-count-follows-validation",
       "MaxSignatures counts the signatures that pass validation (RFC 6376 §6.1.1); where an "
       "allowed difference above made an earlier signature invalid for our verifier only, "
       "the limit falls on a different signature",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && signature.earlier_validation_differences > 0 &&
                (is(ours, Result::kPolicy, "limit") || is(reference, Result::kPolicy, "limit"));
       }},
      {"validation-before-future",
       "RFC 6376 §6.1.1: a signature field that fails validation is PERMFAIL, while a t= in "
       "the future only MAY make a verifier ignore the signature (§3.5); libopendkim looks "
       "at t= first (neutral)",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         return same_signature(ours, reference) && is(ours, Result::kPermError, "validation") &&
                is(reference, Result::kNeutral, "future") && signature.t_in_future;
       }},
      {"l-beyond-64-bits",
       "RFC 6376 §3.5: l= is 1*76DIGIT, so a value too large for 64 bits is well-formed and "
       "exceeds the body (fail); libopendkim calls it malformed (permerror)",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string* l = tag(signature, "l");
         return same_signature(ours, reference) && is(ours, Result::kFail, "length") &&
                is(reference, Result::kPermError, "validation") && l != nullptr && l->size() > 18 &&
                l->size() <= 76 && l->find_first_not_of("0123456789") == std::string::npos;
       }},
      {"l-not-digits",
       "RFC 6376 §3.5: l= is 1*76DIGIT, so an empty value or one with another character makes "
       "the signature malformed (permerror); libopendkim reads it with strtoull, an empty one "
       "as 0",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string* l = tag(signature, "l");
         return same_signature(ours, reference) && is(ours, Result::kPermError, "validation") &&
                !is(reference, Result::kPermError, "validation") && l != nullptr &&
                (l->empty() || l->find_first_not_of("0123456789") != std::string::npos);
       }},
      {"q-case-insensitive",
       "RFC 6376 §3.5 q= is ABNF \"dns/txt\", and ABNF strings are case-insensitive (RFC 5234 "
       "§2.3); libopendkim accepts only lower case",
       [](const SignatureResult& ours, const SignatureResult& reference,
          const SignatureFacts& signature, const MessageFacts&) {
         const std::string* q = tag(signature, "q");
         return same_signature(ours, reference) && ours.result != Result::kPermError &&
                is(reference, Result::kPermError, "validation") && q != nullptr &&
                *q != "dns/txt" && util::iequals_ascii(*q, "dns/txt");
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
  std::size_t validation_differences = 0;  // earlier allowed ones where only ours is invalid
  for (std::size_t i = 0; i < ours.size(); ++i) {
    ++comparison.signatures;
    const auto& a = ours[i];
    const auto& b = reference[i];
    SignatureFacts facts = i < both.facts.signatures.size() ? both.facts.signatures[i] : kNoFacts;
    facts.earlier_validation_differences = validation_differences;
    const std::string_view kind_a = reason_kind(a.comment);
    const std::string_view kind_b = reason_kind(b.comment);
    const bool same = a.result == b.result && a.domain == b.domain && a.selector == b.selector &&
                      a.b_prefix == b.b_prefix &&
                      (kind_a.empty() || kind_b.empty() || kind_a == kind_b);
    if (same) continue;
    bool allowed = false;
    for (const auto& difference : allowed_differences()) {
      if (difference.applies(a, b, facts, both.facts)) {
        if (reason_kind(a.comment) == "validation" && reason_kind(b.comment) != "validation") {
          ++validation_differences;
        }
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

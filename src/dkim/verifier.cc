#include "authmilter/dkim/verifier.h"

#include <algorithm>
#include <ctime>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dkim/signature_engine.h"
#include "authmilter/dkim/tag_list.h"
#include "authmilter/util/ascii.h"

namespace authmilter::dkim {
namespace {

constexpr std::string_view kSignatureField = "DKIM-Signature";
// Allowed clock difference for t= and x= (the 300 s libopendkim allows too).
constexpr std::int64_t kClockDrift = 300;
// RFC 6376 §3.5: l=, t= and x= have at most 76 and 12 digits; more is refused as malformed.
constexpr std::size_t kMaxLengthDigits = 76;
constexpr std::size_t kMaxTimeDigits = 12;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_wsp(text.front()) || text.front() == '\r' || text.front() == '\n'))
    text.remove_prefix(1);
  while (!text.empty() && (is_wsp(text.back()) || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

// A colon-separated list (h=, q=) containing `item` (case-insensitive, WSP ignored).
bool list_has(std::string_view list, std::string_view item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(':', start);
    if (end == std::string_view::npos) end = list.size();
    if (util::iequals_ascii(trim(list.substr(start, end - start)), item)) return true;
    start = end + 1;
  }
  return false;
}

// Decimal digits only, at most `max_digits`; values past 2^64 saturate (an l= that large
// exceeds any body, a time that large is far in the future).
std::optional<std::uint64_t> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      value = std::numeric_limits<std::uint64_t>::max();
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

// b= decoded as libopendkim decodes it, so both call the same values corrupt: decoding stops
// at the first '=', characters outside the alphabet are skipped, a last group of one
// character is corrupt and a last group of two or three gives one or two bytes.
std::optional<std::string> decode_signature_base64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) return std::nullopt;
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xff));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xff));
    out.push_back(static_cast<char>((bits >> 2) & 0xff));
  }
  return out;
}

// dkim-quoted-printable (RFC 6376 §2.11), as i= may be written: "=40" for '@'.
std::string decode_quoted_printable(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// i= domain equal to d= or a subdomain of it (RFC 6376 §3.5 "i=").
bool within(std::string_view identity_domain, std::string_view domain) {
  if (util::iequals_ascii(identity_domain, domain)) return true;
  return identity_domain.size() > domain.size() + 1 &&
         identity_domain[identity_domain.size() - domain.size() - 1] == '.' &&
         util::iequals_ascii(identity_domain.substr(identity_domain.size() - domain.size()),
                             domain);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Library::Impl {
  dns::Resolver& resolver;
  VerifierOptions options;

  Impl(dns::Resolver& r, VerifierOptions o) : resolver(r), options(o) {
    options.max_signatures = std::min(options.max_signatures, kMaxSignatureFields);
  }

  // parse_dkim_key() memoized: decoding the p= key (d2i_PUBKEY) costs more than the RSA
  // verification, and the same few records come back message after message. The result
  // depends only on the record text and the algorithm, so sharing it is safe; EVP_PKEY is
  // reference-counted and only read. Bounded: emptied when kKeyCacheEntries is reached.
  DkimKey key(const std::string& text, SignatureAlgorithm algorithm) const {
    std::string cache_key(1, static_cast<char>('0' + static_cast<int>(algorithm)));
    cache_key += text;
    {
      std::lock_guard lock(key_mutex);
      if (auto it = keys.find(cache_key); it != keys.end()) return it->second;
    }
    DkimKey parsed = parse_dkim_key(text, algorithm);
    std::lock_guard lock(key_mutex);
    if (keys.size() >= kKeyCacheEntries) keys.clear();
    keys.emplace(std::move(cache_key), parsed);
    return parsed;
  }

  static constexpr std::size_t kKeyCacheEntries = 256;
  mutable std::mutex key_mutex;
  mutable std::unordered_map<std::string, DkimKey> keys;
};

// ---------------------------------------------------------------------------------------------

struct SigField {
  TagList tags;
  std::size_t header = 0;            // index into Verifier::Impl::headers; only for fed fields
  bool fed = false;                  // kept with the headers (no NUL byte)
  Result result = Result::kNeutral;  // the outcome when not verified
  std::string comment;
  bool verify = false;  // key lookup started, verified at finish()
  SignatureAlgorithm algorithm = SignatureAlgorithm::kRsaSha256;
  CanonicalizationPair canon;
  std::string body_hash;  // bh=, decoded
  std::string signature;  // b=, decoded
  std::uint64_t limit = BodyHasher::kNoLimit;
  std::string identity_domain;  // after the '@' of i= (empty: no i=)
  std::size_t hasher = 0;       // index into Verifier::Impl::hashers
  // b= over the signed header data, verified ahead (verify_header_signatures()); unset: not
  // yet (or the key was not usable then: judge() says why).
  std::optional<bool> signature_verified;
};

struct Verifier::Impl {
  enum class State { kHeaders, kBody, kDone };

  const Library::Impl& library;
  KeyLookups lookups;
  State state = State::kHeaders;
  std::vector<mail::HeaderField> headers;
  std::vector<SigField> fields;
  std::vector<BodyHasher> hashers;  // one per distinct (body canonicalization, hash, l=)
  std::size_t header_bytes = 0;
  std::size_t skipped = 0;
  std::size_t dropped = 0;
  std::vector<SignatureResult> results;

  Impl(const Library::Impl& lib, dns::Deadline deadline, const work::CancelToken* cancel)
      : library(lib), lookups(lib.resolver, lib.options.min_key_bits, deadline, cancel) {}

  void add_field(std::string_view name, std::string_view value, std::size_t size);
  void end_of_headers();
  void setup(SigField& field, std::size_t& verifying, std::int64_t now);
  void body(std::string_view chunk);
  std::vector<SignatureResult> finish();
  SignatureResult judge(SigField& field);
  // The usable key of `field` (waiting for its lookup), or nullopt when judge() will fail it
  // for the key (status, parse, t=s).
  std::optional<DkimKey> usable_key(const SigField& field);
  bool header_signature_verifies(SigField& field, const DkimKey& key);
  void verify_header_signatures();
  void assign_b_prefixes();
};

void Verifier::Impl::add_field(std::string_view name, std::string_view value, std::size_t size) {
  if (state != State::kHeaders || size == 0 || headers.size() >= kMaxHeaderFields ||
      size > kMaxHeaderBytes - header_bytes) {
    ++dropped;
    return;
  }
  // Field names are printable ASCII without SP/':' inside (RFC 5322 §3.6.8); trailing WSP
  // before the colon is tolerated (RFC 6376 §3.4.2 drops it in relaxed).
  const std::string_view bare_name = trim(name);
  const bool name_ok = !bare_name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 33 && u <= 126) || u == ' ' || u == '\t';
  });
  if (!name_ok) {
    ++dropped;
    return;
  }
  const bool is_signature = util::iequals_ascii(bare_name, kSignatureField);
  if (is_signature && fields.size() >= kMaxSignatureFields) {
    ++skipped;
    ++dropped;
    return;
  }
  const std::size_t nul = value.find('\0');
  if (nul != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    // A NUL cannot be part of a field (RFC 5322 §2.2): the field is dropped and a signature
    // with one is reported malformed, with the tags before the NUL for the report.
    ++dropped;
    if (is_signature) {
      SigField sig;
      sig.tags = parse_tag_list(value.substr(0, nul));
      sig.result = Result::kPermError;
      sig.comment = "malformed signature: NUL byte in signature";
      fields.push_back(std::move(sig));
    }
    return;
  }
  header_bytes += size;
  // Line ends as CRLF: the milter may hand folds over with bare LF (or CR).
  mail::HeaderField field;
  field.name = std::string(name);
  field.raw_value.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      field.raw_value.append("\r\n");
      if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') ++i;
    } else {
      field.raw_value.push_back(c);
    }
  }
  headers.push_back(std::move(field));
  if (!is_signature) return;
  SigField sig;
  sig.tags = parse_tag_list(value);
  // RFC 6376 §3.2: tag names and values are printable ASCII, with WSP and folds between;
  // any other byte (control, DEL, 8-bit) makes the signature malformed, as in libopendkim.
  // Tag names are ALPHA *ALNUMPUNC with no whitespace inside.
  if (sig.tags.error.empty() && !tag_list_bytes_valid(value)) {
    sig.tags.error = "invalid character in signature";
  }
  if (sig.tags.error.empty() && !tag_names_valid(value)) sig.tags.error = "invalid tag name";
  if (sig.tags.error.empty() && has_inner_empty_tag_spec(value)) {
    sig.tags.error = "empty tag-spec";
  }
  sig.header = headers.size() - 1;
  sig.fed = true;
  fields.push_back(std::move(sig));
}

void Verifier::Impl::setup(SigField& field, std::size_t& verifying, std::int64_t now) {
  if (!field.fed) return;  // judged when it arrived
  auto malformed = [&field](std::string why) {
    field.result = Result::kPermError;
    field.comment = "malformed signature: " + std::move(why);
  };
  const TagList& tags = field.tags;
  if (!tags.error.empty()) return malformed(tags.error);
  // RFC 6376 §6.1.1: required tags.
  for (const char* required : {"v", "a", "b", "d", "h", "s"}) {
    if (tags.find(required) == nullptr) return malformed("missing " + std::string(required) + "=");
  }
  if (tags.find("bh") == nullptr) return malformed("body hash missing (bh=)");
  if (*tags.find("v") != "1") return malformed("unsupported version v=" + *tags.find("v"));
  const auto algorithm = parse_signature_algorithm(*tags.find("a"));
  if (!algorithm) {
    field.result = Result::kPermError;
    field.comment = "unsupported algorithm";
    return;
  }
  field.algorithm = *algorithm;
  const std::string* c = tags.find("c");
  const auto canon = parse_canonicalization(c != nullptr ? *c : "");
  if (!canon || (c != nullptr && c->empty())) return malformed("bad c=");
  field.canon = *canon;
  if (const std::string* q = tags.find("q"); q != nullptr && !list_has(*q, "dns/txt")) {
    return malformed("unsupported q=");
  }
  // RFC 6376 §5.4: From must be signed.
  if (!list_has(*tags.find("h"), "from")) return malformed("From not signed");
  const std::string& domain = *tags.find("d");
  // RFC 6376 §3.5: d= is a domain name; other characters make the field malformed before
  // t=/x= are looked at (libopendkim: malformed "d=" tag value).
  if (domain.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") !=
      std::string::npos) {
    return malformed("bad d=");
  }
  if (const std::string* i = tags.find("i"); i != nullptr) {
    const std::string identity = decode_quoted_printable(*i);
    const std::size_t at = identity.rfind('@');
    if (at == std::string::npos) return malformed("bad i=");
    field.identity_domain = identity.substr(at + 1);
    if (!within(field.identity_domain, domain)) return malformed("i= not within d=");
  }
  if (const std::string* l = tags.find("l"); l != nullptr) {
    // RFC 6376 §3.5: 1*76DIGIT; values past 2^64 saturate and exceed any body.
    const auto value = parse_decimal(*l, kMaxLengthDigits);
    if (!value) return malformed("bad l=");
    field.limit = *value == BodyHasher::kNoLimit ? *value - 1 : *value;
  }
  std::optional<std::uint64_t> timestamp;
  std::optional<std::uint64_t> expiration;
  if (const std::string* t = tags.find("t"); t != nullptr) {
    timestamp = parse_decimal(*t, kMaxTimeDigits);
    if (!timestamp) return malformed("bad t=");
  }
  if (const std::string* x = tags.find("x"); x != nullptr) {
    expiration = parse_decimal(*x, kMaxTimeDigits);
    if (!expiration) return malformed("bad x=");
  }
  if (timestamp && expiration && *expiration < *timestamp) return malformed("x= before t=");
  // Empty bh=/b= are malformed; text that is not base64 is left to fail the comparison
  // ("body hash mismatch", "signature did not verify") as it would in libopendkim.
  if (tags.find("bh")->empty()) return malformed("empty bh=");
  if (tags.find("b")->empty()) return malformed("empty b=");
  field.body_hash = base64_decode(*tags.find("bh")).value_or(std::string());
  const auto signature = decode_signature_base64(*tags.find("b"));
  if (!signature) return malformed("signature data corrupt (b=)");
  field.signature = *signature;
  // Digits are at most 12, so these fit an int64.
  if (expiration && static_cast<std::int64_t>(*expiration) + kClockDrift < now) {
    field.result = Result::kPermError;
    field.comment = "signature expired";
    return;
  }
  if (timestamp && static_cast<std::int64_t>(*timestamp) > now + kClockDrift) {
    field.result = Result::kNeutral;
    field.comment = "signature timestamp in the future";
    return;
  }
  if (field.algorithm == SignatureAlgorithm::kRsaSha1 && !library.options.allow_sha1) {
    // RFC 8301 §3.1.
    field.result = Result::kPolicy;
    field.comment = "rsa-sha1 not accepted";
    return;
  }
  const std::string& selector = *tags.find("s");
  if (selector.empty() || domain.empty() || !valid_key_name(key_name(selector, domain)) ||
      domain.front() == '.' || selector.front() == '.' || domain.find("..") != std::string::npos ||
      selector.find("..") != std::string::npos) {
    field.result = Result::kPermError;
    field.comment = "invalid selector or domain";
    return;
  }
  if (verifying >= library.options.max_signatures) {
    field.result = Result::kPolicy;
    field.comment = "more than " + std::to_string(library.options.max_signatures) + " signatures";
    return;
  }
  ++verifying;
  field.verify = true;
  lookups.start(selector, domain);
  // One body hash per distinct (canonicalization, hash, l=), shared by the signatures.
  const EVP_MD* md = hash_of(field.algorithm);
  for (std::size_t h = 0; h < hashers.size(); ++h) {
    if (hashers[h].canonicalization() == field.canon.body && hashers[h].digest_type() == md &&
        hashers[h].limit() == field.limit) {
      field.hasher = h;
      return;
    }
  }
  hashers.emplace_back(field.canon.body, md, field.limit);
  field.hasher = hashers.size() - 1;
}

void Verifier::Impl::end_of_headers() {
  if (state != State::kHeaders) return;
  state = State::kBody;
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::size_t verifying = 0;
  for (auto& field : fields) setup(field, verifying, now);
}

void Verifier::Impl::body(std::string_view chunk) {
  if (state == State::kHeaders) end_of_headers();
  if (state != State::kBody || chunk.empty()) return;
  for (auto& hasher : hashers) hasher.update(chunk);
}

std::vector<SignatureResult> Verifier::Impl::finish() {
  if (state == State::kDone) return results;
  if (state == State::kHeaders) end_of_headers();
  state = State::kDone;
  if (fields.empty()) return results;  // no signature: dkim=none
  results.reserve(fields.size());
  for (auto& field : fields) results.push_back(judge(field));
  assign_b_prefixes();
  return results;
}

SignatureResult Verifier::Impl::judge(SigField& field) {
  SignatureResult result;
  auto tag = [&field](std::string_view name) {
    const std::string* value = field.tags.find(name);
    return value != nullptr ? *value : std::string();
  };
  result.domain = util::lowercase_ascii(tag("d"));
  result.identity = tag("i");
  result.selector = tag("s");
  result.algorithm = util::lowercase_ascii(tag("a"));
  if (!field.verify) {
    result.result = field.result;
    result.comment = field.comment;
    return result;
  }

  // RFC 6376 §6.1.2 (the key), then §6.1.3 (l=, the body hash, then the signature).
  const KeyRecord& record = lookups.record(tag("s"), tag("d"));
  if (record.status == KeyStatus::kTempError) {
    result.result = Result::kTempError;
    result.comment = "key lookup failed";
    if (!record.error.empty()) result.comment += ": " + record.error;
    return result;
  }
  result.result = Result::kPermError;
  if (record.status != KeyStatus::kOk) {
    result.comment = record.error == "no key" ? "no key for signature" : record.error;
    return result;
  }
  result.dnssec = record.authenticated;
  const DkimKey key = library.key(record.text, field.algorithm);
  if (key.status != KeyStatus::kOk) {
    result.comment = key.error;
    return result;
  }
  result.key_bits = key.bits;
  result.test_key = key.testing;
  if (key.strict_identity && !field.identity_domain.empty() &&
      !util::iequals_ascii(field.identity_domain, tag("d"))) {
    result.comment = "key t=s does not allow a subdomain i=";
    return result;
  }
  result.result = Result::kFail;
  BodyHasher& hasher = hashers[field.hasher];
  const std::string& body_hash = hasher.finish();
  if (field.limit != BodyHasher::kNoLimit && hasher.canonical_length() < field.limit) {
    result.comment = "l= exceeds body length";
    return result;
  }
  if (field.body_hash.empty() || body_hash != field.body_hash) {
    result.comment = "body hash mismatch";
    return result;
  }
  if (!header_signature_verifies(field, key)) {
    result.comment = "signature did not verify";
    return result;
  }
  if (field.algorithm != SignatureAlgorithm::kEd25519Sha256 &&
      key.bits < library.options.min_key_bits) {
    // RFC 8301 §3.2: a signature that verifies with a short key is not a pass; one that
    // does not verify is a fail whatever the key.
    result.result = Result::kPolicy;
    result.comment = "key too short (" + std::to_string(key.bits) + " bits)";
    return result;
  }
  result.result = Result::kPass;
  if (field.limit != BodyHasher::kNoLimit) {
    result.comment = "body length limit l=" + std::to_string(field.limit);
  }
  return result;
}

bool Verifier::Impl::header_signature_verifies(SigField& field, const DkimKey& key) {
  if (!field.signature_verified) {
    const std::string* h = field.tags.find("h");
    const std::string data = signed_header_data(headers, h != nullptr ? *h : std::string(),
                                                field.canon.header, headers[field.header]);
    field.signature_verified =
        verify_signature(key.key.get(), field.algorithm, data, field.signature);
  }
  return *field.signature_verified;
}

std::optional<DkimKey> Verifier::Impl::usable_key(const SigField& field) {
  const std::string* selector = field.tags.find("s");
  const std::string* domain = field.tags.find("d");
  if (selector == nullptr || domain == nullptr) return std::nullopt;
  const KeyRecord& record = lookups.record(*selector, *domain);
  if (record.status != KeyStatus::kOk) return std::nullopt;
  DkimKey key = library.key(record.text, field.algorithm);
  if (key.status != KeyStatus::kOk) return std::nullopt;
  return key;
}

void Verifier::Impl::verify_header_signatures() {
  if (state == State::kHeaders) end_of_headers();
  if (state != State::kBody) return;
  for (auto& field : fields) {
    if (!field.verify || field.signature_verified) continue;
    if (std::optional<DkimKey> key = usable_key(field)) header_signature_verifies(field, *key);
  }
}

void Verifier::Impl::assign_b_prefixes() {
  std::vector<const std::string*> b_values;
  b_values.reserve(fields.size());
  for (const auto& field : fields) b_values.push_back(field.tags.find("b"));
  std::vector<std::string> prefixes = dkim::header_b_prefixes(b_values, kMinBPrefix, kMaxBPrefix);
  for (std::size_t i = 0; i < prefixes.size(); ++i) results[i].b_prefix = std::move(prefixes[i]);
}

// ---------------------------------------------------------------------------------------------

Library::Library(dns::Resolver& resolver, VerifierOptions options)
    : impl_(std::make_unique<Impl>(resolver, options)) {}

Library::~Library() = default;

std::unique_ptr<Verifier> Library::start_message(std::string_view /*id*/, dns::Deadline deadline,
                                                 const work::CancelToken* cancel) const {
  return std::unique_ptr<Verifier>(
      new Verifier(std::make_unique<Verifier::Impl>(*impl_, deadline, cancel)));
}

const VerifierOptions& Library::options() const { return impl_->options; }

bool Library::supports_ed25519() const { return true; }

Verifier::Verifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Verifier::~Verifier() = default;

void Verifier::header(const mail::HeaderField& field) {
  impl_->add_field(field.name, field.raw_value, field.name.size() + 1 + field.raw_value.size());
}

void Verifier::header_field(std::string_view field) {
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) {
    ++impl_->dropped;  // not a header field
    return;
  }
  impl_->add_field(field.substr(0, colon), field.substr(colon + 1), field.size());
}

void Verifier::end_of_headers() { impl_->end_of_headers(); }

void Verifier::verify_header_signatures() { impl_->verify_header_signatures(); }

void Verifier::body(std::string_view chunk) { impl_->body(chunk); }

std::vector<SignatureResult> Verifier::finish() { return impl_->finish(); }

std::size_t Verifier::skipped_signatures() const { return impl_->skipped; }

std::size_t Verifier::dropped_header_fields() const { return impl_->dropped; }

}  // namespace authmilter::dkim

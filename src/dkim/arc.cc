#include "authmilter/dkim/arc.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "authmilter/dkim/tag_list.h"
#include "authmilter/util/ascii.h"

namespace authmilter::dkim {
namespace {

enum class Member { kAuthResults = 0, kMessageSignature = 1, kSeal = 2 };
constexpr std::string_view kMemberNames[] = {"ARC-Authentication-Results", "ARC-Message-Signature",
                                             "ARC-Seal"};
constexpr std::string_view kRsaSha256 = "rsa-sha256";
// Line length our folding aims at (RFC 5322 §2.1.1 "SHOULD be no more than 78").
constexpr std::size_t kFoldAt = 76;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = util::to_lower_ascii(c);
  return out;
}

// 1..kMaxArcInstances written as digits; 0 otherwise.
unsigned parse_instance(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 3) return 0;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= kMaxArcInstances ? value : 0;
}

std::string unfold_trim(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : trim(text)) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

struct ArcField {
  const mail::HeaderField* field = nullptr;
  Member member = Member::kSeal;
  unsigned instance = 0;  // 0: unparsable
  TagList tags;           // AMS, AS
  std::string payload;    // AAR: after "i=N;"
};

// AAR: "i=N; authres-payload" (RFC 8617 §4.1.1).
void parse_aar(ArcField& out) {
  std::string_view value = trim(out.field->raw_value);
  const std::size_t semicolon = value.find(';');
  if (semicolon == std::string_view::npos) return;
  const std::string_view spec = value.substr(0, semicolon);
  const std::size_t equals = spec.find('=');
  if (equals == std::string_view::npos || trim(spec.substr(0, equals)) != "i") return;
  out.instance = parse_instance(spec.substr(equals + 1));
  out.payload = unfold_trim(value.substr(semicolon + 1));
}

struct Set {
  std::array<const ArcField*, 3> members{};
  const ArcField* get(Member m) const { return members[static_cast<std::size_t>(m)]; }
};

struct Chain {
  bool present = false;
  std::string error;  // structural failure
  std::vector<ArcField> fields;
  std::vector<Set> sets;  // index i-1
};

Chain parse_chain(std::span<const mail::HeaderField> headers) {
  Chain chain;
  for (const auto& header : headers) {
    for (std::size_t m = 0; m < 3; ++m) {
      if (!util::iequals_ascii(trim(header.name), kMemberNames[m])) continue;
      chain.present = true;
      if (chain.fields.size() >= kMaxArcFields) {
        chain.error = "more than " + std::to_string(kMaxArcFields) + " ARC header fields";
        return chain;
      }
      ArcField field;
      field.field = &header;
      field.member = static_cast<Member>(m);
      if (field.member == Member::kAuthResults) {
        parse_aar(field);
      } else {
        field.tags = parse_tag_list(header.raw_value);
        if (const std::string* i = field.tags.find("i")) field.instance = parse_instance(*i);
      }
      chain.fields.push_back(std::move(field));
    }
  }
  if (!chain.present) return chain;
  unsigned highest = 0;
  for (const auto& field : chain.fields) {
    if (field.instance == 0) {
      chain.error = std::string(kMemberNames[static_cast<std::size_t>(field.member)]) +
                    " with a bad instance (i= must be 1 to " + std::to_string(kMaxArcInstances) +
                    ")";
      return chain;
    }
    highest = std::max(highest, field.instance);
  }
  chain.sets.resize(highest);
  for (const auto& field : chain.fields) {
    const ArcField*& slot =
        chain.sets[field.instance - 1].members[static_cast<std::size_t>(field.member)];
    if (slot != nullptr) {
      chain.error = "duplicate " +
                    std::string(kMemberNames[static_cast<std::size_t>(field.member)]) +
                    " i=" + std::to_string(field.instance);
      return chain;
    }
    slot = &field;
  }
  for (unsigned i = 1; i <= highest; ++i) {
    for (std::size_t m = 0; m < 3; ++m) {
      if (chain.sets[i - 1].members[m] == nullptr) {
        chain.error = "missing " + std::string(kMemberNames[m]) + " i=" + std::to_string(i);
        return chain;
      }
    }
  }
  return chain;
}

std::optional<ArcCv> parse_cv(std::string_view text) {
  if (util::iequals_ascii(text, "none")) return ArcCv::kNone;
  if (util::iequals_ascii(text, "pass")) return ArcCv::kPass;
  if (util::iequals_ascii(text, "fail")) return ArcCv::kFail;
  return std::nullopt;
}

// RFC 6376 §3.2 read strictly, as ARC validators must: every tag-spec has a tag-name
// (ALPHA *ALNUMPUNC) and '='; only the last one may be empty (a final ';').
std::string tag_syntax_error(std::string_view value) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(';', start);
    const bool last = end == std::string_view::npos;
    if (last) end = value.size();
    const std::string_view spec = trim(value.substr(start, end - start));
    start = end + 1;
    if (spec.empty()) {
      if (last) break;
      return "empty tag-spec";
    }
    const std::size_t equals = spec.find('=');
    if (equals == std::string_view::npos) return "tag without '='";
    const std::string_view name = trim(spec.substr(0, equals));
    const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (name.empty() || !alpha(name.front())) return "bad tag name";
    for (char c : name) {
      if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return "bad tag name";
    }
  }
  return {};
}

// Tag checks shared by AMS and AS (RFC 8617 §4.1.2, §4.1.3): well-formed list, required
// tags, a=rsa-sha256.
std::string check_tags(const ArcField& field, std::initializer_list<std::string_view> required) {
  const std::string name(kMemberNames[static_cast<std::size_t>(field.member)]);
  const std::string where = name + " i=" + std::to_string(field.instance);
  if (!field.tags.error.empty()) return where + ": " + field.tags.error;
  if (std::string error = tag_syntax_error(field.field->raw_value); !error.empty()) {
    return where + ": " + error;
  }
  for (std::string_view tag : required) {
    if (field.tags.find(tag) == nullptr) return where + " without " + std::string(tag) + "=";
  }
  if (!util::iequals_ascii(*field.tags.find("a"), kRsaSha256)) {
    return where + ": algorithm " + *field.tags.find("a") + " (only rsa-sha256)";
  }
  if (field.tags.find("d")->empty() || field.tags.find("s")->empty()) {
    return where + " with an empty d= or s=";
  }
  return {};
}

bool h_names_arc_seal(std::string_view h) {
  std::size_t start = 0;
  while (start <= h.size()) {
    std::size_t end = h.find(':', start);
    if (end == std::string_view::npos) end = h.size();
    if (util::iequals_ascii(trim(h.substr(start, end - start)), "arc-seal")) return true;
    start = end + 1;
  }
  return false;
}

// A header field as the hash sees it when it is the signature itself: b= emptied, no CRLF.
void append_self(std::string& data, const mail::HeaderField& field) {
  append_canonical_header(data, Canonicalization::kRelaxed, field.name,
                          without_b_value(field.raw_value));
  data.resize(data.size() - 2);
}

// Relaxed canonical form of the sets 1..instance, the seal of `instance` without b=.
std::string seal_data(const Chain& chain, unsigned instance) {
  std::string data;
  for (unsigned i = 1; i <= instance; ++i) {
    const Set& set = chain.sets[i - 1];
    for (Member m : {Member::kAuthResults, Member::kMessageSignature}) {
      const mail::HeaderField& f = *set.get(m)->field;
      append_canonical_header(data, Canonicalization::kRelaxed, f.name, f.raw_value);
    }
    const mail::HeaderField& seal = *set.get(Member::kSeal)->field;
    if (i < instance) {
      append_canonical_header(data, Canonicalization::kRelaxed, seal.name, seal.raw_value);
    } else {
      append_self(data, seal);
    }
  }
  return data;
}

// Tags written "name=value" joined by "; ", folded before a tag that would pass kFoldAt,
// b= values cut into folded pieces. `b` is inserted where the b tag is (empty: none yet).
std::string format_tags(const std::vector<std::pair<std::string, std::string>>& tags,
                        std::size_t first_line_used) {
  std::string out;
  std::size_t line = first_line_used;
  for (std::size_t n = 0; n < tags.size(); ++n) {
    std::string item = tags[n].first + "=" + tags[n].second + (n + 1 < tags.size() ? ";" : "");
    if (n > 0) {
      if (line + 1 + item.size() > kFoldAt) {
        out.append("\n\t");
        line = 1;
      } else {
        out.push_back(' ');
        ++line;
      }
    }
    if (tags[n].first == "b" && line + item.size() > kFoldAt) {
      // Cut b= so no line passes kFoldAt; whitespace inside b= is ignored (RFC 6376 §3.5).
      std::size_t pos = 0;
      while (pos < item.size()) {
        std::size_t room = kFoldAt > line ? kFoldAt - line : 1;
        if (room < 8) {
          out.append("\n\t");
          line = 1;
          continue;
        }
        const std::string piece = item.substr(pos, room);
        out.append(piece);
        line += piece.size();
        pos += piece.size();
        if (pos < item.size()) {
          out.append("\n\t");
          line = 1;
        }
      }
      continue;
    }
    out.append(item);
    line += item.size();
  }
  return out;
}

std::string sign_or_throw(const ArcSigningKey& key, std::string_view data) {
  const auto signature = sign_rsa_sha256(key.key.get(), data);
  if (!signature) throw std::runtime_error("ARC: OpenSSL could not sign");
  return base64_encode(*signature);
}

// Fills b= of `tags` by signing: the value with an empty b= is hashed as the field itself.
std::string signed_value(std::string_view field_name,
                         std::vector<std::pair<std::string, std::string>> tags,
                         std::string data_before, const ArcSigningKey& key) {
  const std::size_t used = field_name.size() + 2;
  const std::string unsigned_value = format_tags(tags, used);
  append_self(data_before, mail::HeaderField{std::string(field_name), " " + unsigned_value});
  const std::string b = sign_or_throw(key, data_before);
  for (auto& tag : tags) {
    if (tag.first == "b") tag.second = b;
  }
  return format_tags(tags, used);
}

}  // namespace

std::string_view to_token(ArcResult result) {
  switch (result) {
    case ArcResult::kNone:
      return "none";
    case ArcResult::kPass:
      return "pass";
    case ArcResult::kFail:
      return "fail";
    case ArcResult::kTempError:
      return "temperror";
  }
  return "none";
}

std::string_view to_token(ArcCv cv) {
  switch (cv) {
    case ArcCv::kNone:
      return "none";
    case ArcCv::kPass:
      return "pass";
    case ArcCv::kFail:
      return "fail";
  }
  return "none";
}

ArcSigningKey ArcSigningKey::load_file(const std::string& path, std::string domain,
                                       std::string selector) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("ARCKeyFile " + path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  Pkey key = rsa_private_key_from_pem(text.str());
  if (!key) throw std::runtime_error("ARCKeyFile " + path + ": not an RSA private key in PEM");
  ArcSigningKey out;
  out.domain = lower(domain);
  out.selector = std::move(selector);
  out.key = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
  return out;
}

std::string arc_message_signature(const ArcSigningKey& key, unsigned instance, std::int64_t t,
                                  std::string_view h, std::span<const mail::HeaderField> headers,
                                  std::string_view body_hash) {
  std::string data;
  for (const mail::HeaderField* field : select_signed_fields(headers, h)) {
    append_canonical_header(data, Canonicalization::kRelaxed, field->name, field->raw_value);
  }
  return signed_value(kMemberNames[1],
                      {{"a", std::string(kRsaSha256)},
                       {"b", ""},
                       {"bh", base64_encode(body_hash)},
                       {"c", "relaxed/relaxed"},
                       {"d", key.domain},
                       {"h", std::string(h)},
                       {"i", std::to_string(instance)},
                       {"s", key.selector},
                       {"t", std::to_string(t)}},
                      std::move(data), key);
}

std::string arc_seal(const ArcSigningKey& key, unsigned instance, std::int64_t t, ArcCv cv,
                     std::span<const mail::HeaderField> chain) {
  std::string data;
  for (const auto& field : chain) {
    append_canonical_header(data, Canonicalization::kRelaxed, field.name, field.raw_value);
  }
  return signed_value(kMemberNames[2],
                      {{"a", std::string(kRsaSha256)},
                       {"b", ""},
                       {"cv", std::string(to_token(cv))},
                       {"d", key.domain},
                       {"i", std::to_string(instance)},
                       {"s", key.selector},
                       {"t", std::to_string(t)}},
                      std::move(data), key);
}

struct ArcVerifier::Impl {
  Impl(dns::Resolver& resolver, ArcOptions opts, dns::Deadline deadline,
       const work::CancelToken* cancel)
      : options(opts), keys(resolver, opts.min_key_bits, deadline, cancel) {}

  ArcOptions options;
  KeyLookups keys;
  std::span<const mail::HeaderField> headers;
  Chain chain;
  bool ended_headers = false;
  std::vector<BodyHasher> hashers;  // one per body canonicalization in use
  std::optional<ArcChainResult> result;

  BodyHasher* hasher(Canonicalization canon) {
    for (auto& h : hashers) {
      if (h.canonicalization() == canon) return &h;
    }
    return nullptr;
  }
  void want_hasher(Canonicalization canon) {
    if (hasher(canon) == nullptr) hashers.emplace_back(canon);
  }

  // The structural and cv rules; empty when they hold.
  std::string structure_error(ArcChainResult& out) {
    if (!chain.error.empty()) return chain.error;
    for (std::size_t n = 0; n < chain.sets.size(); ++n) {
      const Set& set = chain.sets[n];
      const ArcField& seal = *set.get(Member::kSeal);
      const ArcField& ams = *set.get(Member::kMessageSignature);
      std::string error = check_tags(seal, {"i", "a", "b", "cv", "d", "s"});
      if (error.empty()) error = check_tags(ams, {"i", "a", "b", "bh", "d", "h", "s"});
      if (!error.empty()) return error;
      if (seal.tags.find("h") != nullptr) {
        return "ARC-Seal i=" + std::to_string(n + 1) + " with h= (not allowed in a seal)";
      }
      if (h_names_arc_seal(*ams.tags.find("h"))) {
        return "ARC-Message-Signature i=" + std::to_string(n + 1) +
               " signs ARC-Seal (not allowed, RFC 8617 4.1.2)";
      }
      const auto cv = parse_cv(*seal.tags.find("cv"));
      if (!cv) return "ARC-Seal i=" + std::to_string(n + 1) + " with a bad cv=";
      if (!parse_canonicalization(ams.tags.find("c") ? *ams.tags.find("c") : "")) {
        return "ARC-Message-Signature i=" + std::to_string(n + 1) + " with a bad c=";
      }
      ArcSetSummary summary;
      summary.instance = static_cast<unsigned>(n + 1);
      summary.sealer = lower(*seal.tags.find("d"));
      summary.selector = *seal.tags.find("s");
      summary.auth_results = set.get(Member::kAuthResults)->payload;
      summary.cv = *cv;
      out.sets.push_back(std::move(summary));
    }
    out.newest_cv = out.sets.back().cv;
    if (out.newest_cv == ArcCv::kFail) return "newest ARC-Seal says cv=fail";
    for (const auto& set : out.sets) {
      if (set.instance == 1 && set.cv != ArcCv::kNone)
        return "ARC-Seal i=1 with cv other than none";
      if (set.instance > 1 && set.cv != ArcCv::kPass) {
        return "ARC-Seal i=" + std::to_string(set.instance) + " with cv other than pass";
      }
    }
    return {};
  }

  enum class Check { kPass, kFail, kTemp };
  struct CheckOutcome {
    Check check = Check::kFail;
    std::string why;
  };

  CheckOutcome verify_with_key(const ArcField& field, const std::string& data,
                               std::string_view what) {
    const PublicKey& key = keys.get(*field.tags.find("s"), *field.tags.find("d"));
    const std::string where = std::string(what) + " i=" + std::to_string(field.instance);
    if (key.status == KeyStatus::kTempError) return {Check::kTemp, where + ": " + key.error};
    if (key.status != KeyStatus::kOk) return {Check::kFail, where + ": " + key.error};
    const auto signature = base64_decode(*field.tags.find("b"));
    if (!signature || !verify_rsa_sha256(key.key.get(), data, *signature)) {
      return {Check::kFail, where + " did not verify"};
    }
    return {Check::kPass, {}};
  }

  CheckOutcome verify_ams(unsigned instance) {
    const ArcField& ams = *chain.sets[instance - 1].get(Member::kMessageSignature);
    const auto canon = *parse_canonicalization(ams.tags.find("c") ? *ams.tags.find("c") : "");
    const std::string where = "ARC-Message-Signature i=" + std::to_string(instance);
    BodyHasher* body = hasher(canon.body);
    const auto bh = base64_decode(*ams.tags.find("bh"));
    if (body == nullptr || !bh || *bh != body->finish()) {
      return {Check::kFail, where + ": body hash mismatch"};
    }
    return verify_with_key(
        ams, signed_header_data(headers, *ams.tags.find("h"), canon.header, *ams.field),
        "ARC-Message-Signature");
  }

  CheckOutcome verify_seal(unsigned instance) {
    return verify_with_key(*chain.sets[instance - 1].get(Member::kSeal), seal_data(chain, instance),
                           "ARC-Seal");
  }

  ArcChainResult judge() {
    ArcChainResult out;
    if (!chain.present) return out;
    out.instances = static_cast<unsigned>(chain.sets.size());
    if (std::string error = structure_error(out); !error.empty()) {
      out.result = ArcResult::kFail;
      out.comment = std::move(error);
      if (!chain.error.empty()) out.sets.clear();
      return out;
    }
    const unsigned newest = out.instances;
    bool temporary = false;
    std::string temporary_why;
    const CheckOutcome ams = verify_ams(newest);
    if (ams.check == Check::kFail) {
      out.result = ArcResult::kFail;
      out.comment = ams.why;
      return out;
    }
    if (ams.check == Check::kTemp) {
      temporary = true;
      temporary_why = ams.why;
    }
    for (unsigned i = newest; i >= 1; --i) {
      const CheckOutcome seal = verify_seal(i);
      if (seal.check == Check::kFail) {
        out.result = ArcResult::kFail;
        out.comment = seal.why;
        return out;
      }
      if (seal.check == Check::kTemp && !temporary) {
        temporary = true;
        temporary_why = seal.why;
      }
    }
    if (temporary) {
      out.result = ArcResult::kTempError;
      out.comment = temporary_why;
      return out;
    }
    out.result = ArcResult::kPass;
    // §5.2 step 5: the oldest AMS from which on all of them still verify.
    for (unsigned i = newest - 1; i >= 1; --i) {
      if (verify_ams(i).check != Check::kPass) {
        out.oldest_pass = i + 1;
        break;
      }
    }
    return out;
  }
};

ArcVerifier::ArcVerifier(dns::Resolver& resolver, ArcOptions options, dns::Deadline deadline,
                         const work::CancelToken* cancel)
    : impl_(std::make_unique<Impl>(resolver, options, deadline, cancel)) {}

ArcVerifier::~ArcVerifier() = default;

void ArcVerifier::end_of_headers(std::span<const mail::HeaderField> headers) {
  Impl& d = *impl_;
  if (d.ended_headers) return;
  d.ended_headers = true;
  d.headers = headers;
  d.chain = parse_chain(headers);
  if (d.options.seal_body_hash) d.want_hasher(Canonicalization::kRelaxed);
  if (!d.chain.present || !d.chain.error.empty()) return;
  // Keys and body hashes for every set that can be judged: lookups run while the body
  // streams.
  for (const Set& set : d.chain.sets) {
    for (Member m : {Member::kSeal, Member::kMessageSignature}) {
      const ArcField& field = *set.get(m);
      const std::string* s = field.tags.find("s");
      const std::string* dom = field.tags.find("d");
      if (s != nullptr && dom != nullptr) d.keys.start(*s, *dom);
    }
    const ArcField& ams = *set.get(Member::kMessageSignature);
    const std::string* c = ams.tags.find("c");
    if (const auto canon = parse_canonicalization(c ? *c : "")) d.want_hasher(canon->body);
  }
}

void ArcVerifier::body(std::string_view chunk) {
  for (auto& hasher : impl_->hashers) hasher.update(chunk);
}

const ArcChainResult& ArcVerifier::finish() {
  Impl& d = *impl_;
  if (!d.result) {
    if (!d.ended_headers) end_of_headers({});
    d.result = d.judge();
  }
  return *d.result;
}

std::optional<ArcSealedSet> ArcVerifier::seal(const ArcSigningKey& key,
                                              std::string_view auth_results, std::int64_t now) {
  Impl& d = *impl_;
  const ArcChainResult& chain = finish();
  if (chain.result == ArcResult::kTempError) return std::nullopt;
  if (!d.chain.error.empty()) return std::nullopt;  // no sound earlier sets to seal over
  const unsigned instance = chain.instances + 1;
  if (instance > kMaxArcInstances) return std::nullopt;
  BodyHasher* body = d.hasher(Canonicalization::kRelaxed);
  if (body == nullptr) return std::nullopt;
  const ArcCv cv = instance == 1                      ? ArcCv::kNone
                   : chain.result == ArcResult::kPass ? ArcCv::kPass
                                                      : ArcCv::kFail;
  ArcSealedSet out;
  out.instance = instance;
  out.authentication_results = "i=" + std::to_string(instance) + "; " + std::string(auth_results);
  std::string h;
  for (std::string_view name : kSealedHeaderNames) {
    const bool present =
        name == "from" || std::any_of(d.headers.begin(), d.headers.end(), [&](const auto& f) {
          return util::iequals_ascii(trim(f.name), name);
        });
    if (present) h += (h.empty() ? "" : ":") + std::string(name);
  }
  try {
    out.message_signature = arc_message_signature(key, instance, now, h, d.headers, body->finish());
    // RFC 8617 §5.1.2: after a failed chain the seal covers only its own set.
    std::vector<mail::HeaderField> fields;
    for (unsigned i = 1; i < instance && cv != ArcCv::kFail; ++i) {
      const Set& set = d.chain.sets[i - 1];
      for (Member m : {Member::kAuthResults, Member::kMessageSignature, Member::kSeal}) {
        fields.push_back(*set.get(m)->field);
      }
    }
    fields.push_back({std::string(kMemberNames[0]), " " + out.authentication_results});
    fields.push_back({std::string(kMemberNames[1]), " " + out.message_signature});
    out.seal = arc_seal(key, instance, now, cv, fields);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
  return out;
}

}  // namespace authmilter::dkim

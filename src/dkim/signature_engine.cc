#include "authmilter/dkim/signature_engine.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dkim/tag_list.h"
#include "authmilter/util/ascii.h"
#include "authmilter/util/domain_name.h"

namespace authmilter::dkim {
namespace {

// A colon-separated list (h=, s=) containing `item` (case-insensitive).
bool list_has(std::string_view list, std::string_view item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(':', start);
    if (end == std::string_view::npos) end = list.size();
    if (util::iequals_ascii(list.substr(start, end - start), item)) return true;
    start = end + 1;
  }
  return false;
}

PublicKey refused(KeyStatus status, std::string error) {
  PublicKey key;
  key.status = status;
  key.error = std::move(error);
  return key;
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

PublicKey parse_key_record(std::string_view text, unsigned min_key_bits) {
  if (text.size() > kMaxKeyRecordBytes)
    return refused(KeyStatus::kPermError, "key record too long");
  const TagList tags = parse_tag_list(text);
  if (!tags.error.empty()) return refused(KeyStatus::kPermError, "bad key record: " + tags.error);
  if (const std::string* v = tags.find("v"); v != nullptr && *v != "DKIM1") {
    return refused(KeyStatus::kPermError, "bad key record version");
  }
  if (const std::string* k = tags.find("k"); k != nullptr && !util::iequals_ascii(*k, "rsa")) {
    return refused(KeyStatus::kPermError, "key type is not rsa");
  }
  if (const std::string* h = tags.find("h"); h != nullptr && !list_has(*h, "sha256")) {
    return refused(KeyStatus::kPermError, "key does not allow sha256");
  }
  if (const std::string* s = tags.find("s");
      s != nullptr && !list_has(*s, "email") && !list_has(*s, "*")) {
    return refused(KeyStatus::kPermError, "key not for email");
  }
  const std::string* p = tags.find("p");
  if (p == nullptr) return refused(KeyStatus::kPermError, "key record without p=");
  if (p->empty()) return refused(KeyStatus::kPermError, "key revoked");
  const std::optional<std::string> der = base64_decode(*p);
  if (!der || der->empty()) return refused(KeyStatus::kPermError, "key not base64");
  const auto* in = reinterpret_cast<const unsigned char*>(der->data());
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
  if (raw == nullptr) {
    in = reinterpret_cast<const unsigned char*>(der->data());
    raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size()));
  }
  if (raw == nullptr) return refused(KeyStatus::kPermError, "key not decodable");
  PublicKey key;
  key.key = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
    return refused(KeyStatus::kPermError, "key is not an RSA key");
  }
  key.bits = static_cast<unsigned>(EVP_PKEY_get_bits(raw));
  if (key.bits < min_key_bits) {
    return refused(KeyStatus::kPermError, "key too short (" + std::to_string(key.bits) + " bits)");
  }
  if (const std::string* t = tags.find("t"); t != nullptr) key.testing = list_has(*t, "y");
  key.status = KeyStatus::kOk;
  return key;
}

std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view a_tag) {
  if (util::iequals_ascii(a_tag, "rsa-sha256")) return SignatureAlgorithm::kRsaSha256;
  if (util::iequals_ascii(a_tag, "ed25519-sha256")) return SignatureAlgorithm::kEd25519Sha256;
  if (util::iequals_ascii(a_tag, "rsa-sha1")) return SignatureAlgorithm::kRsaSha1;
  return std::nullopt;
}

const EVP_MD* hash_of(SignatureAlgorithm algorithm) {
  return algorithm == SignatureAlgorithm::kRsaSha1 ? EVP_sha1() : EVP_sha256();
}

DkimKey parse_dkim_key(std::string_view text, SignatureAlgorithm algorithm) {
  DkimKey out;
  auto refuse = [&out](std::string error) {
    out.error = std::move(error);
    return out;
  };
  if (text.size() > kMaxKeyRecordBytes) return refuse("key record too long");
  const TagList tags = parse_tag_list(text);
  // RFC 6376 §3.2: a duplicated tag makes the whole record invalid (libopendkim keeps one).
  if (!tags.error.empty()) return refuse("key record syntax error: " + tags.error);
  // RFC 6376 §3.2: bytes and tag names (NUL, controls, 8-bit, "a b=": libopendkim refuses
  // them too).
  if (!tag_list_bytes_valid(text)) return refuse("key record syntax error: invalid character");
  if (!tag_names_valid(text)) return refuse("key record syntax error: invalid tag name");
  const std::string* p = tags.find("p");
  if (p == nullptr) return refuse("key record syntax error: no p=");
  if (const std::string* v = tags.find("v"); v != nullptr && *v != "DKIM1") {
    return refuse("unknown key version");
  }
  const bool ed25519 = algorithm == SignatureAlgorithm::kEd25519Sha256;
  const std::string* k = tags.find("k");
  const std::string type = k != nullptr ? util::lowercase_ascii(*k) : std::string("rsa");
  if (type != "rsa" && type != "ed25519") return refuse("unknown key type");
  // RFC 6376 §6.1.2 step 7, RFC 8463 §4.2: the key's type must suit a=.
  if ((type == "ed25519") != ed25519) return refuse("key type does not match the algorithm");
  if (const std::string* h = tags.find("h");
      h != nullptr &&
      !list_has(*h, algorithm == SignatureAlgorithm::kRsaSha1 ? "sha1" : "sha256")) {
    return refuse("key h= does not allow the signature's hash");
  }
  if (const std::string* s = tags.find("s");
      s != nullptr && !list_has(*s, "email") && !list_has(*s, "*")) {
    return refuse("key s= does not allow email");
  }
  if (const std::string* t = tags.find("t"); t != nullptr) {
    out.testing = list_has(*t, "y");
    out.strict_identity = list_has(*t, "s");
  }
  if (p->empty()) return refuse("key revoked");
  const std::optional<std::string> der = base64_decode(*p);
  if (!der || der->empty()) return refuse("key could not be decoded");
  const auto* in = reinterpret_cast<const unsigned char*>(der->data());
  EVP_PKEY* raw = nullptr;
  if (ed25519) {
    // RFC 8463 §4.2: p= is the raw 32-byte public key, not a SubjectPublicKeyInfo.
    if (der->size() == 32) {
      raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, in, der->size());
    }
  } else {
    raw = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
    if (raw == nullptr) {
      in = reinterpret_cast<const unsigned char*>(der->data());
      raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &in, static_cast<long>(der->size()));
    }
  }
  if (raw == nullptr) return refuse("key could not be decoded");
  out.key = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  if (EVP_PKEY_get_base_id(raw) != (ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA)) {
    out.key.reset();
    return refuse("key could not be decoded");
  }
  out.bits = ed25519 ? 256u : static_cast<unsigned>(EVP_PKEY_get_bits(raw));
  out.status = KeyStatus::kOk;
  return out;
}

std::string key_name(std::string_view selector, std::string_view domain) {
  std::string name(selector);
  name += "._domainkey.";
  name += domain;
  return dns::normalize_name(name);
}

bool valid_key_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // one root dot at most
  if (!util::fits_domain_name_limits(name)) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

KeyLookups::KeyLookups(dns::Resolver& resolver, unsigned min_key_bits, dns::Deadline deadline,
                       const work::CancelToken* cancel)
    : resolver_(resolver),
      min_key_bits_(min_key_bits),
      deadline_(deadline),
      cancel_(cancel),
      invalid_name_(refused(KeyStatus::kPermError, "bad selector or domain")),
      invalid_record_{KeyStatus::kPermError, {}, false, "bad selector or domain"} {}

bool KeyLookups::start(std::string_view selector, std::string_view domain) {
  const std::string name = key_name(selector, domain);
  if (selector.empty() || domain.empty() || !valid_key_name(name)) return false;
  if (started_.count(name) == 0 && started_.size() < kMaxKeyLookups) {
    started_.emplace(name, resolver_.start(name, dns::RrType::kTxt));
  }
  return true;
}

const KeyRecord& KeyLookups::record(std::string_view selector, std::string_view domain) {
  const std::string name = key_name(selector, domain);
  if (auto it = records_.find(name); it != records_.end()) return it->second;
  if (!start(selector, domain)) return invalid_record_;
  auto pending = started_.find(name);
  if (pending == started_.end()) {
    static const KeyRecord too_many{KeyStatus::kPermError, {}, false, "too many keys"};
    return too_many;
  }
  const dns::Answer answer = dns::Resolver::await(pending->second, deadline_, cancel_);
  KeyRecord out;
  if (answer.is_temporary_failure()) {
    out.status = KeyStatus::kTempError;
    out.error = dns::failure_text(answer, name, dns::RrType::kTxt);
  } else if (!answer.has_records()) {
    out.error = "no key";
  } else if (answer.records.size() > 1) {
    out.error = "several key records";
  } else {
    const dns::Record& found = answer.records.front();
    if (found.strings.empty()) {
      out.text = found.data;
    } else {
      for (const auto& piece : found.strings) out.text += piece;
    }
    out.status = KeyStatus::kOk;
    out.authenticated = answer.authenticated;
  }
  return records_.emplace(name, std::move(out)).first->second;
}

const PublicKey& KeyLookups::get(std::string_view selector, std::string_view domain) {
  const std::string name = key_name(selector, domain);
  if (auto it = keys_.find(name); it != keys_.end()) return it->second;
  const KeyRecord& found = record(selector, domain);
  if (&found == &invalid_record_) return invalid_name_;
  PublicKey key = found.status == KeyStatus::kOk ? parse_key_record(found.text, min_key_bits_)
                                                 : refused(found.status, found.error);
  return keys_.emplace(name, std::move(key)).first->second;
}

bool verify_rsa_sha256(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  if (key == nullptr || signature.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

bool verify_signature(EVP_PKEY* key, SignatureAlgorithm algorithm, std::string_view data,
                      std::string_view signature) {
  if (key == nullptr || signature.empty()) return false;
  const bool ed25519 = algorithm == SignatureAlgorithm::kEd25519Sha256;
  if (EVP_PKEY_get_base_id(key) != (ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA)) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (ed25519) {
    // RFC 8463 §3: PureEdDSA over the SHA-256 of the header data, not over the data.
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1 ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
      return false;
    }
    return EVP_DigestVerify(ctx.get(), sig, signature.size(), digest, digest_size) == 1;
  }
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, hash_of(algorithm), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), sig, signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

std::optional<std::string> sign_rsa_sha256(EVP_PKEY* key, std::string_view data) {
  if (key == nullptr) return std::nullopt;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return std::nullopt;
  }
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, in, data.size()) != 1) return std::nullopt;
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in,
                     data.size()) != 1) {
    return std::nullopt;
  }
  signature.resize(size);
  return signature;
}

Pkey rsa_private_key_from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return nullptr;
  return key;
}

}  // namespace authmilter::dkim

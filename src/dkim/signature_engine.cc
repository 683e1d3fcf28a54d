#include "authmilter/dkim/signature_engine.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dkim/tag_list.h"
#include "authmilter/util/ascii.h"
#include "key_lookup.h"

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

KeyLookups::KeyLookups(dns::Resolver& resolver, unsigned min_key_bits, dns::Deadline deadline,
                       const work::CancelToken* cancel)
    : resolver_(resolver),
      min_key_bits_(min_key_bits),
      deadline_(deadline),
      cancel_(cancel),
      invalid_name_(refused(KeyStatus::kPermError, "bad selector or domain")) {}

bool KeyLookups::start(std::string_view selector, std::string_view domain) {
  const std::string name = detail::key_name(selector, domain);
  if (selector.empty() || domain.empty() || !detail::valid_key_name(name)) return false;
  if (started_.count(name) == 0 && started_.size() < kMaxKeyLookups) {
    started_.emplace(name, resolver_.start(name, dns::RrType::kTxt));
  }
  return true;
}

const PublicKey& KeyLookups::get(std::string_view selector, std::string_view domain) {
  const std::string name = detail::key_name(selector, domain);
  if (auto it = keys_.find(name); it != keys_.end()) return it->second;
  if (!start(selector, domain)) return invalid_name_;
  auto pending = started_.find(name);
  if (pending == started_.end()) {
    static const PublicKey too_many = refused(KeyStatus::kPermError, "too many keys");
    return too_many;
  }
  const dns::Answer answer = dns::Resolver::await(pending->second, deadline_, cancel_);
  PublicKey key;
  if (answer.is_temporary_failure()) {
    key = refused(KeyStatus::kTempError, dns::failure_text(answer, name, dns::RrType::kTxt));
  } else if (!answer.has_records()) {
    key = refused(KeyStatus::kPermError, "no key");
  } else if (answer.records.size() > 1) {
    key = refused(KeyStatus::kPermError, "several key records");
  } else {
    const dns::Record& record = answer.records.front();
    std::string text;
    if (record.strings.empty()) {
      text = record.data;
    } else {
      for (const auto& piece : record.strings) text += piece;
    }
    key = parse_key_record(text, min_key_bits_);
  }
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

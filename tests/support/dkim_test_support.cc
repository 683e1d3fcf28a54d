// The test signer of dkim_test_support.h (its own checks against RFC 6376 / RFC 8463 are in
// tests/unit/dkim_support_test.cc).
#include "dkim_test_support.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace authmilter::dkim::testing {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string field_name(std::string_view field) {
  std::string_view name = field.substr(0, field.find(':'));
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  return std::string(name);
}

const EVP_MD* digest_of(std::string_view algorithm) {
  if (algorithm == "rsa-sha1") return EVP_sha1();
  return EVP_sha256();
}

std::string digest(std::string_view data, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, md, nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string sign_data(std::string_view data, std::string_view algorithm, EVP_PKEY* key) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string input(data);
  const EVP_MD* md = digest_of(algorithm);
  if (algorithm == "ed25519-sha256") {
    // RFC 8463 §3: Ed25519 (pure) over the SHA-256 hash of the signed data.
    input = digest(data, EVP_sha256());
    md = nullptr;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1) {
    throw std::runtime_error("EVP_DigestSignInit failed");
  }
  std::size_t length = 0;
  auto in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, in, input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign (size) failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, in,
                     input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  signature.resize(length);
  return signature;
}

std::pair<bool, bool> relaxed_pair(std::string_view canonicalization) {
  std::size_t slash = canonicalization.find('/');
  std::string_view header = canonicalization.substr(0, slash);
  std::string_view body =
      slash == std::string_view::npos ? "simple" : canonicalization.substr(slash + 1);
  return {header == "relaxed", body == "relaxed"};
}

// RFC 6376 §5.4.2: each name takes the last not yet used instance, from the bottom up.
std::string signed_headers(const Message& message, const std::vector<std::string>& names,
                           bool relaxed) {
  std::vector<bool> used(message.fields.size(), false);
  std::string out;
  for (const auto& name : names) {
    for (std::size_t i = message.fields.size(); i-- > 0;) {
      if (used[i] || !iequals(field_name(message.fields[i]), name)) continue;
      used[i] = true;
      out += canon_header(message.fields[i], relaxed);
      break;
    }
  }
  return out;
}

}  // namespace

Key generate_rsa(unsigned bits) {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!key) throw std::runtime_error("RSA key generation failed");
  return key;
}

Key generate_ed25519() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) throw std::runtime_error("Ed25519 key generation failed");
  return key;
}

Key ed25519_from_seed(std::string_view seed) {
  Key key(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size()));
  if (!key) throw std::runtime_error("bad Ed25519 seed");
  return key;
}

Key private_key_from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("bad PEM private key");
  return key;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(data.data()),
                               static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

std::string without_whitespace(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!is_wsp(c) && c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

std::string unbase64(std::string_view text) {
  std::string clean = without_whitespace(text);
  std::string out(3 * (clean.size() / 4) + 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(clean.data()),
                               static_cast<int>(clean.size()));
  if (length < 0) throw std::runtime_error("bad base64");
  std::size_t size = static_cast<std::size_t>(length);
  // EVP_DecodeBlock counts the padding as zero bytes.
  if (!clean.empty() && clean.back() == '=') --size;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string public_key_base64(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    std::size_t length = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1) {
      throw std::runtime_error("no raw Ed25519 public key");
    }
    return base64(std::string_view(reinterpret_cast<char*>(raw), length));
  }
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(key, &der);
  if (length <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  std::string out =
      base64(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(length)));
  OPENSSL_free(der);
  return out;
}

std::string key_record(EVP_PKEY* key, std::string_view extra) {
  std::string type = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? "ed25519" : "rsa";
  return "v=DKIM1; k=" + type + "; " + std::string(extra) + "p=" + public_key_base64(key);
}

std::vector<std::string> txt_strings(std::string_view record) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < record.size(); pos += 255) {
    out.emplace_back(record.substr(pos, 255));
  }
  return out;
}

Message parse_message(std::string_view text) {
  std::string crlf;
  crlf.reserve(text.size() + text.size() / 16);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) crlf.push_back('\r');
    crlf.push_back(text[i]);
  }
  Message message;
  std::size_t pos = 0;
  while (pos < crlf.size()) {
    std::size_t end = crlf.find("\r\n", pos);
    if (end == std::string::npos) end = crlf.size();
    std::string line = crlf.substr(pos, end - pos);
    pos = std::min(end + 2, crlf.size());
    if (line.empty()) {
      message.body = crlf.substr(pos);
      return message;
    }
    if (is_wsp(line[0]) && !message.fields.empty()) {
      message.fields.back() += "\r\n" + line;
    } else {
      message.fields.push_back(line);
    }
  }
  return message;
}

std::string Message::text() const {
  std::string out;
  for (const auto& field : fields) out += field + "\r\n";
  return out + "\r\n" + body;
}

std::string canon_header(std::string_view field, bool relaxed) {
  if (!relaxed) return std::string(field) + "\r\n";
  std::size_t colon = field.find(':');
  std::string name = field_name(field);
  std::transform(name.begin(), name.end(), name.begin(), lower);
  std::string value;
  bool space = false;
  for (char c : field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      space = true;
      continue;
    }
    if (space && !value.empty()) value.push_back(' ');
    space = false;
    value.push_back(c);
  }
  return name + ":" + value + "\r\n";
}

std::string canon_body(std::string_view body, bool relaxed) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find("\r\n", pos);
    if (end == std::string_view::npos) end = body.size();
    lines.emplace_back(body.substr(pos, end - pos));
    pos = end + 2;
  }
  if (relaxed) {
    for (auto& line : lines) {
      std::string out;
      bool space = false;
      for (char c : line) {
        if (is_wsp(c)) {
          space = true;
          continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
      }
      line = out;  // trailing WSP dropped with the pending space
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const auto& line : lines) out += line + "\r\n";
  if (out.empty() && !relaxed) out = "\r\n";
  return out;
}

std::string body_hash(std::string_view body, bool relaxed, std::string_view algorithm,
                      std::optional<std::size_t> length) {
  std::string canonical = canon_body(body, relaxed);
  if (length && *length < canonical.size()) canonical.resize(*length);
  return base64(digest(canonical, digest_of(algorithm)));
}

std::string sign_template(const Message& message, std::string_view field_template,
                          const std::vector<std::string>& headers, std::string_view algorithm,
                          std::string_view canonicalization, EVP_PKEY* key) {
  bool relaxed_header = relaxed_pair(canonicalization).first;
  std::string data = signed_headers(message, headers, relaxed_header);
  std::string own = canon_header(field_template, relaxed_header);
  own.resize(own.size() - 2);  // RFC 6376 §3.7: the signature field without its CRLF
  data += own;
  return std::string(field_template) + base64(sign_data(data, algorithm, key));
}

std::string sign(const Message& message, const SignSpec& spec, EVP_PKEY* key) {
  auto [relaxed_header, relaxed_body] = relaxed_pair(spec.canonicalization);
  (void)relaxed_header;
  std::string field = "DKIM-Signature: v=1; a=" + spec.algorithm + "; c=" + spec.canonicalization +
                      "; d=" + spec.domain + "; s=" + spec.selector + ";";
  if (spec.identity) field += " i=" + *spec.identity + ";";
  if (spec.timestamp) field += " t=" + std::to_string(*spec.timestamp) + ";";
  if (spec.expiration) field += " x=" + std::to_string(*spec.expiration) + ";";
  if (spec.body_length) field += " l=" + std::to_string(*spec.body_length) + ";";
  std::string names;
  for (const auto& name : spec.headers) names += (names.empty() ? "" : ":") + name;
  field += "\r\n\t" + spec.extra_tags + "h=" + names +
           ";\r\n\tbh=" + body_hash(message.body, relaxed_body, spec.algorithm, spec.body_length) +
           ";\r\n\tb=";
  return sign_template(message, field, spec.headers, spec.algorithm, spec.canonicalization, key);
}

Message with_signatures(const Message& message, const std::vector<std::string>& signatures) {
  Message out;
  out.fields = signatures;
  out.fields.insert(out.fields.end(), message.fields.begin(), message.fields.end());
  out.body = message.body;
  return out;
}

std::vector<SignatureResult> verify(Verifier& verifier, const Message& message, Feed feed,
                                    std::size_t chunk) {
  for (const auto& field : message.fields) {
    if (feed == Feed::kRaw) {
      verifier.header_field(field);
      continue;
    }
    // As the milter passes it: the value without its leading space, which the Transaction
    // puts back as one space (no SMFIP_HDR_LEADSPC).
    std::size_t colon = field.find(':');
    std::string_view value = std::string_view(field).substr(colon + 1);
    while (!value.empty() && is_wsp(value.front())) value.remove_prefix(1);
    verifier.header({field.substr(0, colon), " " + std::string(value)});
  }
  verifier.end_of_headers();
  std::string_view body = message.body;
  std::size_t step = chunk == 0 ? std::max<std::size_t>(body.size(), 1) : chunk;
  for (std::size_t pos = 0; pos < body.size(); pos += step) verifier.body(body.substr(pos, step));
  return verifier.finish();
}

Message sample_message() {
  return parse_message(
      "From: Alice Example <alice@example.org>\r\n"
      "To: Bob <bob@example.net>\r\n"
      "Subject: Lunch on\r\n\tFriday?\r\n"
      "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
      "Message-ID: <20240101100000.1234@example.org>\r\n"
      "X-Mailer: unit test\r\n"
      "\r\n"
      "Hi Bob,\r\n"
      "\r\n"
      "shall  we meet\tat noon?   \r\n"
      "\r\n"
      "Alice\r\n"
      "\r\n"
      "\r\n");
}

const Keys& keys() {
  static const Keys instance{generate_rsa(1024), generate_rsa(2048), generate_rsa(512),
                             generate_ed25519(), generate_rsa(1024)};
  return instance;
}

std::vector<FakeDnsEntry> read_fake_dns(const std::string& path) {
  std::vector<FakeDnsEntry> entries;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const std::size_t space = line.find_first_of(" \t");
    if (space == std::string::npos) continue;
    FakeDnsEntry entry;
    entry.name = line.substr(0, space);
    const std::string rdata = line.substr(line.find_first_not_of(" \t", space));
    if (rdata == "NXDOMAIN") {
      entry.error = dns::Status::kNxDomain;
    } else if (rdata == "~~Query timed out~~") {
      entry.error = dns::Status::kTimeout;
    } else if (rdata == "~~SERVFAIL~~") {
      entry.error = dns::Status::kServFail;
    } else if (rdata != "\"\"") {
      entry.txt = rdata;
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace authmilter::dkim::testing

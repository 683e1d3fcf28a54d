#include "authmilter/dkim/canonicalize.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "authmilter/util/ascii.h"

namespace authmilter::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::optional<Canonicalization> parse_one(std::string_view value) {
  if (util::iequals_ascii(value, "simple")) return Canonicalization::kSimple;
  if (util::iequals_ascii(value, "relaxed")) return Canonicalization::kRelaxed;
  return std::nullopt;
}

std::string_view trim_wsp(std::string_view text) {
  while (!text.empty() && (is_wsp(text.front()) || text.front() == '\r' || text.front() == '\n'))
    text.remove_prefix(1);
  while (!text.empty() && (is_wsp(text.back()) || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<CanonicalizationPair> parse_canonicalization(std::string_view value) {
  CanonicalizationPair pair;
  if (value.empty()) return pair;
  const std::size_t slash = value.find('/');
  const auto header = parse_one(value.substr(0, slash));
  if (!header) return std::nullopt;
  pair.header = *header;
  if (slash != std::string_view::npos) {
    const auto body = parse_one(value.substr(slash + 1));
    if (!body) return std::nullopt;
    pair.body = *body;
  }
  return pair;
}

void append_canonical_header(std::string& out, Canonicalization canon, std::string_view name,
                             std::string_view raw_value) {
  if (canon == Canonicalization::kSimple) {
    out.append(name);
    out.push_back(':');
    // Line ends as CRLF: the milter hands folds over with bare LF.
    for (std::size_t i = 0; i < raw_value.size(); ++i) {
      const char c = raw_value[i];
      if (c == '\n' && (i == 0 || raw_value[i - 1] != '\r')) out.push_back('\r');
      out.push_back(c);
    }
    out.append("\r\n");
    return;
  }
  for (char c : trim_wsp(name)) out.push_back(lower(c));
  out.push_back(':');
  bool pending_space = false;
  bool started = false;
  for (char c : raw_value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  out.append("\r\n");
}

std::vector<const mail::HeaderField*> select_signed_fields(
    std::span<const mail::HeaderField> headers, std::string_view h_tag) {
  std::vector<const mail::HeaderField*> selected;
  std::vector<bool> used(headers.size(), false);
  std::size_t start = 0;
  while (start <= h_tag.size()) {
    std::size_t end = h_tag.find(':', start);
    if (end == std::string_view::npos) end = h_tag.size();
    const std::string_view name = trim_wsp(h_tag.substr(start, end - start));
    start = end + 1;
    if (name.empty()) continue;
    for (std::size_t i = headers.size(); i-- > 0;) {
      if (!used[i] && util::iequals_ascii(trim_wsp(headers[i].name), name)) {
        used[i] = true;
        selected.push_back(&headers[i]);
        break;
      }
    }
  }
  return selected;
}

std::string without_b_value(std::string_view raw_value) {
  std::string out;
  out.reserve(raw_value.size());
  std::size_t start = 0;
  while (start <= raw_value.size()) {
    std::size_t end = raw_value.find(';', start);
    if (end == std::string_view::npos) end = raw_value.size();
    const std::string_view spec = raw_value.substr(start, end - start);
    const std::size_t equals = spec.find('=');
    if (equals != std::string_view::npos && trim_wsp(spec.substr(0, equals)) == "b") {
      out.append(spec.substr(0, equals + 1));
    } else {
      out.append(spec);
    }
    if (end < raw_value.size()) out.push_back(';');
    start = end + 1;
  }
  return out;
}

std::string signed_header_data(std::span<const mail::HeaderField> headers, std::string_view h_tag,
                               Canonicalization canon, const mail::HeaderField& signature) {
  std::string data;
  for (const mail::HeaderField* field : select_signed_fields(headers, h_tag)) {
    append_canonical_header(data, canon, field->name, field->raw_value);
  }
  append_canonical_header(data, canon, signature.name, without_b_value(signature.raw_value));
  data.resize(data.size() - 2);  // the signature field's own CRLF is not signed
  return data;
}

BodyHasher::BodyHasher(Canonicalization canon) : canon_(canon), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot set up SHA-256");
  }
}

void BodyHasher::flush() {
  if (used_ == 0) return;
  EVP_DigestUpdate(ctx_.get(), buffer_.data(), used_);
  length_ += used_;
  used_ = 0;
}

void BodyHasher::content(char c) {
  if (!line_has_content_) {
    for (; held_empty_lines_ > 0; --held_empty_lines_) {
      emit('\r');
      emit('\n');
    }
    line_has_content_ = true;
    any_output_ = true;
  }
  emit(c);
}

void BodyHasher::end_line() {
  if (line_has_content_) {
    emit('\r');
    emit('\n');
  } else {
    ++held_empty_lines_;  // dropped if nothing follows (trailing empty lines)
  }
  line_has_content_ = false;
  pending_wsp_ = false;
}

void BodyHasher::byte(char c) {
  if (canon_ == Canonicalization::kRelaxed) {
    if (is_wsp(c)) {
      pending_wsp_ = true;  // written only when the line goes on
      return;
    }
    if (pending_wsp_) {
      pending_wsp_ = false;
      content(' ');
    }
  }
  content(c);
}

void BodyHasher::update(std::string_view chunk) {
  if (finished_) return;
  for (char c : chunk) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        end_line();
        continue;
      }
      byte('\r');  // a bare CR is line content
    }
    if (c == '\r') {
      pending_cr_ = true;
    } else if (c == '\n') {
      end_line();  // bare LF: a line end, as Postfix's milter protocol may hand it over
    } else {
      byte(c);
    }
  }
}

const std::string& BodyHasher::finish() {
  if (finished_) return digest_;
  if (pending_cr_) {
    pending_cr_ = false;
    byte('\r');
  }
  if (line_has_content_) {
    emit('\r');
    emit('\n');
  } else if (canon_ == Canonicalization::kSimple && !any_output_) {
    emit('\r');  // RFC 6376 §3.4.3: an empty body is one CRLF
    emit('\n');
  }
  flush();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &md_len);
  digest_.assign(reinterpret_cast<const char*>(md), md_len);
  finished_ = true;
  return digest_;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (is_wsp(c) || c == '\r' || c == '\n') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  const std::size_t first_pad = clean.find('=');
  if (first_pad != std::string::npos &&
      (clean.size() - first_pad > 2 ||
       clean.find_first_not_of('=', first_pad) != std::string::npos))
    return std::nullopt;
  std::string out(clean.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  const std::size_t pads = first_pad == std::string::npos ? 0 : clean.size() - first_pad;
  size -= pads;  // EVP_DecodeBlock counts padding as zero bytes
  out.resize(size);
  return out;
}

}  // namespace authmilter::dkim

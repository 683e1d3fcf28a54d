#include "authmilter/mail/auth_results_parse.h"
#include "authmilter/util/ascii.h"

namespace authmilter::mail {
namespace {

bool is_alpha_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 8601 Keyword is an RFC 5321 Ldh-str; '_' is accepted too (Fastmail's
// "smtp_is_org_domain", other x- extensions).
bool is_keyword_char(char c) { return is_alpha_digit(c) || c == '-' || c == '_'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One pass over the value; every read* method advances pos_ and returns false on a syntax
// error (the whole value is then unparsable).
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<ParsedAuthResults> parse() {
    ParsedAuthResults out;
    skip_cfws();
    if (!read_authserv_id(out.authserv_id)) return std::nullopt;
    if (skip_cfws() && !at_end() && is_digit(peek())) {
      if (!read_version(out.version)) return std::nullopt;
      skip_cfws();
    }
    if (failed_ || at_end() || peek() != ';') return std::nullopt;

    bool first = true;
    while (!at_end()) {
      if (peek() != ';') return std::nullopt;
      ++pos_;
      skip_cfws();
      if (failed_) return std::nullopt;
      if (at_end()) {
        // A ';' after the last resinfo is tolerated; after the authserv-id alone it is not.
        if (first) return std::nullopt;
        break;
      }
      std::string method;
      if (!read_keyword(method)) return std::nullopt;
      skip_cfws();
      if (failed_) return std::nullopt;
      if (first && method == "none" && (at_end() || (peek() != '=' && peek() != '/'))) {
        if (!at_end()) return std::nullopt;  // "none dkim=pass", "none; spf=pass"
        out.none = true;
        return out;
      }
      if (out.results.size() >= kMaxParsedResInfos) return std::nullopt;
      ParsedResInfo info;
      info.method = std::move(method);
      if (!read_resinfo_rest(info)) return std::nullopt;
      out.results.push_back(std::move(info));
      first = false;
    }
    return out;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }

  // CRLF, bare LF or bare CR, followed by WSP: a fold (RFC 5322 §2.2.3). Its length, or 0.
  std::size_t fold_length() const {
    std::size_t k = pos_;
    if (k < s_.size() && s_[k] == '\r') ++k;
    if (k < s_.size() && s_[k] == '\n') ++k;
    if (k == pos_ || k >= s_.size() || !is_wsp(s_[k])) return 0;
    return k - pos_;
  }

  // Skips CFWS; true when some was skipped. An unterminated or too deeply nested comment, or
  // a forbidden byte inside one, sets failed_. Stops at anything else (including a line
  // break that is not a fold, which no rule then accepts).
  bool skip_cfws() {
    const std::size_t start = pos_;
    while (!at_end() && !failed_) {
      const char c = peek();
      if (is_wsp(c)) {
        ++pos_;
      } else if (const std::size_t fold = fold_length(); fold > 0) {
        pos_ += fold;
      } else if (c == '(') {
        skip_comment();
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  // RFC 5322 §3.2.2 comment with nested comments (iteratively, depth counted) and
  // quoted-pairs; ctext is printable US-ASCII or well-formed UTF-8 (RFC 6532).
  void skip_comment() {
    std::size_t depth = 0;
    while (!at_end()) {
      const char c = peek();
      const auto u = static_cast<unsigned char>(c);
      if (c == '(') {
        if (++depth > kMaxCommentDepth) break;
        ++pos_;
      } else if (c == ')') {
        ++pos_;
        if (--depth == 0) return;
      } else if (c == '\\') {
        if (pos_ + 1 >= s_.size() || !quotable(s_[pos_ + 1])) break;
        pos_ += 2;
      } else if (const std::size_t fold = fold_length(); fold > 0) {
        pos_ += fold;
      } else if (is_wsp(c) || (u > 0x20 && u < 0x7f)) {
        ++pos_;
      } else if (const std::size_t len = utf8_text_length(s_, pos_); len > 0) {
        pos_ += len;
      } else {
        break;  // NUL, other controls, a bare CR/LF, malformed 8-bit
      }
    }
    failed_ = true;
  }

  // quoted-pair (RFC 5322 §3.2.1): VCHAR or WSP; obs-qp's NUL and controls are refused.
  static bool quotable(char c) {
    const auto u = static_cast<unsigned char>(c);
    return is_wsp(c) || (u > 0x20 && u < 0x7f) || u >= 0x80;
  }

  // At '"': the unquoted, unfolded content. Well-formed UTF-8 is kept (RFC 6532).
  bool read_quoted(std::string& out) {
    ++pos_;  // opening quote
    while (!at_end()) {
      const char c = peek();
      const auto u = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size() || !quotable(s_[pos_ + 1])) return false;
        if (static_cast<unsigned char>(s_[pos_ + 1]) >= 0x80) {
          const std::size_t len = utf8_text_length(s_, pos_ + 1);
          if (len == 0) return false;
          out.append(s_.substr(pos_ + 1, len));
          pos_ += 1 + len;
          continue;
        }
        out.push_back(s_[pos_ + 1]);
        pos_ += 2;
      } else if (const std::size_t fold = fold_length(); fold > 0) {
        pos_ += fold;  // unfolding keeps the WSP, which the next round appends
      } else if (is_wsp(c) || (u > 0x20 && u < 0x7f)) {
        out.push_back(c);
        ++pos_;
      } else if (const std::size_t len = utf8_text_length(s_, pos_); len > 0) {
        out.append(s_.substr(pos_, len));
        pos_ += len;
      } else {
        return false;
      }
    }
    return false;  // unterminated
  }

  // authserv-id = value (RFC 2045 token, with U-labels as RFC 8601 §2.5 allows, or a
  // quoted-string); non-empty, at most kMaxAuthservIdLength bytes.
  bool read_authserv_id(std::string& out) {
    if (failed_ || at_end()) return false;
    if (peek() == '"') {
      if (!read_quoted(out)) return false;
    } else {
      const std::size_t start = pos_;
      while (!at_end()) {
        std::size_t len = is_token_char(peek()) ? 1 : utf8_text_length(s_, pos_);
        if (len == 0) break;
        pos_ += len;
      }
      out.assign(s_.substr(start, pos_ - start));
    }
    return !out.empty() && out.size() <= kMaxAuthservIdLength;
  }

  bool read_version(std::string& out) {
    const std::size_t start = pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    out.assign(s_.substr(start, pos_ - start));
    return !out.empty() && out.size() <= kMaxAuthResultsVersionDigits;
  }

  // A Keyword, lower-cased; false when there is none or it is longer than kMaxKeywordLength.
  bool read_keyword(std::string& out) {
    const std::size_t start = pos_;
    while (!at_end() && is_keyword_char(peek())) ++pos_;
    const std::size_t n = pos_ - start;
    if (n == 0 || n > kMaxKeywordLength) return false;
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = util::to_lower_ascii(s_[start + i]);
    return true;
  }

  // True when a Keyword ["." Keyword] [CFWS] "=" starts at pos_: the next propspec.
  bool at_property_start() const {
    std::size_t k = pos_;
    auto keyword = [&] {
      const std::size_t start = k;
      while (k < s_.size() && is_keyword_char(s_[k])) ++k;
      return k > start;
    };
    if (!keyword()) return false;
    if (k < s_.size() && s_[k] == '.') {
      ++k;
      if (!keyword()) return false;
    }
    while (k < s_.size() && is_wsp(s_[k])) ++k;
    return k < s_.size() && s_[k] == '=';
  }

  // pvalue after '=': [CFWS] (quoted-string / run of value characters, possibly empty).
  // "x-ptr-lookup= smtp.helo=h": when CFWS follows the '=' and the next propspec starts
  // there, the value is empty (a run may hold '=' and '.', so it would swallow it).
  bool read_pvalue(std::string& out) {
    const bool skipped = skip_cfws();
    if (failed_) return false;
    if (skipped && at_property_start()) {
      out.clear();
      return true;
    }
    if (!at_end() && peek() == '"') return read_quoted(out);
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = peek();
      const auto u = static_cast<unsigned char>(c);
      std::size_t len = 0;
      if (u > 0x20 && u < 0x7f) {
        if (c == '(' || c == ')' || c == ';' || c == '"' || c == '\\') break;
        len = 1;
      } else {
        len = utf8_text_length(s_, pos_);
        if (len == 0) break;
      }
      pos_ += len;
    }
    out.assign(s_.substr(start, pos_ - start));
    return true;
  }

  bool expect(char c) {
    if (failed_ || at_end() || peek() != c) return false;
    ++pos_;
    return true;
  }

  // After the method keyword and its CFWS: ["/" version] "=" result, then reasonspec and
  // propspecs up to the next ';' or the end.
  bool read_resinfo_rest(ParsedResInfo& info) {
    if (!at_end() && peek() == '/') {
      ++pos_;
      skip_cfws();
      if (failed_ || !read_version(info.version)) return false;
      skip_cfws();
    }
    if (!expect('=')) return false;
    skip_cfws();
    if (failed_ || !read_keyword(info.result)) return false;

    bool reason_allowed = true;
    while (true) {
      skip_cfws();
      if (failed_) return false;
      if (at_end() || peek() == ';') return true;
      std::string name;
      if (!read_keyword(name)) return false;
      skip_cfws();
      if (failed_ || at_end()) return false;
      if (peek() == '.') {
        ++pos_;
        skip_cfws();
        std::string property;
        if (failed_ || !read_keyword(property)) return false;
        skip_cfws();
        std::string value;
        if (!expect('=') || !read_pvalue(value)) return false;
        if (info.properties.size() >= kMaxParsedProperties) return false;
        info.properties.emplace_back(name + "." + property, std::move(value));
        reason_allowed = false;
      } else if (peek() == '=') {
        ++pos_;
        std::string value;
        if (!read_pvalue(value)) return false;
        if (name == "reason" && reason_allowed) {
          info.reason = std::move(value);
          reason_allowed = false;
        }
        // Any other ptype-less "key=value" is skipped (see the header).
      } else {
        return false;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

std::optional<ParsedAuthResults> parse_authentication_results(std::string_view value) {
  if (value.size() > kMaxAuthResultsParseLength) return std::nullopt;
  // authres-payload ends in CRLF (RFC 8601 §2.2); milter values come without it.
  if (value.ends_with("\r\n")) {
    value.remove_suffix(2);
  } else if (value.ends_with('\n')) {
    value.remove_suffix(1);
  }
  return Parser(value).parse();
}

}  // namespace authmilter::mail

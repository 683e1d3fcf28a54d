#include "authmilter/mail/auth_results.h"

#include <stdexcept>

#include "authmilter/mail/address.h"
#include "authmilter/mail/header.h"

namespace authmilter::mail {
namespace {

constexpr std::string_view kEllipsis = "...";

// method, result, ptype, property: RFC 2045 token characters without '.' (RFC 8601 uses
// Keyword, which is stricter; token is what the lead's contract asks and still never needs
// quoting).
bool is_keyword(std::string_view s) {
  if (s.empty() || s.size() > kMaxKeywordLength) return false;
  for (char c : s) {
    if (!is_token_char(c) || c == '.') return false;
  }
  return true;
}

bool is_ptype_property(std::string_view s) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) return false;
  return is_keyword(s.substr(0, dot)) && is_keyword(s.substr(dot + 1));
}

// Non-empty, only token characters, no leading, trailing or doubled dot.
bool is_dot_atom_of_tokens(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_token_char(s[i])) return false;
    if (s[i] == '.' && s[i + 1] == '.') return false;  // i + 1 < size: s.back() != '.'
  }
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// RFC 8601 pvalue: value / [[local-part] "@"] domain-name. Written bare only when it is a
// token, or one '@' between an empty-or-dot-atom local part and a dot-atom domain.
bool can_write_bare(std::string_view v) {
  if (is_token(v)) return true;
  const auto at = v.find('@');
  if (at == std::string_view::npos || v.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view local = v.substr(0, at);
  return (local.empty() || is_dot_atom_of_tokens(local)) && is_dot_atom_of_tokens(v.substr(at + 1));
}

// Sanitized text cut to at most `cap` bytes on a character boundary, "..." marking the cut.
std::string clean(std::string_view raw, std::size_t cap) {
  std::string s = sanitize_for_header(raw);
  if (s.size() <= cap) return s;
  std::size_t cut = cap - kEllipsis.size();
  // sanitize_for_header() output is well-formed UTF-8: back off over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  s.append(kEllipsis);
  return s;
}

std::string pvalue(std::string_view raw) {
  std::string v = clean(raw, kMaxValueLength);
  return can_write_bare(v) ? v : quoted_string(v);
}

// The words of "(comment)": parentheses that pair up (nesting at most kMaxCommentDepth,
// counting the outer pair) stay, the others and every backslash get a backslash. Runs of
// spaces become one space, which is where the writer may fold (FWS inside a comment, RFC 5322
// §3.2.2). Empty when nothing printable is left.
std::vector<std::string> comment_words(std::string_view raw) {
  const std::string text = clean(raw, kMaxCommentLength);
  std::vector<bool> paired(text.size(), false);
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') {
      if (open.size() + 1 < kMaxCommentDepth) open.push_back(i);
    } else if (text[i] == ')' && !open.empty()) {
      paired[open.back()] = true;
      paired[i] = true;
      open.pop_back();
    }
  }
  std::vector<std::string> words;
  std::string word;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
      continue;
    }
    if (c == '\\' || ((c == '(' || c == ')') && !paired[i])) word.push_back('\\');
    word.push_back(c);
  }
  if (!word.empty()) words.push_back(std::move(word));
  if (!words.empty()) {
    words.front().insert(0, 1, '(');
    words.back().push_back(')');
  }
  return words;
}

// One resinfo as fold units (joined by one space unless a fold is needed); empty when the
// method or result is not a keyword.
std::vector<std::string> resinfo_units(const MethodResult& r) {
  std::vector<std::string> units;
  if (!is_keyword(r.method) || !is_keyword(r.result)) return units;
  units.push_back(r.method + "=" + r.result);
  if (!r.reason.empty()) {
    const std::string reason = clean(r.reason, kMaxReasonLength);
    if (!reason.empty()) units.push_back("reason=" + quoted_string(reason));
  }
  if (!r.comment.empty()) {
    for (auto& w : comment_words(r.comment)) units.push_back(std::move(w));
  }
  for (const auto& [name, value] : r.properties) {
    if (!is_ptype_property(name)) continue;
    units.push_back(name + "=" + pvalue(value));
  }
  return units;
}

bool is_crlf_fold_at(std::string_view s, std::size_t pos, std::size_t* fold_length) {
  // CRLF WSP, or LF WSP (libmilter/Postfix hand over LF line ends), or a lone CR WSP.
  std::size_t k = pos;
  if (k < s.size() && s[k] == '\r') ++k;
  if (k < s.size() && s[k] == '\n') ++k;
  if (k == pos || k >= s.size() || !is_wsp(s[k])) return false;
  *fold_length = k - pos;
  return true;
}

// Skips CFWS from pos. False on an unterminated comment, a dangling quoted-pair or nesting
// deeper than kMaxCommentDepth. Stops (true) at anything else, including a line break that
// is not a fold. Iterative: depth is a counter, not recursion.
bool skip_cfws(std::string_view s, std::size_t& pos) {
  while (pos < s.size()) {
    const char c = s[pos];
    std::size_t fold = 0;
    if (is_wsp(c)) {
      ++pos;
    } else if (is_crlf_fold_at(s, pos, &fold)) {
      pos += fold;
    } else if (c == '(') {
      std::size_t depth = 1;
      ++pos;
      while (depth > 0) {
        if (pos >= s.size()) return false;
        const char d = s[pos];
        if (d == '\\') {
          if (pos + 1 >= s.size()) return false;
          pos += 2;
          continue;
        }
        if (d == '(' && ++depth > kMaxCommentDepth) return false;
        if (d == ')') --depth;
        ++pos;
      }
    } else {
      return true;
    }
  }
  return true;
}

// Token characters, or well-formed non-ASCII UTF-8 (RFC 6532 / U-labels in the id).
std::size_t id_char_length(std::string_view s, std::size_t pos) {
  return is_token_char(s[pos]) ? 1 : utf8_text_length(s, pos);
}

// quoted-string content from pos (just after the opening quote); nullopt when unterminated or
// holding a control that RFC 5322 qtext/quoted-pair does not allow.
std::optional<std::string> read_quoted(std::string_view s, std::size_t& pos) {
  std::string out;
  while (pos < s.size()) {
    const char c = s[pos];
    const auto u = static_cast<unsigned char>(c);
    std::size_t fold = 0;
    if (c == '"') {
      ++pos;
      return out;
    }
    if (c == '\\') {
      if (pos + 1 >= s.size()) return std::nullopt;
      const auto q = static_cast<unsigned char>(s[pos + 1]);
      if (q == 0 || q == '\r' || q == '\n') return std::nullopt;
      out.push_back(s[pos + 1]);
      pos += 2;
    } else if (is_crlf_fold_at(s, pos, &fold)) {
      pos += fold;  // unfolding: the WSP after the break is kept by the next iteration
    } else if (is_wsp(c) || (u > 0x20 && u < 0x7f)) {
      out.push_back(c);
      ++pos;
    } else if (u >= 0x80) {
      const std::size_t len = id_char_length(s, pos);
      if (len == 0) return std::nullopt;
      out.append(s.substr(pos, len));
      pos += len;
    } else {
      return std::nullopt;  // NUL, a bare CR/LF, other controls
    }
  }
  return std::nullopt;
}

std::string_view without_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_valid_authserv_id(std::string_view authserv_id) {
  if (authserv_id.empty() || authserv_id.size() > kMaxAuthservIdLength) return false;
  std::size_t pos = 0;
  while (pos < authserv_id.size()) {
    const std::size_t len = id_char_length(authserv_id, pos);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

std::string format_authentication_results(std::string_view authserv_id,
                                          const std::vector<MethodResult>& results) {
  if (!is_valid_authserv_id(authserv_id)) {
    throw std::invalid_argument("invalid authserv-id for Authentication-Results");
  }
  std::vector<std::vector<std::string>> infos;
  infos.reserve(results.size());
  for (const auto& r : results) {
    auto units = resinfo_units(r);
    if (!units.empty()) infos.push_back(std::move(units));
  }

  std::string out(authserv_id);
  out.push_back(';');
  if (infos.empty()) {
    constexpr std::string_view kNone = "none";
    const bool fits = kHeaderPrefixLength + out.size() + 1 + kNone.size() <= kMaxLineLength;
    out.append(fits ? " " : "\n\t");
    out.append(kNone);
    return out;
  }
  for (std::size_t i = 0; i < infos.size(); ++i) {
    auto& units = infos[i];
    if (i + 1 < infos.size()) units.back().push_back(';');
    out.append("\n\t");
    std::size_t line = 1;  // the tab
    for (std::size_t j = 0; j < units.size(); ++j) {
      const std::string& u = units[j];
      if (j == 0) {
        out.append(u);
        line += u.size();
      } else if (line + 1 + u.size() > kMaxLineLength) {
        out.append("\n\t");
        out.append(u);
        line = 1 + u.size();
      } else {
        out.push_back(' ');
        out.append(u);
        line += 1 + u.size();
      }
    }
  }
  return out;
}

std::optional<std::string> authserv_id_of(std::string_view header_value) {
  const std::string_view s = header_value;
  std::size_t pos = 0;
  if (!skip_cfws(s, pos) || pos >= s.size()) return std::nullopt;

  std::string id;
  if (s[pos] == '"') {
    ++pos;
    auto q = read_quoted(s, pos);
    if (!q || q->empty()) return std::nullopt;
    id = std::move(*q);
  } else {
    const std::size_t start = pos;
    while (pos < s.size()) {
      const std::size_t len = id_char_length(s, pos);
      if (len == 0) break;
      pos += len;
    }
    if (pos == start) return std::nullopt;
    id.assign(s.substr(start, pos - start));
  }

  // What follows decides only one thing: whether the "id" was really a method or ptype of a
  // resinfo written without authserv-id ("spf=pass", "spf / 1 = pass", "header . d = x").
  // An unterminated comment after a complete id still leaves the header claiming that id.
  std::size_t after = pos;
  if (skip_cfws(s, after) && after < s.size()) {
    const char c = s[after];
    if (c == '=' || c == '/' || c == '.') return std::nullopt;
  }
  return id;
}

bool same_authserv_id(std::string_view a, std::string_view b) {
  a = without_trailing_dot(a);
  b = without_trailing_dot(b);
  return !a.empty() && iequals_ascii(a, b);  // an empty id is nobody's
}

}  // namespace authmilter::mail

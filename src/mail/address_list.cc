#include "authmilter/mail/address_list.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/header.h"
#include "authmilter/util/ascii.h"

namespace authmilter::mail {
namespace {

// RFC 5322 §3.2.3 atext, extended by RFC 6532 §3.2 to UTF-8. Every byte >= 0x80 counts here;
// whether a domain's bytes are well-formed UTF-8 is checked once the domain is complete.
bool is_atext(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

enum class Kind { kAtom, kQuoted, kLiteral, kSpecial, kEnd, kError };

struct Token {
  Kind kind = Kind::kEnd;
  std::string_view raw;       // as written: quotes/brackets included, CFWS around excluded
  bool space_before = false;  // CFWS separated it from the previous token
  bool is(char special) const {
    return kind == Kind::kSpecial && raw.size() == 1 && raw[0] == special;
  }
  bool is_word() const { return kind == Kind::kAtom || kind == Kind::kQuoted; }
};

// RFC 5322 §3.2 lexical tokens with CFWS (§3.2.2) skipped. One token of lookahead. After the
// first error every call returns kError, so the parser above needs only one check per step.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  const Token& peek() {
    if (!have_) {
      next_ = lex();
      have_ = true;
    }
    return next_;
  }
  Token take() {
    peek();
    have_ = next_.kind == Kind::kError || next_.kind == Kind::kEnd;  // sticky
    return next_;
  }
  const std::string& error() const { return error_; }
  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    next_ = Token{Kind::kError, {}, false};
    have_ = true;
  }

 private:
  Token error_token(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return Token{Kind::kError, {}, false};
  }

  // Skips FWS and comments (nested, with quoted-pairs). Returns false on a malformed comment.
  bool skip_cfws(bool& skipped) {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (is_blank(c)) {
        ++pos_;
        skipped = true;
        continue;
      }
      if (c != '(') return true;
      skipped = true;
      std::size_t depth = 0;
      while (true) {
        if (pos_ >= s_.size()) {
          error_ = "unterminated comment";
          return false;
        }
        const char d = s_[pos_++];
        if (d == '\\') {
          if (pos_ >= s_.size()) {
            error_ = "unterminated comment";
            return false;
          }
          ++pos_;  // quoted-pair: the next byte is literal, even a parenthesis
        } else if (d == '(') {
          if (++depth > kMaxCommentDepth) {
            error_ = "comments nested deeper than " + std::to_string(kMaxCommentDepth);
            return false;
          }
        } else if (d == ')') {
          if (--depth == 0) break;
        }
      }
    }
    return true;
  }

  // Scans a quoted-string or domain-literal starting at pos_ (the opening byte).
  Token delimited(Kind kind, char close, bool space) {
    const std::size_t start = pos_++;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '\\') {
        if (pos_ >= s_.size()) break;
        ++pos_;
      } else if (c == close) {
        return Token{kind, s_.substr(start, pos_ - start), space};
      } else if (kind == Kind::kLiteral && c == '[') {
        return error_token("'[' inside a domain literal");
      }
    }
    return error_token(kind == Kind::kQuoted ? "unterminated quoted-string"
                                             : "unterminated domain literal");
  }

  Token lex() {
    if (!error_.empty()) return Token{Kind::kError, {}, false};
    bool space = false;
    if (!skip_cfws(space)) return Token{Kind::kError, {}, false};
    if (pos_ >= s_.size()) return Token{Kind::kEnd, {}, space};
    const char c = s_[pos_];
    if (c == '"') return delimited(Kind::kQuoted, '"', space);
    if (c == '[') return delimited(Kind::kLiteral, ']', space);
    if (std::string_view("<>@,;:.").find(c) != std::string_view::npos) {
      return Token{Kind::kSpecial, s_.substr(pos_++, 1), space};
    }
    if (c == ')') return error_token("unbalanced ')'");
    if (c == ']') return error_token("unbalanced ']'");
    if (is_atext(c)) {
      const std::size_t start = pos_;
      while (pos_ < s_.size() && is_atext(s_[pos_])) ++pos_;
      return Token{Kind::kAtom, s_.substr(start, pos_ - start), space};
    }
    const auto u = static_cast<unsigned char>(c);
    return error_token(u < 0x20 || u == 0x7f ? "control character outside quotes"
                                             : std::string("unexpected '") + c + "'");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Token next_;
  bool have_ = false;
  std::string error_;
};

// The content of a quoted-string without its quotes and quoted-pair backslashes.
std::string unquote(std::string_view quoted) {
  std::string out;
  const std::string_view inner = quoted.substr(1, quoted.size() - 2);
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\' && i + 1 < inner.size()) ++i;
    out.push_back(inner[i]);
  }
  return out;
}

// A display name: words unquoted, one space wherever CFWS separated two tokens. Folding
// inside a quoted-string is unfolded (RFC 5322 §3.2.4: CRLF in a quoted-string is not part of
// its content).
std::string display_name_of(const std::vector<Token>& phrase) {
  std::string out;
  for (std::size_t i = 0; i < phrase.size(); ++i) {
    if (i > 0 && phrase[i].space_before) out.push_back(' ');
    if (phrase[i].kind == Kind::kQuoted) {
      out += unfold(unquote(phrase[i].raw));
    } else {
      out.append(phrase[i].raw);
    }
  }
  return out;
}

bool well_formed_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view s) : lex_(s) {}

  AddressList run() {
    bool saw_address = false;
    while (ok()) {
      const Token& t = lex_.peek();
      if (t.kind == Kind::kEnd || t.kind == Kind::kError) break;
      if (t.is(',')) {  // obs-addr-list: empty list elements are allowed and ignored
        lex_.take();
        continue;
      }
      if (!address(false)) break;
      saw_address = true;
      const Token& after = lex_.peek();
      if (after.kind == Kind::kEnd) break;
      if (!after.is(',')) fail("expected ',' after an address");
    }
    if (ok() && !saw_address) fail("no address");
    out_.ok = ok();
    out_.error = lex_.error();
    return std::move(out_);
  }

 private:
  bool ok() const { return lex_.error().empty(); }
  bool fail(std::string why) {
    lex_.fail(std::move(why));
    return false;
  }

  // address = mailbox / group. Inside a group (in_group) a nested group is an error.
  bool address(bool in_group) {
    std::vector<Token> phrase;  // words and dots: a display name or a local part
    while (true) {
      const Token& t = lex_.peek();
      if (!t.is_word() && !t.is('.')) break;
      phrase.push_back(lex_.take());
    }
    const Token t = lex_.take();
    if (t.kind == Kind::kError) return false;
    if (t.is('<')) return angle_addr(display_name_of(phrase));
    if (t.is('@')) {
      Mailbox m;
      if (!local_part(phrase, m.local_part) || !domain(m.domain)) return false;
      return add(std::move(m));
    }
    if (t.is(':')) {
      if (in_group) return fail("group inside a group");
      if (phrase.empty()) return fail("group without a display name");
      return group_body();
    }
    if (phrase.empty()) {
      if (t.kind == Kind::kEnd) return fail("address expected");
      if (t.kind == Kind::kLiteral) return fail("unexpected domain literal");
      return fail("unexpected '" + std::string(t.raw) + "'");  // a special: one byte
    }
    return fail("address without a domain");
  }

  // group-list up to and including the terminating ';'. Members are added flattened.
  bool group_body() {
    while (true) {
      const Token& t = lex_.peek();
      if (t.kind == Kind::kError) return false;
      if (t.kind == Kind::kEnd) return fail("group not terminated by ';'");
      if (t.is(';')) {
        lex_.take();
        return true;
      }
      if (t.is(',')) {  // obs-group-list / obs-mbox-list: empty elements
        lex_.take();
        continue;
      }
      if (!address(true)) return false;
      const Token& after = lex_.peek();
      if (!after.is(',') && !after.is(';')) {
        return after.kind == Kind::kEnd ? fail("group not terminated by ';'")
                                        : fail("expected ',' or ';' in a group");
      }
    }
  }

  // After '<': [obs-route] addr-spec '>'.
  bool angle_addr(std::string display_name) {
    if (lex_.peek().is('@') || lex_.peek().is(',')) {
      // obs-route = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]) ":" — the route is
      // dropped, as RFC 5322 §4.4 tells readers to do.
      while (true) {
        const Token t = lex_.take();
        if (t.is(',')) continue;
        if (t.is(':')) break;
        if (!t.is('@')) return t.kind == Kind::kError ? false : fail("malformed route");
        std::string ignored;
        if (!domain(ignored)) return false;
      }
    }
    std::vector<Token> words;
    while (true) {
      const Token& t = lex_.peek();
      if (!t.is_word() && !t.is('.')) break;
      words.push_back(lex_.take());
    }
    const Token at = lex_.take();
    if (at.kind == Kind::kError) return false;
    if (!at.is('@')) {
      if (at.is('>')) return fail(words.empty() ? "empty angle-addr" : "address without a domain");
      return fail("malformed angle-addr");
    }
    Mailbox m;
    m.display_name = std::move(display_name);
    if (!local_part(words, m.local_part) || !domain(m.domain)) return false;
    const Token close = lex_.take();
    if (close.kind == Kind::kError) return false;
    if (!close.is('>')) return fail("angle-addr not closed by '>'");
    return add(std::move(m));
  }

  // local-part = dot-atom / quoted-string / obs-local-part (word *("." word)), as written
  // without CFWS. Empty, leading, trailing and doubled dots are accepted: they are common in
  // the wild (some mobile carriers hand them out) and the local part decides nothing here.
  bool local_part(const std::vector<Token>& words, std::string& out) {
    bool have_word = false;
    bool last_was_word = false;
    for (const Token& w : words) {
      if (w.is_word()) {
        if (last_was_word) return fail("local part with words not separated by '.'");
        have_word = true;
      }
      last_was_word = w.is_word();
      out.append(w.raw);
    }
    if (!have_word) return fail("empty local part");
    return true;
  }

  // domain = dot-atom / domain-literal / obs-domain, lower-cased (ASCII), no trailing dot.
  bool domain(std::string& out) {
    const Token first = lex_.take();
    if (first.kind == Kind::kError) return false;
    if (first.kind == Kind::kLiteral) {
      for (const char c : first.raw) {
        if (!is_blank(c)) out.push_back(c);  // FWS inside a literal is not part of it
      }
    } else if (first.kind == Kind::kAtom) {
      out.append(first.raw);
      while (lex_.peek().is('.')) {
        lex_.take();
        const Token& next = lex_.peek();
        if (next.kind == Kind::kAtom) {
          out.push_back('.');
          out.append(lex_.take().raw);
        } else if (next.is('.')) {
          return fail("empty label in domain");
        }
        // else: a trailing dot (the root), dropped
      }
    } else {
      return fail("missing domain");
    }
    if (!well_formed_utf8(out)) return fail("domain is not well-formed UTF-8");
    util::make_lowercase_ascii(out);
    return true;
  }

  bool add(Mailbox m) {
    if (out_.mailboxes.size() >= kMaxMailboxes) {
      return fail("more than " + std::to_string(kMaxMailboxes) + " mailboxes");
    }
    out_.mailboxes.push_back(std::move(m));
    return true;
  }

  Lexer lex_;
  AddressList out_;
};

}  // namespace

AddressList parse_address_list(std::string_view header_value) {
  if (header_value.size() > kMaxAddressListLength) {
    AddressList out;
    out.error = "value longer than " + std::to_string(kMaxAddressListLength) + " bytes";
    return out;
  }
  if (header_value.find('\0') != std::string_view::npos) {
    AddressList out;
    out.error = "NUL in value";
    return out;
  }
  return Parser(header_value).run();
}

}  // namespace authmilter::mail

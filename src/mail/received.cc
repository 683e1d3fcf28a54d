#include "authmilter/mail/received.h"
#include "authmilter/util/ascii.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace authmilter::mail {
namespace {

// C0 controls other than HTAB, and DEL. CR and LF are gone after unfolding.
constexpr bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

// The RFC 5321 §4.4 clause keywords that may follow the from-part.
bool is_clause_keyword(std::string_view word) {
  return util::iequals_ascii(word, "by") || util::iequals_ascii(word, "via") ||
         util::iequals_ascii(word, "with") || util::iequals_ascii(word, "id") ||
         util::iequals_ascii(word, "for");
}

void skip_wsp(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && is_wsp(s[pos])) ++pos;
}

// A run of anything but WSP, parentheses and ';' (a keyword, a host name, an address literal,
// an Exim "helo=x" item). May be empty.
std::string_view read_word(std::string_view s, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < s.size() && !is_wsp(s[pos]) && s[pos] != '(' && s[pos] != ')' && s[pos] != ';') {
    ++pos;
  }
  return s.substr(start, pos - start);
}

// s[pos] == '(': reads the comment (nesting, quoted-pairs) up to its ')'. On success pos is
// just past it and `inner` is the text between the outer parentheses.
bool read_comment(std::string_view s, std::size_t& pos, std::string_view& inner,
                  std::string& error) {
  const std::size_t start = pos;
  std::size_t depth = 0;
  for (; pos < s.size(); ++pos) {
    const char c = s[pos];
    if (c == '\\') {
      ++pos;  // quoted-pair: the next character is literal, even a parenthesis
    } else if (c == '(') {
      if (++depth > kMaxCommentDepth) {
        error = "comments nested too deeply";
        return false;
      }
    } else if (c == ')') {
      if (--depth == 0) {
        inner = s.substr(start + 1, pos - start - 1);
        ++pos;
        return true;
      }
    }
  }
  error = "unterminated comment";
  return false;
}

struct Token {
  std::string_view text;
  bool comment = false;  // a nested comment, parentheses included
};

// The top-level words and nested comments of a comment's inner text (already balanced).
std::vector<Token> tokens_of(std::string_view inner) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (true) {
    skip_wsp(inner, pos);
    if (pos >= inner.size()) break;
    const std::size_t start = pos;
    if (inner[pos] == '(') {
      std::size_t depth = 0;
      for (; pos < inner.size(); ++pos) {
        if (inner[pos] == '\\') {
          ++pos;
        } else if (inner[pos] == '(') {
          ++depth;
        } else if (inner[pos] == ')' && --depth == 0) {
          ++pos;
          break;
        }
      }
      if (pos > inner.size()) pos = inner.size();
      tokens.push_back({inner.substr(start, pos - start), true});
    } else {
      // Words stop at WSP and '('; a stray ')' cannot occur in a balanced comment except
      // escaped, and then it is part of the word.
      while (pos < inner.size() && !is_wsp(inner[pos]) && inner[pos] != '(') {
        if (inner[pos] == '\\' && pos + 1 < inner.size()) ++pos;
        ++pos;
      }
      tokens.push_back({inner.substr(start, pos - start), false});
    }
  }
  return tokens;
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// An Exim sender_rcvhost item: helo=, ident= or port=.
bool is_exim_item(std::string_view word, std::string_view& key, std::string_view& value) {
  const std::size_t eq = word.find('=');
  if (eq == std::string_view::npos) return false;
  key = word.substr(0, eq);
  value = word.substr(eq + 1);
  return util::iequals_ascii(key, "helo") || util::iequals_ascii(key, "ident") ||
         util::iequals_ascii(key, "port");
}

// "[...]" as a whole word -> the normalized address; error set on failure.
std::optional<std::string> literal_address(std::string_view word, std::string& error) {
  if (word.size() < 2 || word.front() != '[' || word.back() != ']') {
    error = "bad address literal";
    return std::nullopt;
  }
  const std::string_view inner = word.substr(1, word.size() - 2);
  if (inner.size() > kMaxIpLiteralLength) {
    error = "address literal too long";
    return std::nullopt;
  }
  auto ip = normalize_ip(inner);
  if (!ip) error = "bad address literal";
  return ip;
}

// The reverse name as written -> without an ident "user@", one trailing dot, and empty for
// Postfix's "unknown".
std::string clean_reverse_name(std::string_view name) {
  if (const std::size_t at = name.rfind('@'); at != std::string_view::npos) {
    name.remove_prefix(at + 1);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (util::iequals_ascii(name, "unknown")) return {};
  return std::string(name);
}

enum class Shape {
  kNone,          // not TCP-info: (using TLS...), (Authenticated sender: ...), (may be forged)
  kNameLiteral,   // Postfix, Sendmail, Gmail: (rdns [ip])
  kLiteralFirst,  // Exim, Sendmail without PTR: ([ip]:port helo=x)
  kBareIp,        // Exchange, qmail: (ip), (ident@ip)
  kEximItems,     // Exim with an address for a name: [ip] (port=N helo=x)
};

struct TcpInfo {
  Shape shape = Shape::kNone;
  std::string ip;
  std::string_view name;  // kNameLiteral: the PTR name as written
  std::optional<std::string_view> helo_item;
  std::string error;  // set: a TCP-info comment, but malformed
};

// Reads the items after an address (kLiteralFirst) or alone (kEximItems): each an Exim item
// or a nested comment.
bool read_items(const std::vector<Token>& tokens, std::size_t first, TcpInfo& info) {
  for (std::size_t k = first; k < tokens.size(); ++k) {
    if (tokens[k].comment) continue;
    std::string_view key, value;
    if (!is_exim_item(tokens[k].text, key, value)) {
      info.error = "unrecognized text in the TCP-info comment";
      return false;
    }
    if (util::iequals_ascii(key, "helo")) {
      if (info.helo_item) {
        info.error = "two helo= items";
        return false;
      }
      info.helo_item = value;
    }
  }
  return true;
}

TcpInfo classify(std::string_view inner) {
  TcpInfo info;
  const std::vector<Token> tokens = tokens_of(inner);
  if (tokens.empty() || tokens[0].comment) return info;
  const std::string_view first = tokens[0].text;
  std::string_view key, value;

  if (first.front() == '[') {  // ([192.0.2.1]), ([192.0.2.1]:4711 helo=x)
    info.shape = Shape::kLiteralFirst;
    const std::size_t close = first.find(']');
    std::string_view literal = first;
    if (close != std::string_view::npos && close + 1 < first.size()) {
      const std::string_view port = first.substr(close + 1);
      if (port.front() != ':' || !all_digits(port.substr(1)) || port.size() > 6) {
        info.error = "bad address literal";
        return info;
      }
      literal = first.substr(0, close + 1);
    }
    auto ip = literal_address(literal, info.error);
    if (!ip) return info;
    info.ip = *ip;
    read_items(tokens, 1, info);
    return info;
  }
  if (is_exim_item(first, key, value)) {  // (port=4711 helo=x), after "from [ip]"
    info.shape = Shape::kEximItems;
    read_items(tokens, 0, info);
    return info;
  }
  if (tokens.size() >= 2 && !tokens[1].comment && tokens[1].text.front() == '[') {
    info.shape = Shape::kNameLiteral;  // (rdns [ip]), (rdns [ip] (may be forged))
    info.name = first;
    auto ip = literal_address(tokens[1].text, info.error);
    if (!ip) return info;
    info.ip = *ip;
    for (std::size_t k = 2; k < tokens.size(); ++k) {
      if (!tokens[k].comment) {
        info.error = "unrecognized text in the TCP-info comment";
        return info;
      }
    }
    return info;
  }
  if (tokens.size() == 1) {  // (192.0.2.1), (2a01:111:f400:7e1b::200), (ident@192.0.2.1)
    std::string_view address = first;
    if (const std::size_t at = address.rfind('@'); at != std::string_view::npos) {
      address.remove_prefix(at + 1);
    }
    if (address.find('[') == std::string_view::npos && address.size() <= kMaxIpLiteralLength) {
      if (auto ip = normalize_ip(address)) {
        info.shape = Shape::kBareIp;
        info.ip = *ip;
      }
    }
  }
  return info;
}

ReceivedHop fail(ReceivedHop hop, std::string error) {
  hop.ok = false;
  hop.error = std::move(error);
  return hop;
}

}  // namespace

std::optional<std::string> normalize_ip(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') return std::nullopt;
    text = text.substr(1, text.size() - 2);
  }
  if (text.size() > kMaxIpLiteralLength) return std::nullopt;
  const bool tagged = util::istarts_with_ascii(text, "IPv6:");
  if (tagged) text.remove_prefix(5);
  // A bounded, NUL-terminated copy: an embedded NUL must not shorten what inet_pton checks.
  if (text.empty() || text.find('\0') != std::string_view::npos) return std::nullopt;
  std::array<char, kMaxIpLiteralLength + 1> buffer{};
  std::memcpy(buffer.data(), text.data(), text.size());
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (text.find(':') != std::string_view::npos) {
    in6_addr address{};
    if (inet_pton(AF_INET6, buffer.data(), &address) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&address)) {  // RFC 4291 §2.5.5.2 -> the IPv4 address
      in_addr v4{};
      std::memcpy(&v4, &address.s6_addr[12], 4);
      if (inet_ntop(AF_INET, &v4, out.data(), static_cast<socklen_t>(out.size())) == nullptr) {
        return std::nullopt;
      }
      return std::string(out.data());
    }
    if (inet_ntop(AF_INET6, &address, out.data(), static_cast<socklen_t>(out.size())) == nullptr) {
      return std::nullopt;
    }
    return std::string(out.data());
  }
  if (tagged) return std::nullopt;  // "IPv6:192.0.2.1" is not an IPv6 address
  in_addr address{};
  if (inet_pton(AF_INET, buffer.data(), &address) != 1) return std::nullopt;
  if (inet_ntop(AF_INET, &address, out.data(), static_cast<socklen_t>(out.size())) == nullptr) {
    return std::nullopt;
  }
  return std::string(out.data());
}

bool is_loopback_ip(std::string_view text) {
  const auto ip = normalize_ip(text);
  if (!ip) return false;
  return *ip == "::1" || ip->starts_with("127.");
}

ReceivedHop parse_received(std::string_view value) {
  ReceivedHop hop;
  if (value.size() > kMaxReceivedLength) {
    return fail(std::move(hop),
                "field longer than " + std::to_string(kMaxReceivedLength) + " bytes");
  }
  if (value.find('\0') != std::string_view::npos) return fail(std::move(hop), "NUL in field");
  const std::string unfolded = unfold(value);
  const std::string_view s = unfolded;
  for (const char c : s) {
    if (is_control(c)) return fail(std::move(hop), "control character in field");
  }

  std::size_t pos = 0;
  std::string error;
  // Leading CFWS. A comment here is not the from-part even when it says "from" (Sendmail's
  // local submissions read "(from user@localhost) by host ...").
  while (true) {
    skip_wsp(s, pos);
    if (pos >= s.size() || s[pos] != '(') break;
    std::string_view ignored;
    if (!read_comment(s, pos, ignored, error)) return fail(std::move(hop), error);
  }
  const std::string_view keyword = read_word(s, pos);
  if (keyword.empty() || is_clause_keyword(keyword)) {
    return fail(std::move(hop), "no from-part");
  }
  if (!util::iequals_ascii(keyword, "from"))
    return fail(std::move(hop), "does not start with \"from\"");
  skip_wsp(s, pos);
  const std::string_view from_name = read_word(s, pos);
  if (from_name.empty()) return fail(std::move(hop), "empty from-part");

  std::vector<std::string_view> comments;
  while (true) {
    skip_wsp(s, pos);
    if (pos >= s.size() || s[pos] != '(') break;
    std::string_view inner;
    if (!read_comment(s, pos, inner, error)) return fail(std::move(hop), error);
    comments.push_back(inner);
  }

  // What follows the from-part: "by host", another clause, the date, or the end.
  skip_wsp(s, pos);
  if (pos < s.size() && s[pos] != ';') {
    const std::string_view clause = read_word(s, pos);
    if (util::iequals_ascii(clause, "by")) {
      skip_wsp(s, pos);
      const std::string_view by = read_word(s, pos);
      if (by.empty()) return fail(std::move(hop), "empty by-part");
      hop.by = std::string(by);
    } else if (clause.empty() || !is_clause_keyword(clause)) {
      return fail(std::move(hop), "unexpected text after the from-part");
    }
  }

  // qmail: "from rdns (HELO name) (ip)".
  std::size_t first_tcp = 0;
  std::optional<std::string_view> helo_comment;
  if (!comments.empty()) {
    const std::vector<Token> tokens = tokens_of(comments[0]);
    if (tokens.size() == 2 && !tokens[0].comment && !tokens[1].comment &&
        (util::iequals_ascii(tokens[0].text, "HELO") ||
         util::iequals_ascii(tokens[0].text, "EHLO"))) {
      helo_comment = tokens[1].text;
      first_tcp = 1;
    }
  }
  TcpInfo tcp;
  for (std::size_t j = first_tcp; j < comments.size(); ++j) {
    TcpInfo info = classify(comments[j]);
    if (!info.error.empty()) return fail(std::move(hop), info.error);
    if (info.shape == Shape::kNone) continue;
    if (tcp.shape != Shape::kNone) return fail(std::move(hop), "two TCP-info comments");
    if (j != first_tcp) return fail(std::move(hop), "TCP-info is not the first comment");
    tcp = std::move(info);
  }

  const bool name_is_literal = from_name.front() == '[';
  const std::string_view default_helo = helo_comment.value_or(from_name);
  switch (tcp.shape) {
    case Shape::kNameLiteral:
      hop.ip = tcp.ip;
      hop.reverse_name = clean_reverse_name(tcp.name);
      hop.helo = std::string(default_helo);
      break;
    case Shape::kLiteralFirst:
      hop.ip = tcp.ip;
      hop.helo = std::string(tcp.helo_item.value_or(default_helo));
      // With a helo= item (or qmail's HELO comment) the name is Exim's verified PTR name;
      // without, it is the HELO name (Exim omits helo= when both are the same, Sendmail
      // writes "from HELO ([ip])" when there is no PTR name): no reverse name is known.
      if ((tcp.helo_item || helo_comment) && !name_is_literal) {
        hop.reverse_name = clean_reverse_name(from_name);
      }
      break;
    case Shape::kBareIp:
      hop.ip = tcp.ip;
      hop.helo = std::string(default_helo);
      if (helo_comment) hop.reverse_name = clean_reverse_name(from_name);
      break;
    case Shape::kEximItems: {
      if (!name_is_literal) return fail(std::move(hop), "helo= items without an address");
      auto ip = literal_address(from_name, error);
      if (!ip) return fail(std::move(hop), error);
      hop.ip = *ip;
      hop.helo = std::string(tcp.helo_item.value_or(default_helo));
      break;
    }
    case Shape::kNone: {
      // Exim writes "from [192.0.2.1]" alone when there was no HELO or it was the address.
      if (!name_is_literal || comments.size() != first_tcp) {
        return fail(std::move(hop), "no IP address in the from-part");
      }
      auto ip = literal_address(from_name, error);
      if (!ip) return fail(std::move(hop), error);
      hop.ip = *ip;
      hop.helo = std::string(default_helo);
      break;
    }
  }
  hop.ok = true;
  return hop;
}

HopSelection select_first_untrusted_hop(
    const std::vector<std::string_view>& received, std::string_view connecting_ip,
    const std::function<bool(std::string_view ip)>& is_trusted) {
  HopSelection selection;
  const auto connecting = normalize_ip(connecting_ip);
  if (!connecting) {
    selection.error = "connecting client address unparsable";
    return selection;
  }
  if (!is_trusted || !is_trusted(*connecting)) {
    selection.error = "connecting client is not a trusted relay";
    return selection;
  }
  if (received.empty()) {
    selection.error = "no Received: header from a trusted relay";
    return selection;
  }
  for (std::size_t i = 0;; ++i) {
    if (i == received.size()) {
      selection.all_trusted = true;
      selection.error = "no untrusted hop: every sender in the Received: chain is trusted";
      return selection;
    }
    if (i == kMaxReceivedHops) {
      selection.error =
          "more than " + std::to_string(kMaxReceivedHops) + " trusted hops in the Received: chain";
      return selection;
    }
    // received[i] was written by a trusted host; what it says about its sender is believed.
    ReceivedHop hop = parse_received(received[i]);
    if (!hop.ok) {
      selection.error = "Received: #" + std::to_string(i) + " unparsable (" + hop.error + ")";
      return selection;
    }
    const bool trusted = hop.ip == *connecting || is_loopback_ip(hop.ip) || is_trusted(hop.ip);
    if (!trusted) {
      // Stop here: every field below this one came through the untrusted sender.
      selection.ok = true;
      selection.ip = std::move(hop.ip);
      selection.helo = std::move(hop.helo);
      selection.received_index = i;
      return selection;
    }
  }
}

}  // namespace authmilter::mail

#include "authmilter/spf/record_lint.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "authmilter/spf/syntax.h"
#include "authmilter/util/ascii.h"

namespace authmilter::spf {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
// at text[i] == '%'; returns its length, 0 when malformed.
// RFC 7208 §7.1: c, r and t only in exp text, never in a domain-spec.
std::size_t macro_expand_length(std::string_view text, std::size_t i, bool exp_text) {
  if (i + 1 >= text.size()) return 0;
  const char next = text[i + 1];
  if (next == '%' || next == '_' || next == '-') return 2;
  if (next != '{') return 0;
  std::size_t j = i + 2;
  const std::string_view letters = exp_text ? "slodiphcrtvSLODIPHCRTV" : "slodiphvSLODIPHV";
  if (j >= text.size() || letters.find(text[j]) == std::string_view::npos) return 0;
  ++j;
  while (j < text.size() && is_digit(text[j])) ++j;
  if (j < text.size() && (text[j] == 'r' || text[j] == 'R')) ++j;
  static constexpr std::string_view kDelimiters = ".-+,/_=";
  while (j < text.size() && kDelimiters.find(text[j]) != std::string_view::npos) ++j;
  if (j >= text.size() || text[j] != '}') return 0;
  return j + 1 - i;
}

// macro-string = *( macro-expand / macro-literal ); sets `ends_with_macro`.
bool is_macro_string(std::string_view text, bool exp_text, bool& ends_with_macro) {
  ends_with_macro = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      const std::size_t length = macro_expand_length(text, i, exp_text);
      if (length == 0) return false;
      i += length;
      ends_with_macro = true;
      continue;
    }
    if (c < 0x21 || c > 0x7e) return false;  // macro-literal = %x21-24 / %x26-7E
    ends_with_macro = false;
    ++i;
  }
  return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label) {
  if (label.empty()) return false;
  if (std::all_of(label.begin(), label.end(), is_alnum)) {
    return std::any_of(label.begin(), label.end(), is_alpha);
  }
  return is_alnum(label.front()) && is_alnum(label.back()) &&
         std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool is_domain_spec(std::string_view spec) {
  bool ends_with_macro = false;
  if (spec.empty() || !is_macro_string(spec, false, ends_with_macro)) return false;
  if (ends_with_macro) return true;
  std::string_view body = strip_trailing_dot(spec);
  const std::size_t dot = body.rfind('.');
  if (dot == std::string_view::npos) return false;
  // The toplabel must be plain text, not the tail of a macro ("%{d}.x" is fine, "x.%-" not).
  return is_toplabel(body.substr(dot + 1));
}

// Checks a CIDR length "/N": no leading zero, at most `max`.
bool is_cidr_length(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return false;
  }
  if (digits.size() > 1 && digits.front() == '0') return false;
  int value = 0;
  for (const char c : digits) value = value * 10 + (c - '0');
  return value <= max;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]; `arg` keeps the domain-spec,
// `ip4` and `ip6` the lengths given (empty when absent).
bool split_dual_cidr(std::string_view& arg, std::string_view& ip4, std::string_view& ip6) {
  std::string_view rest = arg;
  ip6 = {};
  ip4 = {};
  if (const std::size_t pos = rest.rfind("//"); pos != std::string_view::npos) {
    const std::string_view digits = rest.substr(pos + 2);
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), is_digit)) {
      ip6 = digits;
      rest = rest.substr(0, pos);
    }
  }
  if (const std::size_t pos = rest.rfind('/'); pos != std::string_view::npos) {
    const std::string_view digits = rest.substr(pos + 1);
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(), is_digit)) {
      ip4 = digits;
      rest = rest.substr(0, pos);
    }
  }
  if (!ip4.empty() && !is_cidr_length(ip4, 32)) return false;
  if (!ip6.empty() && !is_cidr_length(ip6, 128)) return false;
  arg = rest;
  return true;
}

enum class TermKind { kMechanism, kRedirect, kExplanation, kUnknownModifier };

struct Term {
  std::string text;
  TermKind kind = TermKind::kMechanism;
  bool is_all = false;
};

std::string quoted(std::string_view term) { return "\"" + std::string(term) + "\""; }

std::string check_modifier(std::string_view term, std::size_t equals, Term& out) {
  const std::string_view name = term.substr(0, equals);
  const std::string_view value = term.substr(equals + 1);
  const bool name_ok =
      !name.empty() && is_alpha(name.front()) && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum(c) || c == '-' || c == '_' || c == '.';
      });
  if (!name_ok) return "invalid modifier name in " + quoted(term);
  if (util::iequals_ascii(name, "redirect") || util::iequals_ascii(name, "exp")) {
    out.kind = util::iequals_ascii(name, "exp") ? TermKind::kExplanation : TermKind::kRedirect;
    if (!is_domain_spec(value)) return "invalid domain-spec in " + quoted(term);
    return {};
  }
  out.kind = TermKind::kUnknownModifier;
  bool ends_with_macro = false;
  // Ignored anyway, so any macro letter is accepted.
  if (!is_macro_string(value, true, ends_with_macro)) {
    return "invalid macro-string in " + quoted(term);
  }
  return {};
}

std::string check_directive(std::string_view term, Term& out) {
  const std::string_view qualifier =
      !term.empty() && std::string_view("+-~?").find(term.front()) != std::string_view::npos
          ? term.substr(0, 1)
          : std::string_view();
  std::string_view body = term;
  if (!body.empty() && std::string_view("+-~?").find(body.front()) != std::string_view::npos) {
    body.remove_prefix(1);
  }
  const std::size_t name_end = std::min(body.find_first_of(":/"), body.size());
  const std::string_view name = body.substr(0, name_end);
  const bool has_arg = name_end < body.size() && body[name_end] == ':';
  std::string_view arg = has_arg ? body.substr(name_end + 1) : std::string_view();
  std::string_view cidr = has_arg ? std::string_view() : body.substr(name_end);
  if (util::iequals_ascii(name, "all")) {
    out.is_all = true;
    if (name_end != body.size()) return "\"all\" takes no argument in " + quoted(term);
    return {};
  }
  if (util::iequals_ascii(name, "a") || util::iequals_ascii(name, "mx")) {
    std::string_view ip4;
    std::string_view ip6;
    if (!has_arg) {
      // "a", "a/24", "a//64", "a/24//64": the CIDR only.
      std::string_view spec = cidr;
      if (!split_dual_cidr(spec, ip4, ip6) || !spec.empty()) {
        return "invalid CIDR length in " + quoted(term);
      }
    } else {
      if (!split_dual_cidr(arg, ip4, ip6)) return "invalid CIDR length in " + quoted(term);
      if (!is_domain_spec(arg)) return "invalid domain-spec in " + quoted(term);
    }
    if (ip4 == "0" || ip6 == "0") {
      // libspf2 rejects a length of 0 (its 0 means "no length"). RFC 7208 §5.3/§5.4: /0
      // matches any address of the family, i.e. whenever the name has an address of the
      // client's family. The target gets a marker that the DNS layer strips again; it then
      // answers with the client's own address whenever the real answer has any records.
      std::string target = has_arg ? std::string(strip_trailing_dot(arg)) : "%{d}";
      target += ".";
      target += ip4 == "0" && ip6 == "0" ? kZeroCidrBoth : ip4 == "0" ? kZeroCidr4 : kZeroCidr6;
      target += kZeroCidrSuffix;
      out.text = std::string(qualifier) + std::string(name) + ":" + target;
      if (!ip4.empty() && ip4 != "0") out.text += "/" + std::string(ip4);
      if (!ip6.empty() && ip6 != "0") out.text += "//" + std::string(ip6);
    }
    return {};
  } else if (util::iequals_ascii(name, "include") || util::iequals_ascii(name, "exists") ||
             util::iequals_ascii(name, "ptr")) {
    if (!cidr.empty()) return "unexpected CIDR length in " + quoted(term);
    if (!has_arg) {
      if (util::iequals_ascii(name, "ptr")) return {};
      return "missing domain-spec in " + quoted(term);
    }
  } else if (util::iequals_ascii(name, "ip4") || util::iequals_ascii(name, "ip6")) {
    if (!has_arg) return "missing network in " + quoted(term);
    const bool ip4 = util::iequals_ascii(name, "ip4");
    const std::size_t slash = arg.rfind('/');
    if (slash == std::string_view::npos) return {};  // the address: libspf2 checks it
    const std::string_view length = arg.substr(slash + 1);
    if (!is_cidr_length(length, ip4 ? 32 : 128)) return "invalid CIDR length in " + quoted(term);
    if (length == "0") {
      // libspf2 rejects /0 (its 0 means "no length"). Both halves of the address space
      // match exactly what /0 matches.
      const std::string address(arg.substr(0, slash));
      unsigned char buffer[sizeof(in6_addr)];
      if (inet_pton(ip4 ? AF_INET : AF_INET6, address.c_str(), buffer) != 1) {
        return "invalid address in " + quoted(term);
      }
      const std::string prefix = std::string(qualifier) + (ip4 ? "ip4:" : "ip6:");
      out.text = ip4 ? prefix + "0.0.0.0/1 " + prefix + "128.0.0.0/1"
                     : prefix + "::/1 " + prefix + "8000::/1";
    }
    return {};
  } else {
    return "unknown mechanism " + quoted(term);
  }
  if (!is_domain_spec(arg)) return "invalid domain-spec in " + quoted(term);
  return {};
}

}  // namespace

PreparedRecord prepare_record(std::string_view record) {
  PreparedRecord prepared;
  std::vector<Term> terms;
  std::string_view version;
  int redirects = 0;
  int explanations = 0;
  bool has_all = false;
  for (const std::string_view text : record_terms(record)) {
    if (version.empty()) {  // "v=spf1", already matched by record selection
      version = text;
      continue;
    }
    Term term;
    term.text = std::string(text);
    const std::size_t special = text.find_first_of(":/=");
    std::string problem = special != std::string_view::npos && text[special] == '='
                              ? check_modifier(text, special, term)
                              : check_directive(text, term);
    if (problem.empty() && term.kind == TermKind::kRedirect && ++redirects > 1) {
      problem = "redirect= appears twice";
    }
    if (problem.empty() && term.kind == TermKind::kExplanation && ++explanations > 1) {
      problem = "exp= appears twice";
    }
    if (!problem.empty()) {
      prepared.problem = std::move(problem);
      return prepared;
    }
    has_all = has_all || term.is_all;
    terms.push_back(term);
  }
  prepared.record = std::string(version);
  std::string redirect;
  std::size_t mechanisms = 0;  // as libspf2 counts them: redirect= is one
  for (const Term& term : terms) {
    if (term.kind == TermKind::kUnknownModifier) continue;
    if (term.kind == TermKind::kRedirect) {
      redirect = term.text;
      continue;
    }
    if (term.kind == TermKind::kMechanism) {
      mechanisms +=
          1 + static_cast<std::size_t>(std::count(term.text.begin(), term.text.end(), ' '));
    }
    prepared.record += ' ';
    prepared.record += term.text;
  }
  if (!redirect.empty() && !has_all) {
    prepared.record += ' ';
    prepared.record += redirect;
    ++mechanisms;
  }
  if (mechanisms > kMaxMechanisms) {
    prepared.problem = "more than " + std::to_string(kMaxMechanisms) + " mechanisms";
    prepared.record.clear();
    return prepared;
  }
  prepared.problem = check_libspf2_capacity(prepared.record);
  if (!prepared.problem.empty()) prepared.record.clear();
  return prepared;
}

std::size_t libspf2_block_size(std::string_view text) {
  // Mirrors SPF_c_parse_macro(): literal runs between macros become one block each (a 4-octet
  // header and the text), every macro a 4-octet block; blocks are 4-octet aligned.
  constexpr std::size_t kHeader = 4;
  auto aligned = [](std::size_t size) { return (size + 3) / 4 * 4; };
  std::size_t size = 0;
  std::size_t literal = 0;
  auto close_literal = [&] {
    if (literal > 0) size += aligned(kHeader + literal);
    literal = 0;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      ++literal;
      ++i;
      continue;
    }
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (next == '{') {
      close_literal();
      size += kHeader;
      const std::size_t close = text.find('}', i);
      i = close == std::string_view::npos ? text.size() : close + 1;
    } else if (next == '-') {
      literal += 3;  // "%20"
      i += 2;
    } else if (next == '%' || next == '_') {
      literal += 1;
      i += 2;
    } else {
      literal += 1;  // a lone '%' is copied, the octet after it read as text
      i += 1;
    }
  }
  close_literal();
  return size;
}

std::string check_libspf2_capacity(std::string_view record) {
  const std::vector<std::string_view> terms = record_terms(record);
  for (std::size_t i = 1; i < terms.size(); ++i) {  // terms[0] is the version
    const std::string_view term = terms[i];
    std::string_view body = term;
    if (std::string_view("+-~?").find(body.front()) != std::string_view::npos) {
      body.remove_prefix(1);
    }
    const std::size_t special = body.find_first_of(":/=");
    if (special == std::string_view::npos) continue;
    const std::string_view name = body.substr(0, special);
    std::string_view argument = body.substr(special + 1);
    std::size_t size = 0;
    if (body[special] == '/') {
      size = 4;  // "a/24": the CIDR block only
    } else if (body[special] == ':') {
      if (util::iequals_ascii(name, "ip4") || util::iequals_ascii(name, "ip6"))
        continue;  // addresses, no macros
      if (util::iequals_ascii(name, "a") || util::iequals_ascii(name, "mx")) {
        std::string_view ip4;
        std::string_view ip6;
        std::string_view spec = argument;
        if (split_dual_cidr(spec, ip4, ip6) && (!ip4.empty() || !ip6.empty())) {
          argument = spec;
          size = 4;
        }
      }
    }
    size += libspf2_block_size(argument);
    if (size > kMaxLibspf2Block) {
      constexpr std::size_t kShown = 40;
      const std::string shown =
          term.size() > kShown ? std::string(term.substr(0, kShown)) + "..." : std::string(term);
      return "term " + quoted(shown) + " is too long for libspf2 (" + std::to_string(size) +
             " octets compiled, at most " + std::to_string(kMaxLibspf2Block) + ")";
    }
  }
  return {};
}

ZeroCidr take_zero_cidr_marker(std::string_view& name) {
  ZeroCidr zero;
  std::string_view rest = strip_trailing_dot(name);
  if (!util::iends_with_ascii(rest, kZeroCidrSuffix)) return zero;
  rest.remove_suffix(kZeroCidrSuffix.size());
  const std::size_t dot = rest.rfind('.');
  const std::string_view label = rest.substr(dot == std::string_view::npos ? 0 : dot + 1);
  if (util::iequals_ascii(label, kZeroCidrBoth)) {
    zero.ip4 = zero.ip6 = true;
  } else if (util::iequals_ascii(label, kZeroCidr4)) {
    zero.ip4 = true;
  } else if (util::iequals_ascii(label, kZeroCidr6)) {
    zero.ip6 = true;
  } else {
    return zero;
  }
  name = rest.substr(0, dot == std::string_view::npos ? 0 : dot);
  return zero;
}

namespace {

// RFC 3986 §2.3 unreserved characters stay as they are in URL-escaped (upper-case) macros.
bool is_unreserved(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// RFC 7208 §7.3: split on the delimiters, reverse, keep the rightmost `keep` parts (0: all),
// join with '.', URL-escape for an upper-case macro letter.
std::string expand_macro(std::string_view value, std::string_view delimiters, bool reverse,
                         std::size_t keep, bool url_escape) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  if (keep > 0 && keep < parts.size()) {
    parts.erase(parts.begin(), parts.end() - static_cast<std::ptrdiff_t>(keep));
  }
  std::string joined;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) joined.push_back('.');
    joined.append(parts[i]);
  }
  if (!url_escape) return joined;
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  for (const char c : joined) {
    if (is_unreserved(c)) {
      escaped.push_back(c);
      continue;
    }
    const auto octet = static_cast<unsigned char>(c);
    escaped.push_back('%');
    escaped.push_back(kHex[octet >> 4]);
    escaped.push_back(kHex[octet & 0xf]);
  }
  return escaped;
}

// `expanded` as macro-string literal text ("%%" for '%', "%_" for SP), or nullopt when it
// holds an octet that cannot be written there: a control or 8-bit octet, or '/' (which
// libspf2 would read as the start of a CIDR length).
std::optional<std::string> as_literal(std::string_view expanded) {
  std::string out;
  out.reserve(expanded.size());
  for (const char ch : expanded) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '%') {
      out += "%%";
    } else if (c == ' ') {
      out += "%_";
    } else if (c < 0x21 || c > 0x7e || c == '/') {
      return std::nullopt;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace

std::string fix_macros(std::string_view text, const MacroValue& value_of) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%' || i + 1 >= text.size()) {
      out.push_back(text[i++]);
      continue;
    }
    if (text[i + 1] != '{') {  // "%%", "%_", "%-" (or an error libspf2 reports itself)
      out.append(text.substr(i, 2));
      i += 2;
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    // "%{" letter digits ["r"] delimiters "}"
    const std::string_view macro = text.substr(i + 2, close - i - 2);
    const std::string_view original = text.substr(i, close + 1 - i);
    i = close + 1;
    std::size_t digits_end = 1;
    while (digits_end < macro.size() && is_digit(macro[digits_end])) ++digits_end;
    std::size_t keep = 0;
    for (std::size_t k = 1; k < digits_end; ++k) {
      keep = std::min<std::size_t>(keep * 10 + static_cast<std::size_t>(macro[k] - '0'), 1000);
    }
    std::string_view delimiters = macro.substr(std::min(digits_end, macro.size()));
    const bool reverse =
        !delimiters.empty() && (delimiters.front() == 'r' || delimiters.front() == 'R');
    if (reverse) delimiters.remove_prefix(1);
    const bool well_formed =
        !macro.empty() && delimiters.find_first_not_of(".-+,/_=") == std::string_view::npos;
    // libspf2 knows the reverse transformer only as "r"; "R" is the same (RFC 5234 §2.3).
    std::string as_given(original);
    if (reverse && well_formed && macro[digits_end] == 'R') as_given[2 + digits_end] = 'r';
    // Only well-formed delimiter lists are ours to expand (others: libspf2 reports them).
    const bool odd_delimiter =
        well_formed && delimiters.find_first_of(",/") != std::string_view::npos;
    const bool zero_digits = digits_end > 1 && keep == 0;
    std::optional<std::string> value;
    if (!macro.empty() && !zero_digits && (keep > 0 || odd_delimiter)) value = value_of(macro[0]);
    if (!value) {
      out.append(as_given);  // nothing to fix, or not known: libspf2 expands (or rejects) it
      continue;
    }
    if (delimiters.empty()) delimiters = ".";
    if (odd_delimiter) {
      const bool upper = macro[0] >= 'A' && macro[0] <= 'Z';
      const std::optional<std::string> literal =
          as_literal(expand_macro(*value, delimiters, reverse, keep, upper));
      out.append(literal ? *literal : as_given);
      continue;
    }
    const std::size_t parts =
        1 + static_cast<std::size_t>(std::count_if(value->begin(), value->end(), [&](char c) {
          return delimiters.find(c) != std::string_view::npos;
        }));
    if (keep >= parts) {
      out += "%{";
      out += macro[0];
      out.append(std::string_view(as_given).substr(2 + digits_end, macro.size() - digits_end));
      out += '}';
    } else {
      out.append(as_given);
    }
  }
  return out;
}

}  // namespace authmilter::spf

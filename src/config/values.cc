// Value parsers for the configuration file; see values.h.
#include "values.h"

#include "authmilter/mail/auth_results.h"
#include "authmilter/util/ascii.h"
#include "authmilter/util/domain_name.h"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

namespace authmilter::config::detail {
namespace {

constexpr std::size_t kMaxQuoted = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Splits "123ms" into {123, "ms"}; nullopt when there are no leading digits or the number does
// not fit in 64 bits.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  return std::make_pair(number, text.substr(digits));
}

// number * unit within [min, max], without overflow.
std::optional<std::uint64_t> scaled(std::uint64_t number, std::uint64_t unit, std::uint64_t min,
                                    std::uint64_t max) {
  if (number > max / unit) return std::nullopt;
  const std::uint64_t value = number * unit;
  if (value < min || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  const bool cut = text.size() > kMaxQuoted;
  for (char c : text.substr(0, kMaxQuoted)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\\' || c == '\'') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "'..." : "'";
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  for (std::string_view yes : {"yes", "true", "on", "1"}) {
    if (util::iequals_ascii(text, yes)) return true;
  }
  for (std::string_view no : {"no", "false", "off", "0"}) {
    if (util::iequals_ascii(text, no)) return false;
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max) {
  const auto split = split_number(text);
  if (!split) return std::nullopt;
  const auto [number, suffix] = *split;
  std::uint64_t unit = 0;
  if (suffix.empty() || util::iequals_ascii(suffix, "s")) {
    unit = 1000;
  } else if (util::iequals_ascii(suffix, "ms")) {
    unit = 1;
  } else if (util::iequals_ascii(suffix, "m")) {
    unit = 60 * 1000;
  } else {
    return std::nullopt;
  }
  const auto ms = scaled(number, unit, static_cast<std::uint64_t>(min.count()),
                         static_cast<std::uint64_t>(max.count()));
  if (!ms) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*ms));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::uint64_t min,
                                        std::uint64_t max) {
  const auto split = split_number(text);
  if (!split) return std::nullopt;
  const auto [number, suffix] = *split;
  std::uint64_t unit = 0;
  if (suffix.empty()) {
    unit = 1;
  } else if (util::iequals_ascii(suffix, "k")) {
    unit = 1024;
  } else if (util::iequals_ascii(suffix, "m")) {
    unit = 1024 * 1024;
  } else {
    return std::nullopt;
  }
  return scaled(number, unit, min, max);
}

std::optional<std::uint32_t> parse_seconds(std::string_view text, std::uint32_t min,
                                           std::uint32_t max) {
  const auto split = split_number(text);
  if (!split) return std::nullopt;
  const auto [number, suffix] = *split;
  std::uint64_t unit = 0;
  if (suffix.empty() || util::iequals_ascii(suffix, "s")) {
    unit = 1;
  } else if (util::iequals_ascii(suffix, "m")) {
    unit = 60;
  } else if (util::iequals_ascii(suffix, "h")) {
    unit = 3600;
  } else if (util::iequals_ascii(suffix, "d")) {
    unit = 86400;
  } else {
    return std::nullopt;
  }
  const auto seconds = scaled(number, unit, min, max);
  if (!seconds) return std::nullopt;
  return static_cast<std::uint32_t>(*seconds);
}

std::optional<std::uint32_t> parse_octal(std::string_view text, std::uint32_t max) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  std::uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<std::uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<Action> parse_action(std::string_view text) {
  for (Action action :
       {Action::kAccept, Action::kMark, Action::kQuarantine, Action::kTempfail, Action::kReject}) {
    if (util::iequals_ascii(text, to_string(action))) return action;
  }
  return std::nullopt;
}

std::optional<HeloCheck> parse_helo_check(std::string_view text) {
  for (HeloCheck check : {HeloCheck::kNullSender, HeloCheck::kAlways}) {
    if (util::iequals_ascii(text, to_string(check))) return check;
  }
  return std::nullopt;
}

std::optional<std::string> parse_log_level(std::string_view text) {
  for (std::string_view level : {"trace", "debug", "info", "warning", "error"}) {
    if (util::iequals_ascii(text, level)) return std::string(level);
  }
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

std::optional<IpAddress> parse_ip_literal(std::string_view text) {
  // IpAddress::parse also strips "[...]" and "IPv6:"; neither starts a bare literal.
  if (text.empty() || text.front() == '[' || util::to_lower_ascii(text.front()) == 'i')
    return std::nullopt;
  return IpAddress::parse(text);
}

std::optional<std::string> parse_dns_server(std::string_view text) {
  std::string_view address_text = text;
  std::string_view port_text;
  bool port_given = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    address_text = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      port_given = true;
    }
  } else {
    const auto colon = text.find(':');
    // One colon: IPv4 with a port. Two or more: a bare IPv6 address, which cannot carry one.
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
      address_text = text.substr(0, colon);
      port_text = text.substr(colon + 1);
      port_given = true;
    }
  }
  const auto address = parse_ip_literal(address_text);
  if (!address) return std::nullopt;
  std::uint16_t port = 53;
  if (port_given) {
    const auto parsed = parse_port(port_text);
    if (!parsed) return std::nullopt;
    port = *parsed;
  }
  const std::string canonical = address->to_string();
  if (address->v6) return "[" + canonical + "]:" + std::to_string(port);
  return canonical + ":" + std::to_string(port);
}

std::optional<std::string> parse_mark_header(std::string_view text, std::string* why) {
  const auto fail = [why](std::string reason) -> std::optional<std::string> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail("expected \"Name: value\"");
  const std::string_view name = text.substr(0, colon);
  const std::string_view value = trim(text.substr(colon + 1));
  if (name.empty()) return fail("expected \"Name: value\", the name is empty");
  for (char c : name) {
    // RFC 5322 §3.6.8 ftext: printable US-ASCII except ':' (and so no white space).
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) return fail("the header name may hold only printable ASCII, no spaces");
  }
  // We write and remove these ourselves; a mark under the same name would be taken for ours.
  if (util::iequals_ascii(name, "Authentication-Results") ||
      util::iequals_ascii(name, "Received-SPF")) {
    return fail("the header name is one authmilter writes itself");
  }
  if (value.empty()) return fail("expected \"Name: value\", the value is empty");
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u >= 0x7f) {
      return fail("the header value may hold only printable ASCII");
    }
  }
  std::string header = std::string(name) + ": " + std::string(value);
  if (header.size() > kMaxMarkHeaderLength) {
    return fail("longer than " + std::to_string(kMaxMarkHeaderLength) + " characters");
  }
  return header;
}

bool valid_authserv_id(std::string_view text) {
  // The writer's own rule (RFC 8601 §2.5: a token, or U-labels), so a configured id is one
  // our Authentication-Results header can carry without quoting.
  return mail::is_valid_authserv_id(text);
}

bool valid_user_id(std::string_view text) {
  const auto valid_name = [](std::string_view name) {
    if (name.empty() || name.size() > kMaxUserNameLength || name.front() == '-') return false;
    for (char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
                      c == '-' || c == '.';
      if (!ok) return false;
    }
    return true;
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return valid_name(text);
  return valid_name(text.substr(0, colon)) && valid_name(text.substr(colon + 1));
}

bool valid_file_path(std::string_view text) {
  if (text.size() < 2 || text.front() != '/' || text.back() == '/') return false;
  for (char c : text) {
    if (is_control(c)) return false;
  }
  return true;
}

bool valid_host_name(std::string_view text) {
  if (!util::fits_domain_name_limits(text)) return false;
  bool all_numeric = true;
  std::size_t label = 0;  // 1..63 here: fits_domain_name_limits()
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (text[i - 1] == '-' || text[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = text[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-';
    if (!ok) return false;
    if (!is_digit(c)) all_numeric = false;
    ++label;
  }
  // "300.1.2.3" is neither an address nor a name.
  return !all_numeric;
}

}  // namespace authmilter::config::detail

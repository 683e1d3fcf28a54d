// authmilter::config::detail — value parsers and validators behind the parameter table.
//
// Each parser takes the trimmed value text and returns nullopt (or false) when it does not fit;
// the table turns that into "bad value ... expected ...". Numbers are unsigned decimal digits,
// read with std::from_chars (no locale, no sign, overflow detected) and checked against their
// bounds before any multiplication by a unit, so no input can wrap.
// Internal to the config module; tests reach these through parse().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/config/cidr.h"
#include "authmilter/config/config.h"

namespace authmilter::config::detail {

std::string_view trim(std::string_view text);
// For error messages: at most 64 characters, non-printable bytes as \xNN, in single quotes.
std::string quote(std::string_view text);

std::optional<bool> parse_bool(std::string_view text);
// Plain number = seconds, or with the suffix ms, s or m; within [min, max].
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max);
std::string format_duration(std::chrono::milliseconds duration);  // "5s", "500ms", "120s"
// Plain number, or with the suffix k/K (1024) or M/m (1024 * 1024); within [min, max].
std::optional<std::uint64_t> parse_size(std::string_view text, std::uint64_t min,
                                        std::uint64_t max);
// Plain number = seconds, or with the suffix s, m, h or d; within [min, max] seconds.
std::optional<std::uint32_t> parse_seconds(std::string_view text, std::uint32_t min,
                                           std::uint32_t max);
// Octal digits only (at most 6), value at most max.
std::optional<std::uint32_t> parse_octal(std::string_view text, std::uint32_t max);
std::optional<Action> parse_action(std::string_view text);
std::optional<HeloCheck> parse_helo_check(std::string_view text);
std::optional<std::string> parse_log_level(std::string_view text);  // lower-cased
// One DNS server, normalised to "a.b.c.d:port" or "[v6]:port".
std::optional<std::string> parse_dns_server(std::string_view text);
// Port 1..65535 from 1 to 5 digits.
std::optional<std::uint16_t> parse_port(std::string_view text);
// An IP literal without brackets or "IPv6:" (those are for client addresses, not config).
std::optional<IpAddress> parse_ip_literal(std::string_view text);
// "Name: value" -> normalised "Name: value"; nullopt with `why` set when invalid.
std::optional<std::string> parse_mark_header(std::string_view text, std::string* why);
bool valid_authserv_id(std::string_view text);
bool valid_user_id(std::string_view text);
// Absolute path of a file: starts with '/', does not end with '/', no control characters.
bool valid_file_path(std::string_view text);
// Letters, digits, '-' and '.' in labels of 1..63 characters, at most 253 in all.
bool valid_host_name(std::string_view text);

}  // namespace authmilter::config::detail

// authmilter::log — spdlog set-up and the per-message summary line.
//
// Where: syslog with facility LOG_MAIL when daemonized (what mail admins grep in
//   /var/log/mail.log), stderr when running in the foreground (-f, systemd journal).
// Format: key=value fields, always the queue id first, values quoted when they contain
//   spaces or quotes, control characters from mail input escaped (a log line is never split
//   or forged by a hostile header).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace authmilter::log {

enum class Sink { kStderr, kSyslog };

// Installs the default logger. `level` is trace|debug|info|warning|error (validated by config).
void setup(Sink sink, std::string_view level, std::string_view ident = "authmilter");

// "key=value key2=\"value with space\"", values escaped as above.
std::string fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kv);
// Appends one field to `line` (with a leading space when `line` is not empty).
void append_field(std::string& line, std::string_view key, std::string_view value);

}  // namespace authmilter::log

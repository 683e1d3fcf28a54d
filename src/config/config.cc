// The configuration file reader: line splitting, comments, keys, duplicate detection and the
// checks that span two keys. Values are parsed by the rows of the parameter table.
#include "authmilter/config/config.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "table.h"
#include "values.h"

namespace authmilter::config {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

constexpr std::string_view kUtf8Bom = "\xef\xbb\xbf";

ConfigError line_error(std::string_view name, std::size_t line, const std::string& message) {
  return ConfigError(std::string(name) + ":" + std::to_string(line) + ": " + message);
}

// Drops a comment: '#' at the start of the line or after white space. A '#' inside a word
// ("a#b") belongs to the value.
std::string_view strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return line.substr(0, i);
    }
  }
  return line;
}

std::size_t row_index(std::string_view name) {
  const auto* row = detail::find_row(name);
  return static_cast<std::size_t>(row - detail::rows().data());
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::kAccept:
      return "accept";
    case Action::kMark:
      return "mark";
    case Action::kQuarantine:
      return "quarantine";
    case Action::kTempfail:
      return "tempfail";
    case Action::kReject:
      return "reject";
  }
  return "accept";
}

std::string_view to_string(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

std::string_view to_string(HeloCheck check) {
  switch (check) {
    case HeloCheck::kNullSender:
      return "null-sender";
    case HeloCheck::kAlways:
      return "always";
  }
  return "null-sender";
}

std::string_view to_string(SenderIdMode mode) {
  switch (mode) {
    case SenderIdMode::kOff:
      return "off";
    case SenderIdMode::kFallback:
      return "fallback";
    case SenderIdMode::kAlways:
      return "always";
  }
  return "fallback";
}

std::string host_name() {
  char buffer[HOST_NAME_MAX + 1] = {};
  // gethostname() may truncate without a terminating NUL; the last byte stays 0.
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
  std::string name(buffer, strnlen(buffer, sizeof buffer));
  if (!detail::valid_authserv_id(name)) return "localhost";
  return name;
}

Config Config::defaults() {
  Config config;
  config.internal_hosts = *CidrList::parse("127.0.0.1, ::1");
  config.authserv_id = host_name();
  return config;
}

std::pair<std::string_view, std::string_view> split_header(std::string_view header) {
  const auto colon = header.find(':');
  if (colon == std::string_view::npos) return {header, {}};
  return {header.substr(0, colon), detail::trim(header.substr(colon + 1))};
}

Config parse(std::string_view text, std::string_view name) {
  if (text.size() > kMaxFileSize) {
    throw ConfigError(std::string(name) + ": larger than " + std::to_string(kMaxFileSize) +
                      " bytes");
  }
  // Editors on some systems start UTF-8 files with a byte order mark; it is not a key.
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());

  Config config = Config::defaults();
  const auto& rows = detail::rows();
  std::vector<std::size_t> set_on_line(rows.size(), 0);  // 0: not in the file

  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_number;
    const auto newline = text.find('\n', pos);
    std::string_view line = text.substr(
        pos, newline == std::string_view::npos ? std::string_view::npos : newline - pos);
    pos = newline == std::string_view::npos ? text.size() : newline + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    if (line.size() > kMaxLineLength) {
      throw line_error(name, line_number,
                       "line longer than " + std::to_string(kMaxLineLength) + " bytes");
    }
    if (line.find('\0') != std::string_view::npos) {
      throw line_error(name, line_number, "NUL byte in line");
    }
    line = detail::trim(strip_comment(line));
    if (line.empty()) continue;
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        throw line_error(name, line_number,
                         "control character " + detail::quote(std::string_view(&c, 1)));
      }
    }

    const auto space = line.find_first_of(" \t");
    const std::string_view key = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view() : detail::trim(line.substr(space));
    const detail::Row* row = detail::find_row(key);
    if (row == nullptr) {
      throw line_error(name, line_number, "unknown key " + detail::quote(key));
    }
    const std::string_view canonical = row->parameter.name;
    if (value.empty()) {
      throw line_error(name, line_number, "missing value for " + std::string(canonical));
    }
    const auto index = static_cast<std::size_t>(row - rows.data());
    if (set_on_line[index] != 0) {
      throw line_error(name, line_number,
                       "duplicate key " + std::string(canonical) + " (first set on line " +
                           std::to_string(set_on_line[index]) + ")");
    }
    const std::string expected = row->set(config, value);
    if (!expected.empty()) {
      throw line_error(
          name, line_number,
          "bad value " + detail::quote(value) + " for " + std::string(canonical) + ": " + expected);
    }
    set_on_line[index] = line_number;
  }

  // The message deadline must leave room for at least one full DNS query.
  if (config.message_timeout <= config.dns_timeout) {
    const std::size_t line =
        std::max(set_on_line[row_index("DNSTimeout")], set_on_line[row_index("MessageTimeout")]);
    throw line_error(name, line,
                     "MessageTimeout (" + detail::format_duration(config.message_timeout) +
                         ") must be longer than DNSTimeout (" +
                         detail::format_duration(config.dns_timeout) + ")");
  }
  // ARCSign needs a key and a name to sign with.
  if (config.arc_sign && (config.arc_seal_domain.empty() || config.arc_selector.empty() ||
                          config.arc_key_file.empty())) {
    throw line_error(name, set_on_line[row_index("ARCSign")],
                     "ARCSign yes needs ARCSealDomain, ARCSelector and ARCKeyFile");
  }
  return config;
}

Config load(const std::string& path) {
  const auto fail = [&](const std::string& why) { return ConfigError(path + ": " + why); };
  File file(std::fopen(path.c_str(), "re"));
  if (!file) {
    throw fail("cannot open: " + std::error_code(errno, std::generic_category()).message());
  }
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0) {
    throw fail("cannot stat: " + std::error_code(errno, std::generic_category()).message());
  }
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  // Read one byte past the limit to tell "exactly at the limit" from "too large", whatever
  // st_size said (the file may grow while we read).
  std::string text(kMaxFileSize + 1, '\0');
  const std::size_t got = std::fread(text.data(), 1, text.size(), file.get());
  if (std::ferror(file.get())) {
    throw fail("cannot read: " + std::error_code(errno, std::generic_category()).message());
  }
  if (got > kMaxFileSize) {
    throw fail("larger than " + std::to_string(kMaxFileSize) + " bytes");
  }
  text.resize(got);
  return parse(text, path);
}

}  // namespace authmilter::config

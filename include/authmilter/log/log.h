// authmilter::log — spdlog set-up and the per-message summary line.
//
// Where: syslog with facility LOG_MAIL when daemonized (what mail admins grep in
//   /var/log/mail.log), stderr when running in the foreground (-f, systemd journal).
// Format: key=value fields, always the queue id first, values quoted when they contain
//   spaces or quotes, control characters from mail input escaped (a log line is never split
//   or forged by a hostile header).
// LogFormat json: the per-message summary line (a Line) is one JSON object instead, with the
//   same keys in the same order; counts are JSON numbers, everything else strings. Bytes that
//   are not UTF-8 become \u00XX (as if Latin-1), so the object is always valid JSON/UTF-8.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authmilter::log {

// LogFormat: the per-message summary line as key=value text or as one JSON object.
enum class Format { kText, kJson };

// The fields of one log line, rendered in either Format.
class Line {
 public:
  void add(std::string_view key, std::string_view value);
  void add_number(std::string_view key, std::int64_t value);
  std::string render(Format format) const;
  std::string text() const { return render(Format::kText); }

 private:
  struct Field {
    std::string key;
    std::string value;
    bool number = false;
  };
  std::vector<Field> fields_;
};

// Appends one field to `line` (as key=value text or JSON string: see Line).
void append_field(Line& line, std::string_view key, std::string_view value);
// A count: a JSON number in LogFormat json.
void append_number(Line& line, std::string_view key, std::int64_t value);
// `text` as the body of a JSON string (without the quotes): see the header comment.
std::string json_escape(std::string_view text);

enum class Sink { kStderr, kSyslog };

// Installs the default logger. `level` is trace|debug|info|warning|error (validated by config).
void setup(Sink sink, std::string_view level, std::string_view ident = "authmilter");

// "key=value key2=\"value with space\"", values escaped as above.
std::string fields(std::initializer_list<std::pair<std::string_view, std::string_view>> kv);
// Appends one field to `line` (with a leading space when `line` is not empty).
void append_field(std::string& line, std::string_view key, std::string_view value);

}  // namespace authmilter::log

// Helpers shared by the fuzz targets (tests/fuzz/fuzz_<target>.cc).
//
// FUZZ_CHECK(cond): an invariant of the code under test. It stays on in release builds (unlike
//   assert) and aborts with the condition's text, so libFuzzer records the input as a crash
//   and the regression replay fails on it.
// split_key_and_message(), txt_strings(), split_message(): the "key record 0x1e message"
//   inputs of the DKIM and ARC targets: the key text as a zone's character-strings, the header
//   fields up to the first empty line (folds joined with CRLF) and the body after it.
// split(): cuts an input into fields at a separator byte. Targets that need several strings
//   use the ASCII separators kRecordSeparator (0x1e) and kUnitSeparator (0x1f), which no field
//   of interest needs, so seed files stay easy to write with printf '\x1e'; every other byte,
//   NUL, CR, LF and 8-bit ones included, reaches the code under test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)

namespace authmilter::fuzz {

inline constexpr char kRecordSeparator = '\x1e';
inline constexpr char kUnitSeparator = '\x1f';

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return size == 0 ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(data), size);
}

inline std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(pos));
      return out;
    }
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

inline bool has_line_break_or_nul(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Printable ASCII only (space to '~'): the text an SPF record is made of (RFC 7208 §12).
inline bool printable(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Any C0 control, DEL.
inline bool has_control(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

struct KeyAndMessage {
  bool separated = false;  // the input had a kRecordSeparator
  std::string_view key;    // before it (empty without one)
  std::string_view message;
};

inline KeyAndMessage split_key_and_message(std::string_view input) {
  const std::size_t separator = input.find(kRecordSeparator);
  if (separator == std::string_view::npos) return {false, {}, input};
  return {true, input.substr(0, separator), input.substr(separator + 1)};
}

// A TXT record's text in 255-octet character-strings, as DNS carries a long key record.
inline std::vector<std::string> txt_strings(std::string_view record) {
  std::vector<std::string> strings;
  for (std::size_t pos = 0; pos < record.size(); pos += 255) {
    strings.emplace_back(record.substr(pos, 255));
  }
  return strings;
}

struct MessageParts {
  std::vector<std::string> fields;  // "Name:value", folded lines joined with CRLF
  std::string_view body;            // after the first empty line (CRLF or LF)
};

inline MessageParts split_message(std::string_view message) {
  MessageParts parts;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = message.find('\n', pos);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    if ((line.front() == ' ' || line.front() == '\t') && !parts.fields.empty()) {
      parts.fields.back() += "\r\n";
      parts.fields.back() += line;
      continue;
    }
    parts.fields.emplace_back(line);
  }
  if (pos < message.size()) parts.body = message.substr(pos);
  return parts;
}

}  // namespace authmilter::fuzz

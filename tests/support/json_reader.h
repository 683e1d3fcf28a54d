// Test support (authmilter_test_support): a small JSON reader for the conformance data in
// tests/data (authres/ar_parse_cases.json).
//
// What: parse_json() reads one JSON document (RFC 8259) into a JsonValue tree: objects keep
//   their member order, numbers keep their text (the tests compare them as text), \u escapes
//   and surrogate pairs become UTF-8.
// Limits: test data only: no depth limit, duplicate keys kept (operator[] returns the first).
// Security: never linked into the daemon.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authmilter::test_support {

struct JsonMember;

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
  bool boolean = false;
  std::string string;  // kString, or the number's text
  std::vector<JsonValue> array;
  std::vector<JsonMember> object;  // in document order

  // The member `key`; throws std::out_of_range when there is none.
  const JsonValue& operator[](std::string_view key) const;
  // The member `key`, or nullptr.
  const JsonValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  bool is_null() const { return type == Type::kNull; }
  bool is_string() const { return type == Type::kString; }
};

// One member of an object: its name and value (.first/.second, as a pair would).
struct JsonMember {
  std::string first;
  JsonValue second;
};

// Parses a whole document; throws std::runtime_error (with the offset) on malformed input.
JsonValue parse_json(std::string_view text);

}  // namespace authmilter::test_support

#include "json_reader.h"

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace authmilter::test_support {
namespace {

class Parser {
 public:
  static JsonValue parse(std::string_view text) {
    Parser p(text);
    JsonValue v = p.value();
    p.ws();
    if (p.pos_ != p.s_.size()) p.fail("trailing characters");
    return v;
  }

 private:
  explicit Parser(std::string_view s) : s_(s) {}
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("JSON " + why + " at offset " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() &&
           std::string_view(" \t\r\n").find(s_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }
  char next() {
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_++];
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  std::uint32_t hex4() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = next();
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  std::string str() {
    if (next() != '"') fail("expected string");
    std::string out;
    while (true) {
      const char c = next();
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = next();
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00 && literal("\\u")) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4() - 0xdc00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  JsonValue value() {
    ws();
    JsonValue v;
    if (pos_ >= s_.size()) fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      v.type = JsonValue::Type::kObject;
      ws();
      if (literal("}")) return v;
      while (true) {
        ws();
        std::string key = str();
        ws();
        if (next() != ':') fail("expected ':'");
        v.object.push_back(JsonMember{std::move(key), value()});
        ws();
        const char d = next();
        if (d == '}') return v;
        if (d != ',') fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      ++pos_;
      v.type = JsonValue::Type::kArray;
      ws();
      if (literal("]")) return v;
      while (true) {
        v.array.push_back(value());
        ws();
        const char d = next();
        if (d == ']') return v;
        if (d != ',') fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.type = JsonValue::Type::kString;
      v.string = str();
      return v;
    }
    if (literal("null")) return v;
    if (literal("true") || literal("false")) {
      v.type = JsonValue::Type::kBool;
      v.boolean = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
      return v;
    }
    const std::size_t start = pos_;
    while (pos_ < s_.size() &&
           std::string_view("+-.eE0123456789").find(s_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
    if (pos_ == start) fail("unexpected character");
    v.type = JsonValue::Type::kNumber;
    v.string.assign(s_.substr(start, pos_ - start));
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [k, v] : object) {
    if (k == key) return &v;
  }
  return nullptr;
}

const JsonValue& JsonValue::operator[](std::string_view key) const {
  const JsonValue* member = find(key);
  if (member == nullptr) throw std::out_of_range("no JSON member " + std::string(key));
  return *member;
}

JsonValue parse_json(std::string_view text) { return Parser::parse(text); }

}  // namespace authmilter::test_support

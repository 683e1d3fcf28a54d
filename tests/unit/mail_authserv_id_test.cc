// Tests for authserv_id_of() / same_authserv_id(), plus the authres conformance data
// (tests/data/authres/ar_parse_cases.json, see tests/data/README.md): authserv-ids
// parsed by python authres 1.2.0 and Mail::AuthenticationResults, and authres' canonical
// str() rendering used as a cross-check of the writer's quoting.
#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/auth_results.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

TEST(AuthservIdOf, Table) {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  } cases[] = {
      {"mx.example.net; spf=pass smtp.mailfrom=a@b.example", "mx.example.net"},
      {"mx.example.net", "mx.example.net"},
      {"mx.example.net;", "mx.example.net"},
      {"  mx.example.net  ; none", "mx.example.net"},
      {"(comment) mx.example.net;", "mx.example.net"},
      {"(nested (comment) \\) here) mx;", "mx"},
      {"(a)(b) (c(d(e))) mx;", "mx"},
      {"\"mx.example.net\"; none", "mx.example.net"},
      {"\"mx \\\"q\\\" \"; none", "mx \"q\" "},
      {"\"mx\r\n .example\";", "mx .example"},  // folded quoted-string unfolds
      {"mx.example.net 1; none", "mx.example.net"},
      {"mx.example.net 1 (version); none", "mx.example.net"},
      {"mx.example.net(c);", "mx.example.net"},
      {"\r\n\tmx.example.net;", "mx.example.net"},
      {"\n mx.example.net;", "mx.example.net"},
      {"mx.example.net\r\n\t;spf=pass", "mx.example.net"},
      {"MX.Example.NET;", "MX.Example.NET"},
      {"b\xc3\xbc"
       "cher.example; none",
       "b\xc3\xbc"
       "cher.example"},
      {"mx.example.net foo;", "mx.example.net"},  // liberal about what follows
      {"mx.example.net (unterminated", "mx.example.net"},
      {"mx\0; spf=pass"s, "mx"},
      // No id to be found.
      {"", std::nullopt},
      {"   \t ", std::nullopt},
      {"(only a comment)", std::nullopt},
      {";none", std::nullopt},
      {"; mx.example.net", std::nullopt},
      {"(unbalanced mx;", std::nullopt},
      {"(x\\", std::nullopt},
      {"\"unterminated; none", std::nullopt},
      {"\"\"; none", std::nullopt},
      {"\"bad\0\"; none"s, std::nullopt},
      {"\"bad\\", std::nullopt},
      {"spf=pass", std::nullopt},
      {"spf = pass", std::nullopt},
      {"spf (c) = (c) pass", std::nullopt},
      {"dkim/1=pass", std::nullopt},
      {"dkim / 1 = pass", std::nullopt},
      {"header . d = x", std::nullopt},
      {"\"mx\".d=x", std::nullopt},
      {"=x", std::nullopt},
      {"@x", std::nullopt},
      {"<mx>;", std::nullopt},
      {"\0mx;"s, std::nullopt},
      {"\nmx;", std::nullopt},  // a line break that is not a fold
      {"\xff.example;", std::nullopt},
      {"\xc2\x85mx;", std::nullopt},  // C1 control
  };
  for (const auto& c : cases) {
    EXPECT_EQ(authserv_id_of(c.in), c.out) << "input: " << c.in;
  }
}

TEST(AuthservIdOf, CommentDepthAtLimitAndOnePast) {
  auto nested = [](std::size_t n) { return std::string(n, '(') + std::string(n, ')'); };
  EXPECT_EQ(authserv_id_of(nested(kMaxCommentDepth) + " mx.example;"), "mx.example");
  EXPECT_EQ(authserv_id_of(nested(kMaxCommentDepth + 1) + " mx.example;"), std::nullopt);
  // Depth is per comment, not cumulative.
  EXPECT_EQ(authserv_id_of(nested(kMaxCommentDepth) + nested(kMaxCommentDepth) + " mx;"), "mx");
}

TEST(AuthservIdOf, MegabyteInputs) {
  constexpr std::size_t kMb = 1 << 20;
  EXPECT_EQ(authserv_id_of(std::string(kMb, '(')), std::nullopt);
  EXPECT_EQ(authserv_id_of(std::string(kMb, ')')), std::nullopt);
  EXPECT_EQ(authserv_id_of(std::string(kMb, ' ')), std::nullopt);
  EXPECT_EQ(authserv_id_of(std::string(kMb, '\0')), std::nullopt);
  EXPECT_EQ(authserv_id_of(std::string(kMb, '"')), std::nullopt);
  std::string many;
  while (many.size() < kMb) many += "(a\\)b) \r\n\t";
  EXPECT_EQ(authserv_id_of(many + "mx.example;"), "mx.example");
  // Alternating open/close keeps depth at 2: fine however long.
  std::string flat = "(";
  while (flat.size() < kMb) flat += "()";
  EXPECT_EQ(authserv_id_of(flat + ") mx;"), "mx");
  const std::string token(kMb, 'a');
  EXPECT_EQ(authserv_id_of(token + "; none"), token);
  std::string quoted = "\"";
  while (quoted.size() < kMb) quoted += "\\\"x";
  EXPECT_EQ(authserv_id_of(quoted).has_value(), false);  // unterminated
  EXPECT_EQ(authserv_id_of(quoted + "\";")->size(), (quoted.size() - 1) / 3 * 2);
}

TEST(SameAuthservId, Table) {
  EXPECT_TRUE(same_authserv_id("mx.example.net", "mx.example.net"));
  EXPECT_TRUE(same_authserv_id("MX.Example.NET", "mx.example.net"));
  EXPECT_TRUE(same_authserv_id("mx.example.net.", "mx.example.net"));
  EXPECT_TRUE(same_authserv_id("mx.example.net", "MX.EXAMPLE.NET."));
  EXPECT_FALSE(same_authserv_id("mx.example.ne", "mx.example.net"));
  EXPECT_FALSE(same_authserv_id("mx.example.net..", "mx.example.net"));
  EXPECT_FALSE(same_authserv_id("mx.example.net", "mx-example.net"));
  EXPECT_FALSE(same_authserv_id("", ""));
  EXPECT_FALSE(same_authserv_id(".", ""));
  EXPECT_FALSE(same_authserv_id("\xc3\x9c", "\xc3\xbc"));  // no Unicode case folding
  EXPECT_TRUE(same_authserv_id("\xc3\xbc", "\xc3\xbc"));
  // '@' (0x40) and '`' (0x60) differ from letters only by the case bit: not equal.
  EXPECT_FALSE(same_authserv_id("@", "`"));
  EXPECT_FALSE(same_authserv_id("[", "{"));
}

// --- A minimal JSON reader, enough for the conformance file (test-only). ---
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // string value, or the number as written
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool is_string() const { return kind == Kind::kString; }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  Json document() {
    Json j = value();
    ws();
    if (pos_ != s_.size()) fail("trailing data");
    return j;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string("JSON: ") + what + " at " + std::to_string(pos_));
  }
  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool eat(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  Json value() {
    ws();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json j;
    const char c = s_[pos_];
    if (c == '{') {
      j.kind = Json::Kind::kObject;
      ++pos_;
      ws();
      if (eat("}")) return j;
      do {
        ws();
        std::string key = string();
        ws();
        if (!eat(":")) fail("expected ':'");
        j.members.emplace_back(std::move(key), value());
        ws();
      } while (eat(","));
      if (!eat("}")) fail("expected '}'");
    } else if (c == '[') {
      j.kind = Json::Kind::kArray;
      ++pos_;
      ws();
      if (eat("]")) return j;
      do {
        j.items.push_back(value());
        ws();
      } while (eat(","));
      if (!eat("]")) fail("expected ']'");
    } else if (c == '"') {
      j.kind = Json::Kind::kString;
      j.text = string();
    } else if (eat("true")) {
      j.kind = Json::Kind::kBool;
      j.boolean = true;
    } else if (eat("false")) {
      j.kind = Json::Kind::kBool;
    } else if (eat("null")) {
      j.kind = Json::Kind::kNull;
    } else {
      j.kind = Json::Kind::kNumber;
      const std::size_t start = pos_;
      while (pos_ < s_.size() &&
             std::string_view("+-.0123456789eE").find(s_[pos_]) != std::string_view::npos) {
        ++pos_;
      }
      if (pos_ == start) fail("unexpected character");
      j.text = std::string(s_.substr(start, pos_ - start));
    }
    return j;
  }
  std::uint32_t hex4() {
    if (s_.size() - pos_ < 4) fail("short \\u escape");
    const std::uint32_t v =
        static_cast<std::uint32_t>(std::stoul(std::string(s_.substr(pos_, 4)), nullptr, 16));
    pos_ += 4;
    return v;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
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
  std::string string() {
    if (!eat("\"")) fail("expected string");
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("dangling escape");
      const char e = s_[pos_++];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xd800 && cp <= 0xdbff && eat("\\u")) {
            const std::uint32_t lo = hex4();
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          out.push_back(e);
          break;  // \" \\ \/
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

const std::vector<Json>& conformance_cases() {
  static const std::unique_ptr<Json> doc = [] {
    std::ifstream in(std::string(AUTHMILTER_TEST_DATA_DIR) + "/authres/ar_parse_cases.json",
                     std::ios::binary);
    if (!in)
      throw std::runtime_error("cannot open ar_parse_cases.json under " AUTHMILTER_TEST_DATA_DIR);
    std::stringstream buf;
    buf << in.rdbuf();
    return std::make_unique<Json>(JsonReader(buf.str()).document());
  }();
  return doc->items;
}

// The header value: the input without a leading "Authentication-Results:" field name.
std::string value_of(const std::string& input) {
  constexpr std::string_view kName = "authentication-results:";
  if (input.size() >= kName.size()) {
    std::string head = input.substr(0, kName.size());
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) return input.substr(kName.size());
  }
  return input;
}

std::optional<std::string> reference_id(const Json& c, std::string_view library) {
  const Json* r = c.get(library);
  if (r == nullptr) return std::nullopt;
  const Json* ok = r->get("ok");
  const Json* id = r->get("authserv_id");
  if (ok == nullptr || !ok->boolean || id == nullptr || !id->is_string()) return std::nullopt;
  return id->text;
}

constexpr std::string_view kAuthres = "authres_1.2.0";
constexpr std::string_view kMailAr = "Mail::AuthenticationResults_2.20230112";

TEST(AuthresConformance, AuthservIdWhereReferencesAgree) {
  const auto& cases = conformance_cases();
  ASSERT_EQ(cases.size(), 68u);
  int compared = 0;
  for (const auto& c : cases) {
    const std::string input = c.get("input")->text;
    const auto strict = reference_id(c, kAuthres);
    const auto liberal = reference_id(c, kMailAr);
    if (!strict || !liberal || *strict != *liberal) continue;
    EXPECT_EQ(authserv_id_of(value_of(input)), *strict) << c.get("source")->text << ": " << input;
    ++compared;
  }
  std::cout << "[ authres  ] authserv-id compared on " << compared
            << " cases where both references parse and agree\n";
  EXPECT_EQ(compared, 35);
}

// Where only Mail::AuthenticationResults (the liberal reference) finds an id, our reader,
// liberal on purpose (removal of forged headers), finds the same one.
TEST(AuthresConformance, AuthservIdLiberalReference) {
  int compared = 0;
  for (const auto& c : conformance_cases()) {
    const std::string input = c.get("input")->text;
    const auto strict = reference_id(c, kAuthres);
    const auto liberal = reference_id(c, kMailAr);
    if (strict || !liberal) continue;
    EXPECT_EQ(authserv_id_of(value_of(input)), *liberal) << c.get("source")->text << ": " << input;
    ++compared;
  }
  std::cout << "[ authres  ] authserv-id compared on " << compared
            << " cases only Mail::AuthenticationResults parses\n";
  EXPECT_EQ(compared, 17);
}

// Inputs both references reject that still start with a plain id: ours returns that id
// (liberal) or nullopt, never something else and never crashes.
TEST(AuthresConformance, RejectedInputsNeverYieldOtherIds) {
  int rejected = 0;
  for (const auto& c : conformance_cases()) {
    const std::string input = c.get("input")->text;
    if (reference_id(c, kAuthres) || reference_id(c, kMailAr)) continue;
    ++rejected;
    const auto id = authserv_id_of(value_of(input));
    if (id) {
      EXPECT_EQ(value_of(input).find(*id), 0u) << input;
    }
  }
  EXPECT_EQ(rejected, 15);
}

// Re-create every result authres parsed and compare our header, unfolded, with authres'
// canonical str(): same quoting decisions (e.g. header.b="Qgi/FoC0", policy.iprev="2001:...")
// and the same "id; none". authres drops comments, so ours has none either.
TEST(AuthresConformance, WriterMatchesAuthresStr) {
  int compared = 0;
  for (const auto& c : conformance_cases()) {
    const Json* r = c.get(kAuthres);
    if (r == nullptr || !r->get("ok")->boolean) continue;
    const std::string id = r->get("authserv_id")->text;
    std::vector<MethodResult> results;
    bool representable = true;
    for (const auto& res : r->get("results")->items) {
      MethodResult m;
      m.method = res.get("method")->text;
      m.result = res.get("result")->text;
      if (res.get("version")->is_string()) representable = false;  // no method versions
      if (res.get("reason")->is_string()) m.reason = res.get("reason")->text;
      for (const auto& p : res.get("properties")->items) {
        const std::string type = p.get("type")->text;
        const std::string name = p.get("name")->text;
        if (type.empty()) representable = false;
        m.properties.emplace_back(type + "." + name, p.get("value")->text);
      }
      results.push_back(std::move(m));
    }
    if (!representable || r->get("version")->is_string()) continue;
    std::string ours = format_authentication_results(id, results);
    for (std::size_t i; (i = ours.find("\n\t")) != std::string::npos;) ours.replace(i, 2, " ");
    const std::string theirs = r->get("str")->text.substr(kHeaderPrefixLength);
    EXPECT_EQ(ours, theirs) << c.get("source")->text;
    ++compared;
  }
  std::cout << "[ authres  ] writer compared with authres str() on " << compared << " headers\n";
  EXPECT_EQ(compared, 35);
}

}  // namespace
}  // namespace authmilter::mail

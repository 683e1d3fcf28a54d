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

}  // namespace
}  // namespace authmilter::mail

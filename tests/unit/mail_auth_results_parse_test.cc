// Tests for parse_authentication_results() (RFC 8601 §2.2): RFC 8601 Appendix B examples,
// round trips through format_authentication_results(), limits and hostile input. The
// authres conformance data runs in tests/conformance/auth_results_conformance_test.cc.
#include <cstdint>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "auth_results_support.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/auth_results_parse.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;
using Props = std::vector<std::pair<std::string, std::string>>;
using test_support::render;

// --- RFC 8601 Appendix B and hand-written cases. ---

TEST(ParseAuthResults, Rfc8601AppendixB) {
  // B.2: nothing done; with an authres-version.
  auto ar = parse_authentication_results("example.org 1; none");
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->authserv_id, "example.org");
  EXPECT_EQ(ar->version, "1");
  EXPECT_TRUE(ar->none);
  EXPECT_TRUE(ar->results.empty());

  // B.3 SPF.
  ar = parse_authentication_results("example.com;\n\t  spf=pass smtp.mailfrom=example.net");
  ASSERT_TRUE(ar);
  EXPECT_FALSE(ar->none);
  EXPECT_EQ(render(*ar), std::vector<std::string>{"spf=pass smtp.mailfrom=[example.net]"});

  // B.4 SMTP AUTH and iprev.
  ar = parse_authentication_results(
      "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
      "          spf=pass smtp.mailfrom=example.net");
  ASSERT_TRUE(ar);
  EXPECT_EQ(render(*ar), (std::vector<std::string>{"auth=pass smtp.auth=[sender@example.net]",
                                                   "spf=pass smtp.mailfrom=[example.net]"}));
  ar = parse_authentication_results("example.com; iprev=pass\n policy.iprev=192.0.2.200");
  ASSERT_TRUE(ar);
  EXPECT_EQ(render(*ar), std::vector<std::string>{"iprev=pass policy.iprev=[192.0.2.200]"});

  // B.6: reason=, several results.
  ar = parse_authentication_results(
      "example.com;\n"
      "\tdkim=pass reason=\"good signature\"\n\t  header.i=@mail-router.example.net;\n"
      "\tdkim=fail reason=\"bad signature\"\n\t  header.i=@newyork.example.com");
  ASSERT_TRUE(ar);
  EXPECT_EQ(render(*ar),
            (std::vector<std::string>{
                "dkim=pass reason=[good signature] header.i=[@mail-router.example.net]",
                "dkim=fail reason=[bad signature] header.i=[@newyork.example.com]"}));

  // B.7: comment-heavy, CFWS around '/', '=', '.'.
  ar = parse_authentication_results(
      "foo.example.net (foobar) 1 (baz);\n"
      "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\n"
      "      policy (A dot can go here) . (like that) expired\n"
      "      (this surprised me) = (as I wasn't expecting it) 1362471462");
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->authserv_id, "foo.example.net");
  EXPECT_EQ(ar->version, "1");
  EXPECT_EQ(render(*ar), std::vector<std::string>{"dkim/1=fail policy.expired=[1362471462]"});
}

TEST(ParseAuthResults, Accepted) {
  struct Case {
    std::string in;
    std::string id;
    std::vector<std::string> results;
    bool none = false;
  } cases[] = {
      {"mx.example.net; none", "mx.example.net", {}, true},
      {"mx.example.net;NONE", "mx.example.net", {}, true},
      {"mx.example.net ; (c) None (c)", "mx.example.net", {}, true},
      {"(c) \"mx.example.net\" ; none", "mx.example.net", {}, true},
      {"\"odd \\\"id\\\"\"; none", "odd \"id\"", {}, true},
      {"b\xc3\xbc"
       "cher.example; none",
       "b\xc3\xbc"
       "cher.example",
       {},
       true},
      {"mx; SPF=Pass Smtp.MailFrom=Alice@Example.ORG",
       "mx",
       {"spf=pass smtp.mailfrom=[Alice@Example.ORG]"}},
      {"mx; spf/1=pass", "mx", {"spf/1=pass"}},
      {"mx; spf / 2 (v) = pass", "mx", {"spf/2=pass"}},
      {"mx; none=pass", "mx", {"none=pass"}},
      {"mx; spf=pass; none=fail", "mx", {"spf=pass", "none=fail"}},
      {"mx; x_y-z=some_result", "mx", {"x_y-z=some_result"}},
      // reason: quoted, token, only right after the methodspec; later ones are skipped.
      {"mx; dkim=fail reason=token", "mx", {"dkim=fail reason=[token]"}},
      {"mx; dkim=fail REASON = \"a \\\"q\\\" (x) ; y\"",
       "mx",
       {"dkim=fail reason=[a \"q\" (x) ; y]"}},
      {"mx; dkim=fail header.d=x reason=late", "mx", {"dkim=fail header.d=[x]"}},
      {"mx; dkim=fail reason=a reason=b", "mx", {"dkim=fail reason=[a]"}},
      // Values: quoted (unfolded, unescaped), address forms, DKIM base64, IPv6, empty.
      {"mx; dkim=pass header.b=\"ab/+c==\" header.i=@d.example header.s=\"\"",
       "mx",
       {"dkim=pass header.b=[ab/+c==] header.i=[@d.example] header.s=[]"}},
      {"mx; dkim=pass header.b=ab/+c== header.d=d.example",
       "mx",
       {"dkim=pass header.b=[ab/+c==] header.d=[d.example]"}},
      {"mx; iprev=pass policy.iprev=2001:db8::1 (x)",
       "mx",
       {"iprev=pass policy.iprev=[2001:db8::1]"}},
      {"mx; iprev=pass policy.iprev=\"2001:db8::1\"",
       "mx",
       {"iprev=pass policy.iprev=[2001:db8::1]"}},
      {"mx; x=y smtp.a= smtp.b=(c)v", "mx", {"x=y smtp.a=[] smtp.b=[v]"}},
      {"mx; x=y smtp.a= x-ptr =v smtp.c=d", "mx", {"x=y smtp.a=[] smtp.c=[d]"}},
      {"mx; x=y smtp.a=smtp.b=v", "mx", {"x=y smtp.a=[smtp.b=v]"}},
      {"mx; dkim=pass header.d = example.com header.s =\n (c) s1",
       "mx",
       {"dkim=pass header.d=[example.com] header.s=[s1]"}},
      {"mx; x=y smtp.a=;spf=pass", "mx", {"x=y smtp.a=[]", "spf=pass"}},
      {"mx; x=y smtp.a=\"a\r\n\tb\"", "mx", {"x=y smtp.a=[a\tb]"}},
      {"mx; x=y smtp.a=\"a\\\\b\"header.b=c", "mx", {"x=y smtp.a=[a\\b] header.b=[c]"}},
      {"mx; x=y smtp.mailfrom=j\xc3\xb6rg@example.org",
       "mx",
       {"x=y smtp.mailfrom=[j\xc3\xb6rg@example.org]"}},
      {"mx; x=y smtp.mailfrom=\"j\xc3\xb6rg\"", "mx", {"x=y smtp.mailfrom=[j\xc3\xb6rg]"}},
      // ptype-less key=value pairs are skipped (python authres does the same).
      {"mx; x-tls=pass version=TLSv1.2 bits=128/128 smtp.x=1", "mx", {"x-tls=pass smtp.x=[1]"}},
      {"mx; dkim=pass address=thisisa=test@example.com", "mx", {"dkim=pass"}},
      {"mx; dmarc=none action=\"quoted;\" header.from=a", "mx", {"dmarc=none header.from=[a]"}},
      // Folds: CRLF and bare LF followed by WSP, anywhere CFWS is allowed.
      {"mx\r\n\t;\r\n spf\n =\n pass\n\t(c\r\n d)", "mx", {"spf=pass"}},
      // One ';' after the last resinfo.
      {"mx; spf=pass;", "mx", {"spf=pass"}},
      {"mx; spf=pass ; (c)\n ", "mx", {"spf=pass"}},
      {"  mx;spf=pass  ", "mx", {"spf=pass"}},
      // The ABNF's final CRLF (or LF), when a caller passes it along.
      {"mx; spf=pass\r\n", "mx", {"spf=pass"}},
      {"mx; spf=pass (c)\n", "mx", {"spf=pass"}},
      {"mx; none\n", "mx", {}, true},
  };
  for (const auto& c : cases) {
    const auto ar = parse_authentication_results(c.in);
    ASSERT_TRUE(ar) << "input: " << c.in;
    EXPECT_EQ(ar->authserv_id, c.id) << c.in;
    EXPECT_EQ(ar->none, c.none) << c.in;
    EXPECT_EQ(render(*ar), c.results) << c.in;
  }
}

TEST(ParseAuthResults, Rejected) {
  const std::string cases[] = {
      "",
      "   ",
      "(c)",
      "mx",
      "mx.example.net",
      "mx;",
      "mx; ",
      "mx;;",
      "mx; spf=pass;;",
      "mx; spf=pass; ;",
      ";none",
      "; spf=pass",
      "mx foo;",
      "mx foo; none",
      "mx 1 2; none",
      "mx 1x; none",
      "\"mx\"1; none",
      "mx; none none",
      "mx; none dkim=pass",
      "mx; none; spf=pass",
      "mx; none;",
      "mx; spf",
      "mx; spf=",
      "mx; spf= ;dkim=pass",
      "mx; spf==pass",
      "mx; =pass",
      "mx; spf=pass=x",
      "mx; spf/=pass",
      "mx; spf/x=pass",
      "mx; spf/1.0=pass",
      "mx; spf.x=pass",
      "mx; spf=pass smtp",
      "mx; spf=pass smtp.",
      "mx; spf=pass smtp.mailfrom",
      "mx; spf=pass smtp.mailfrom x",
      "mx; spf=pass smtp . . mailfrom=x",
      "mx; spf=pass smtp.mail.from=x",
      "mx; spf=pass .mailfrom=x",
      "mx; spf=pass smtp.mailfrom=\"x",
      "mx; spf=pass smtp.mailfrom=x\"y\"",
      "mx; spf=pass smtp.mailfrom=a\\b",
      "mx; spf=pass foo bar=x",
      "mx; spf=pass \"smtp\".mailfrom=x",
      "mx; \"spf\"=pass",
      "mx; spf=\"pass\"",
      "mx; spf=pass; mx.example; dkim=pass",  // a second authserv-id (Microsoft style)
      "mx; spf=pass header.d=none;other.example; dmarc=none",
      "mx = = test;",
      "mx . bar = test;",
      "mx/1; none",
      "\"\"; none",
      "\"mx; none",
      "(unterminated mx; none",
      "mx; spf=pass (unterminated",
      "mx; spf=pass (a \\",
      "mx; spf=pass reason=\"unterminated",
      // Line breaks that are not folds, NUL, controls, malformed 8-bit.
      "mx;\nspf=pass",
      "mx;\r\nspf=pass",
      "mx; spf=pass\n\n",
      "mx; spf=pass\r\n\r\n",
      "mx; spf=pass\n\r",
      "mx; spf=pass\n\n smtp.x=y",
      "mx; spf=pass\r",
      "mx; spf=pass\0"s,
      "mx\0; spf=pass"s,
      "mx; spf=pass smtp.x=\"a\0b\""s,
      "mx; spf=pass smtp.x=\"a\\\0b\""s,
      "mx; spf=pass (a\0b)"s,
      "mx; spf=pass smtp.x=a\x01",
      "mx; spf=pass smtp.x=\"a\x1b\"",
      "mx; spf=pass (a\x7f)",
      "mx; spf=pass smtp.x=\xff",
      "mx; spf=pass smtp.x=\"\xc3\"",
      "mx; spf=pass (\xc0\xaf)",
      "mx; spf=pass smtp.x=\xc2\x85",  // C1 control
      "\xff; none",
      "mx; sp\xc3\xbc=pass",
  };
  for (const auto& in : cases) {
    EXPECT_EQ(parse_authentication_results(in), std::nullopt) << "input: " << in;
  }
}

// --- Limits: each at the limit and one past. ---

TEST(ParseAuthResultsLimits, ValueLength) {
  std::string at = "mx; spf=pass smtp.x=";
  at += std::string(kMaxAuthResultsParseLength - at.size(), 'v');
  ASSERT_EQ(at.size(), kMaxAuthResultsParseLength);
  const auto ar = parse_authentication_results(at);
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->results.at(0).properties.at(0).second.size(), kMaxAuthResultsParseLength - 20);
  EXPECT_EQ(parse_authentication_results(at + "v"), std::nullopt);
}

TEST(ParseAuthResultsLimits, ResInfoCount) {
  auto header = [](std::size_t n) {
    std::string s = "mx";
    for (std::size_t i = 0; i < n; ++i) s += "; spf=pass";
    return s;
  };
  const auto ar = parse_authentication_results(header(kMaxParsedResInfos));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->results.size(), kMaxParsedResInfos);
  EXPECT_EQ(parse_authentication_results(header(kMaxParsedResInfos + 1)), std::nullopt);
}

TEST(ParseAuthResultsLimits, PropertyCount) {
  auto header = [](std::size_t n) {
    std::string s = "mx; dkim=pass";
    for (std::size_t i = 0; i < n; ++i) s += " header.d=d" + std::to_string(i);
    return s;
  };
  const auto ar = parse_authentication_results(header(kMaxParsedProperties));
  ASSERT_TRUE(ar);
  EXPECT_EQ(ar->results.at(0).properties.size(), kMaxParsedProperties);
  EXPECT_EQ(ar->results.at(0).properties.back().second,
            "d" + std::to_string(kMaxParsedProperties - 1));
  EXPECT_EQ(parse_authentication_results(header(kMaxParsedProperties + 1)), std::nullopt);
  // Skipped ptype-less pairs do not count.
  std::string many = "mx; dkim=pass";
  for (std::size_t i = 0; i < 10 * kMaxParsedProperties; ++i) many += " x=y";
  ASSERT_TRUE(parse_authentication_results(many));
}

TEST(ParseAuthResultsLimits, KeywordLength) {
  const std::string at(kMaxKeywordLength, 'k');
  const std::string past(kMaxKeywordLength + 1, 'k');
  auto ok = [](const std::string& s) { return parse_authentication_results(s).has_value(); };
  EXPECT_TRUE(ok("mx; " + at + "=pass"));
  EXPECT_FALSE(ok("mx; " + past + "=pass"));
  EXPECT_TRUE(ok("mx; spf=" + at));
  EXPECT_FALSE(ok("mx; spf=" + past));
  EXPECT_TRUE(ok("mx; spf=pass " + at + "." + at + "=v"));
  EXPECT_FALSE(ok("mx; spf=pass " + past + ".x=v"));
  EXPECT_FALSE(ok("mx; spf=pass x." + past + "=v"));
  EXPECT_FALSE(ok("mx; spf=pass " + past + "=v"));
  EXPECT_EQ(parse_authentication_results("mx; " + at + "=pass")->results.at(0).method, at);
}

TEST(ParseAuthResultsLimits, VersionDigits) {
  const std::string at(kMaxAuthResultsVersionDigits, '1');
  const std::string past(kMaxAuthResultsVersionDigits + 1, '1');
  EXPECT_EQ(parse_authentication_results("mx " + at + "; none")->version, at);
  EXPECT_EQ(parse_authentication_results("mx " + past + "; none"), std::nullopt);
  EXPECT_EQ(parse_authentication_results("mx; spf/" + at + "=pass")->results.at(0).version, at);
  EXPECT_EQ(parse_authentication_results("mx; spf/" + past + "=pass"), std::nullopt);
}

TEST(ParseAuthResultsLimits, AuthservIdLength) {
  const std::string at(kMaxAuthservIdLength, 'a');
  const std::string past(kMaxAuthservIdLength + 1, 'a');
  EXPECT_EQ(parse_authentication_results(at + "; none")->authserv_id, at);
  EXPECT_EQ(parse_authentication_results(past + "; none"), std::nullopt);
  EXPECT_EQ(parse_authentication_results("\"" + at + "\"; none")->authserv_id, at);
  EXPECT_EQ(parse_authentication_results("\"" + past + "\"; none"), std::nullopt);
}

TEST(ParseAuthResultsLimits, CommentDepth) {
  auto nested = [](std::size_t n) { return std::string(n, '(') + "x" + std::string(n, ')'); };
  for (const char* place : {"head", "id", "method", "value"}) {
    auto header = [&](std::size_t n) {
      const std::string c = nested(n);
      if (std::string(place) == "head") return c + " mx; spf=pass";
      if (std::string(place) == "id") return "mx " + c + "; spf=pass";
      if (std::string(place) == "method") return "mx; spf " + c + " = pass";
      return "mx; spf=pass smtp.x=v " + c;
    };
    EXPECT_TRUE(parse_authentication_results(header(kMaxCommentDepth))) << place;
    EXPECT_EQ(parse_authentication_results(header(kMaxCommentDepth + 1)), std::nullopt) << place;
  }
  // Depth is per comment, not cumulative.
  EXPECT_TRUE(parse_authentication_results(nested(kMaxCommentDepth) + nested(kMaxCommentDepth) +
                                           " mx; none"));
}

TEST(ParseAuthResults, HostileMegabytes) {
  constexpr std::size_t kMb = 1 << 20;  // past the length limit
  for (char c : {'(', ')', ' ', '\0', '"', ';', '=', 'a', '\n', '\\', '.'}) {
    EXPECT_EQ(parse_authentication_results(std::string(kMb, c)), std::nullopt) << int{c};
  }
  // Just under the limit, every shape still ends quickly and correctly.
  const std::size_t n = kMaxAuthResultsParseLength - 100;
  EXPECT_EQ(parse_authentication_results("mx; spf=pass (" + std::string(n, '(')), std::nullopt);
  std::string flat = "mx; spf=pass (";
  while (flat.size() < n) flat += "()";
  EXPECT_TRUE(parse_authentication_results(flat + ")"));
  std::string quoted = "mx; spf=pass smtp.x=\"";
  while (quoted.size() < n) quoted += "\\\"";
  EXPECT_EQ(parse_authentication_results(quoted), std::nullopt);
  EXPECT_EQ(parse_authentication_results(quoted + "\"")->results.at(0).properties.at(0).second,
            std::string((quoted.size() - 21) / 2, '"'));
  std::string folds = "mx;";
  while (folds.size() < n) folds += "\r\n \n\t";
  EXPECT_EQ(parse_authentication_results(folds + "none")->none, true);
  std::string semis = "mx";
  while (semis.size() < n) semis += ";";
  EXPECT_EQ(parse_authentication_results(semis), std::nullopt);
}

TEST(ParseAuthResults, DeterministicFuzzNeverCrashes) {
  // Random mutations of a real header: any outcome is fine, no crash and no hang (ASan/UBSan
  // build), and an accepted value always has an authserv-id and results or none.
  const std::string seed =
      "mx.example.net 1 (c);\n\tspf=pass (x (y)) smtp.mailfrom=\"a\\\"b\"@c;\n\t"
      "dkim/1=fail reason=\"r\" header.b=ab/+= header.d=d;\n\tdmarc=pass header.from=d";
  const std::string alphabet = "();=./\"\\@ \t\r\n\0\x80\xc3\xa9xyz19"s;
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string s = seed;
    const int edits = static_cast<int>(rng() % 4) + 1;
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          s.insert(pos, 1, c);
          break;
        case 1:
          if (pos < s.size()) s[pos] = c;
          break;
        default:
          if (pos < s.size()) s.erase(pos, 1);
      }
    }
    const auto ar = parse_authentication_results(s);
    if (ar) {
      EXPECT_FALSE(ar->authserv_id.empty());
      EXPECT_NE(ar->none, !ar->results.empty()) << s;
      for (const auto& r : ar->results) {
        EXPECT_FALSE(r.method.empty());
        EXPECT_FALSE(r.result.empty());
      }
    }
  }
}

// --- Round trip through the writer (auth_results.h). ---

void expect_round_trip(const std::string& id, const std::vector<MethodResult>& in) {
  const std::string header = format_authentication_results(id, in);
  const auto ar = parse_authentication_results(header);
  ASSERT_TRUE(ar) << header;
  EXPECT_EQ(ar->authserv_id, id);
  EXPECT_TRUE(ar->version.empty());
  EXPECT_EQ(ar->none, in.empty()) << header;
  ASSERT_EQ(ar->results.size(), in.size()) << header;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const ParsedResInfo& r = ar->results[i];
    EXPECT_EQ(r.method, in[i].method) << header;
    EXPECT_EQ(r.result, in[i].result) << header;
    EXPECT_EQ(r.reason, in[i].reason) << header;
    EXPECT_EQ(r.properties, in[i].properties) << header;
  }
}

TEST(ParseAuthResultsRoundTrip, WriterOutputParsesBack) {
  expect_round_trip("mx.example.net", {});
  expect_round_trip(
      "b\xc3\xbc"
      "cher.example",
      {{"spf", "pass", "", "", {{"smtp.mailfrom", "j\xc3\xb6rg@example.org"}}}});
  expect_round_trip("mx.example.net",
                    {{"spf",
                      "pass",
                      "",
                      "mx.example.net: 192.0.2.1 is allowed",
                      {{"smtp.mailfrom", "alice@example.org"}, {"smtp.helo", "mail.example.org"}}},
                     {"sender-id", "fail", "", "", {{"header.from", "bob@example.com"}}},
                     {"dkim",
                      "pass",
                      "",
                      "2048-bit rsa key",
                      {{"header.d", "example.org"},
                       {"header.i", "@example.org"},
                       {"header.s", "sel"},
                       {"header.b", "ab/+cd=="}}},
                     {"dmarc",
                      "fail",
                      "",
                      "p=reject sp=none pct=100 (inherited)",
                      {{"header.from", "example.org"}}},
                     {"iprev", "pass", "", "", {{"policy.iprev", "2001:db8::25"}}},
                     {"spf",
                      "permerror",
                      "bad record: \"v=spf1 -all x\" \\ (unbalanced",
                      "comment with ) and ( and \\ and \"quotes\"",
                      {{"smtp.mailfrom", "\"quoted local\"@example.org"},
                       {"smtp.helo", ""},
                       {"smtp.x", "semi;colon = equals (paren) back\\slash"}}}});
  // Long values and comments force folding inside the resinfo.
  expect_round_trip("mx",
                    {{"dkim",
                      "neutral",
                      std::string(300, 'r'),
                      std::string(300, 'c'),
                      {{"header.b", std::string(300, 'b')}, {"header.d", std::string(60, 'd')}}}});
}

TEST(ParseAuthResultsRoundTrip, RandomResults) {
  std::mt19937 rng(4242);
  const std::vector<std::string> methods = {"spf", "dkim", "dmarc", "sender-id", "iprev", "x-y"};
  const std::vector<std::string> results = {"pass", "fail",      "softfail",  "neutral",
                                            "none", "temperror", "permerror", "policy"};
  const std::vector<std::string> props = {"smtp.mailfrom", "smtp.helo", "header.from",
                                          "header.d",      "header.i",  "policy.iprev",
                                          "body.x"};
  // Printable ASCII without TAB (the writer maps HTAB to a space).
  auto text = [&](std::size_t max) {
    std::string s(rng() % (max + 1), ' ');
    for (char& c : s) c = static_cast<char>(0x20 + rng() % 95);
    return s;
  };
  for (int i = 0; i < 500; ++i) {
    std::vector<MethodResult> in(rng() % 5);
    for (auto& m : in) {
      m.method = methods[rng() % methods.size()];
      m.result = results[rng() % results.size()];
      if (rng() % 2) m.reason = text(40);
      if (rng() % 2) m.comment = text(40);
      const std::size_t n = rng() % 4;
      for (std::size_t k = 0; k < n; ++k)
        m.properties.emplace_back(props[rng() % props.size()], text(30));
    }
    expect_round_trip("mx" + std::to_string(i) + ".example", in);
  }
}

}  // namespace
}  // namespace authmilter::mail

// Tests for the Authentication-Results writer (format_authentication_results).
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/header.h"

namespace authmilter::mail {
namespace {

using Props = std::vector<std::pair<std::string, std::string>>;

MethodResult mr(std::string method, std::string result, Props props = {}, std::string comment = {},
                std::string reason = {}) {
  return MethodResult{std::move(method), std::move(result), std::move(reason), std::move(comment),
                      std::move(props)};
}

std::vector<std::string> lines_of(const std::string& value) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const auto nl = value.find('\n', start);
    lines.push_back(value.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

bool has_space_outside_quotes(const std::string& line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (quoted && line[i] == '\\') {
      ++i;
    } else if (line[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && line[i] == ' ') {
      return true;
    }
  }
  return false;
}

// The header is well formed: only LF+TAB folds, no other control byte, no line (first one
// with its "Authentication-Results: " prefix) longer than `limit` unless it holds one token.
void expect_well_formed(const std::string& value, std::size_t limit = kMaxLineLength) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto u = static_cast<unsigned char>(value[i]);
    if (value[i] == '\n') {
      ASSERT_LT(i + 1, value.size()) << "value ends with a line break";
      EXPECT_EQ(value[i + 1], '\t') << "line break not followed by WSP at " << i;
    } else if (value[i] != '\t') {
      EXPECT_FALSE(u < 0x20 || u == 0x7f) << "control byte " << int{u} << " at " << i;
    }
  }
  const auto lines = lines_of(value);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t len = lines[i].size() + (i == 0 ? kHeaderPrefixLength : 0);
    EXPECT_LE(len, kMaxHardLineLength) << lines[i];
    if (len > limit) {
      // Only a single unbreakable token (quoted-strings included) may exceed the soft limit.
      EXPECT_FALSE(has_space_outside_quotes(lines[i])) << "foldable line too long: " << lines[i];
    }
  }
}

// Folding only replaced single spaces by "\n\t" (and the resinfo separators "; ").
std::string unfolded(const std::string& value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n' && i + 1 < value.size() && value[i + 1] == '\t') {
      out.push_back(' ');
      ++i;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

TEST(AuthResultsFormat, DesignExampleOne) {
  const std::vector<MethodResult> results = {
      mr("spf", "pass", {{"smtp.mailfrom", "alice@example.org"}}),
      mr("dkim", "pass",
         {{"header.d", "example.org"}, {"header.s", "s2048"}, {"header.b", "AbCdEfGh"}}),
      mr("dmarc", "pass", {{"header.from", "example.org"}}, "p=reject sp=reject pct=100"),
  };
  const std::string v = format_authentication_results("mx.example.net", results);
  EXPECT_EQ(v,
            "mx.example.net;\n"
            "\tspf=pass smtp.mailfrom=alice@example.org;\n"
            "\tdkim=pass header.d=example.org header.s=s2048 header.b=AbCdEfGh;\n"
            "\tdmarc=pass (p=reject sp=reject pct=100) header.from=example.org");
  expect_well_formed(v);
  EXPECT_EQ(authserv_id_of(v), "mx.example.net");
}

// DESIGN §5's second example, except that "dkim=none;" gets its own line like every resinfo.
TEST(AuthResultsFormat, DesignExampleTwo) {
  const std::vector<MethodResult> results = {
      mr("spf", "none", {{"smtp.mailfrom", "x@zebuzez.test"}}),
      mr("senderid", "fail", {{"header.from", "it@state.example"}}),
      mr("dkim", "none"),
      mr("dmarc", "fail", {{"header.from", "state.example"}}, "p=reject"),
  };
  const std::string v = format_authentication_results("mx.example.net", results);
  EXPECT_EQ(v,
            "mx.example.net;\n"
            "\tspf=none smtp.mailfrom=x@zebuzez.test;\n"
            "\tsenderid=fail header.from=it@state.example;\n"
            "\tdkim=none;\n"
            "\tdmarc=fail (p=reject) header.from=state.example");
  expect_well_formed(v);
}

TEST(AuthResultsFormat, ReasonCommentPropertyOrder) {
  const std::string v = format_authentication_results(
      "mx", {mr("dkim", "fail", {{"header.d", "x.example"}}, "bad sig", "body hash mismatch")});
  EXPECT_EQ(v, "mx;\n\tdkim=fail reason=\"body hash mismatch\" (bad sig) header.d=x.example");
}

TEST(AuthResultsFormat, NoMethodsIsNone) {
  EXPECT_EQ(format_authentication_results("mx.example.net", {}), "mx.example.net; none");
  // Every resinfo invalid: same as none.
  EXPECT_EQ(format_authentication_results("mx.example.net", {mr("", "pass"), mr("spf", "")}),
            "mx.example.net; none");
  // An id so long that "; none" would pass 78 columns folds before "none".
  const std::string id(60, 'a');
  EXPECT_EQ(format_authentication_results(id, {}), id + ";\n\tnone");
  const std::string fits(78 - kHeaderPrefixLength - 6, 'b');
  EXPECT_EQ(format_authentication_results(fits, {}), fits + "; none");
  const std::string one_more = fits + "b";
  EXPECT_EQ(format_authentication_results(one_more, {}), one_more + ";\n\tnone");
}

TEST(AuthResultsFormat, AuthservIdValidation) {
  EXPECT_TRUE(is_valid_authserv_id("mx.example.net"));
  EXPECT_TRUE(
      is_valid_authserv_id("b\xc3\xbc"
                           "cher.example"));  // U-label, RFC 8601 §2.5
  EXPECT_FALSE(is_valid_authserv_id(""));
  EXPECT_FALSE(is_valid_authserv_id("mx example"));
  EXPECT_FALSE(is_valid_authserv_id("mx;evil"));
  EXPECT_FALSE(is_valid_authserv_id("mx\r\nX-Evil: 1"));
  EXPECT_FALSE(is_valid_authserv_id("mx\xff"));
  EXPECT_FALSE(is_valid_authserv_id("\"mx\""));
  const std::string at_limit(kMaxAuthservIdLength, 'm');
  EXPECT_TRUE(is_valid_authserv_id(at_limit));
  EXPECT_FALSE(is_valid_authserv_id(at_limit + "m"));
  EXPECT_NO_THROW(format_authentication_results(at_limit, {mr("spf", "pass")}));
  EXPECT_THROW(format_authentication_results(at_limit + "m", {}), std::invalid_argument);
  EXPECT_THROW(format_authentication_results("", {}), std::invalid_argument);
  EXPECT_THROW(format_authentication_results("mx\nX: y", {}), std::invalid_argument);
}

TEST(AuthResultsFormat, KeywordsValidated) {
  const std::string kw(kMaxKeywordLength, 'k');
  EXPECT_EQ(format_authentication_results("mx", {mr(kw, "pass")}), "mx;\n\t" + kw + "=pass");
  EXPECT_EQ(format_authentication_results("mx", {mr(kw + "k", "pass")}), "mx; none");
  EXPECT_EQ(format_authentication_results("mx", {mr("spf", kw + "k")}), "mx; none");
  EXPECT_EQ(format_authentication_results("mx", {mr("sp f", "pass")}), "mx; none");
  EXPECT_EQ(format_authentication_results("mx", {mr("spf", "pass;dkim=pass")}), "mx; none");
  EXPECT_EQ(format_authentication_results("mx", {mr("spf\n", "pass")}), "mx; none");
  // Bad property names are left out, good ones kept.
  const std::string v =
      format_authentication_results("mx", {mr("spf", "pass",
                                              {{"mailfrom", "a@b.c"},        // no ptype
                                               {"smtp.", "a@b.c"},           // no property
                                               {".mailfrom", "a@b.c"},       // no ptype
                                               {"smtp.mail from", "a@b.c"},  // space
                                               {"smtp.mail=from", "a@b.c"},  // tspecial
                                               {"smtp.helo.x", "h.b.c"},     // two dots
                                               {"smtp." + kw, "1"},          // at the limit
                                               {"smtp." + kw + "k", "2"},    // one past
                                               {"smtp.mailfrom", "a@b.c"}})});
  EXPECT_EQ(unfolded(v), "mx; spf=pass smtp." + kw + "=1 smtp.mailfrom=a@b.c");
  expect_well_formed(v);
}

TEST(AuthResultsFormat, ValueQuoting) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"example.org", "example.org"},
      {"alice@example.org", "alice@example.org"},
      {"@example.org", "@example.org"},
      {"first.last+tag@example.org", "first.last+tag@example.org"},
      {"AbC+/dEf", "\"AbC+/dEf\""},  // base64 '/' is a tspecial
      {"s2048", "s2048"},
      {".net", ".net"},  // still an RFC 2045 token
      {"", "\"\""},
      {"a b", "\"a b\""},
      {"a;b", "\"a;b\""},
      {"a;b=c", "\"a;b=c\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"a@b@c", "\"a@b@c\""},
      {"a..b@c.d", "\"a..b@c.d\""},
      {".a@c.d", "\".a@c.d\""},
      {"a.@c.d", "\"a.@c.d\""},
      {"a@", "\"a@\""},
      {"a@c..d", "\"a@c..d\""},
      {"\"quoted local\"@c.d", "\"\\\"quoted local\\\"@c.d\""},
      {"thisisa=test@example.com", "\"thisisa=test@example.com\""},
      {"2001:db8::1", "\"2001:db8::1\""},
      {"192.0.2.1", "192.0.2.1"},
      {"(x)", "\"(x)\""},
      {"b\xc3\xbc"
       "cher@b\xc3\xbc"
       "cher.example",
       "\"b\xc3\xbc"
       "cher@b\xc3\xbc"
       "cher.example\""},
  };
  for (const auto& c : cases) {
    const std::string v =
        format_authentication_results("mx", {mr("spf", "pass", {{"smtp.mailfrom", c.in}})});
    EXPECT_EQ(v, "mx;\n\tspf=pass smtp.mailfrom=" + c.out) << c.in;
  }
}

TEST(AuthResultsFormat, CommentParentheses) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain", "(plain)"},        {"a (b) c", "(a (b) c)"}, {"a (b (c)) d", "(a (b (c)) d)"},
      {"a) b", "(a\\) b)"},        {"a (b", "(a \\(b)"},     {")(", "(\\)\\()"},
      {"x\\y", "(x\\\\y)"},        {"x\\)", "(x\\\\\\))"},   {"  spaced   out  ", "(spaced out)"},
      {"tab\there", "(tab here)"},
  };
  for (const auto& c : cases) {
    const std::string v = format_authentication_results("mx", {mr("spf", "pass", {}, c.in)});
    EXPECT_EQ(v, "mx;\n\tspf=pass " + c.out) << c.in;
  }
  // Only controls / spaces: no comment at all.
  EXPECT_EQ(format_authentication_results("mx", {mr("spf", "pass", {}, " \r\n\x01 ")}),
            "mx;\n\tspf=pass");
}

TEST(AuthResultsFormat, CommentNestingCappedAndReadable) {
  // kMaxCommentDepth counts the outer pair the writer adds.
  auto nested = [](std::size_t n) { return std::string(n, '(') + "x" + std::string(n, ')'); };
  const std::string ok = nested(kMaxCommentDepth - 1);
  EXPECT_EQ(format_authentication_results("mx", {mr("spf", "pass", {}, ok)}),
            "mx;\n\tspf=pass (" + ok + ")");
  const std::string v =
      format_authentication_results("mx", {mr("spf", "pass", {}, nested(kMaxCommentDepth))});
  const std::string comment = v.substr(v.find('('));
  EXPECT_NE(comment.find("\\("), std::string::npos);  // the innermost pair is escaped
  // The reader (same depth cap) accepts what the writer wrote, in both cases.
  EXPECT_EQ(authserv_id_of(comment + " id.example;"), "id.example");
  EXPECT_EQ(authserv_id_of("(" + ok + ") id.example;"), "id.example");
}

TEST(AuthResultsFormat, FoldsLongResinfoAtTokenBoundaries) {
  const std::vector<MethodResult> results = {
      mr("dkim", "pass",
         {{"header.d", "subdomain.of.a.rather.long.example.org"},
          {"header.i", "@subdomain.of.a.rather.long.example.org"},
          {"header.s", "selector-2024-rotation-a"},
          {"header.a", "rsa-sha256"},
          {"header.b", "AbCdEfGh"}},
         "2048-bit rsa key sha256, verified with the key published at the selector"),
      mr("dmarc", "fail", {{"header.from", "state.example"}},
         "p=reject sp=quarantine pct=100 adkim=s aspf=r", "no aligned identifier passed"),
      mr("spf", "softfail", {{"smtp.mailfrom", "a.very.long.local.part.indeed@example.org"}}),
  };
  const std::string v = format_authentication_results("mx.example.net", results);
  expect_well_formed(v);
  EXPECT_GT(lines_of(v).size(), 6u);
  EXPECT_EQ(unfolded(v),
            "mx.example.net; dkim=pass (2048-bit rsa key sha256, verified with the key "
            "published at the selector) header.d=subdomain.of.a.rather.long.example.org "
            "header.i=@subdomain.of.a.rather.long.example.org header.s=selector-2024-rotation-a "
            "header.a=rsa-sha256 header.b=AbCdEfGh; dmarc=fail reason=\"no aligned identifier "
            "passed\" (p=reject sp=quarantine pct=100 adkim=s aspf=r) header.from=state.example; "
            "spf=softfail smtp.mailfrom=a.very.long.local.part.indeed@example.org");
  // Quoted strings are never split.
  for (const auto& line : lines_of(v)) {
    std::size_t quotes = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
      } else if (line[i] == '"') {
        ++quotes;
      }
    }
    EXPECT_EQ(quotes % 2, 0u) << line;
  }
}

TEST(AuthResultsFormat, FoldBoundaryExactly78) {
  // "\tspf=pass smtp.mailfrom=" is 24 characters; a value making the line exactly 78 stays on
  // it, one more character moves the property to its own line.
  const std::string head = "\tspf=pass smtp.mailfrom=";
  const std::string fits(kMaxLineLength - head.size(), 'x');
  std::string v =
      format_authentication_results("mx", {mr("spf", "pass", {{"smtp.mailfrom", fits}})});
  EXPECT_EQ(v, "mx;\n" + head + fits);
  EXPECT_EQ(lines_of(v)[1].size(), kMaxLineLength);
  v = format_authentication_results("mx", {mr("spf", "pass", {{"smtp.mailfrom", fits + "x"}})});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\tsmtp.mailfrom=" + fits + "x");
  // The ';' ending a non-final resinfo counts too.
  v = format_authentication_results(
      "mx", {mr("spf", "pass", {{"smtp.mailfrom", fits}}), mr("dkim", "none")});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\tsmtp.mailfrom=" + fits + ";\n\tdkim=none");
  const std::string shorter(fits.size() - 1, 'x');
  v = format_authentication_results(
      "mx", {mr("spf", "pass", {{"smtp.mailfrom", shorter}}), mr("dkim", "none")});
  EXPECT_EQ(v, "mx;\n" + head + shorter + ";\n\tdkim=none");
  // The first line counts the 24-character field name prefix.
  const std::string id(kMaxLineLength - kHeaderPrefixLength - 1, 'i');
  v = format_authentication_results(id, {mr("spf", "pass")});
  EXPECT_EQ(lines_of(v)[0].size() + kHeaderPrefixLength, kMaxLineLength);
  expect_well_formed(v);
}

TEST(AuthResultsFormat, OverlongTokenStaysWhole) {
  const std::string b(120, 'B');
  const std::string v = format_authentication_results(
      "mx",
      {mr("dkim", "pass", {{"header.d", "example.org"}, {"header.b", b}, {"header.s", "s"}})});
  EXPECT_EQ(v, "mx;\n\tdkim=pass header.d=example.org\n\theader.b=" + b + "\n\theader.s=s");
  expect_well_formed(v);
}

TEST(AuthResultsFormat, InjectionCannotStartAHeader) {
  const std::vector<MethodResult> results = {
      mr("spf", "pass",
         {{"smtp.mailfrom", "evil@example.com\r\nX-Injected: yes"},
          {"smtp.helo", "helo\nBcc: victim@example.org"}},
         "ok)\r\nX-Comment: (x", "r\r\n\r\nbody"),
      mr("dkim", "pass", {{"header.d", "d\rX-Cr: 1"}, {"header.i", std::string("nul\0X", 5)}},
         "\n\n\n"),
  };
  const std::string v = format_authentication_results("mx.example.net", results);
  expect_well_formed(v);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\n') {
      ASSERT_LT(i + 1, v.size());
      EXPECT_TRUE(is_wsp(v[i + 1]));
    }
  }
  EXPECT_EQ(v.find('\r'), std::string::npos);
  EXPECT_EQ(v.find('\0'), std::string::npos);
  EXPECT_NE(v.find("smtp.mailfrom=\"evil@example.comX-Injected: yes\""), std::string::npos) << v;
  EXPECT_NE(v.find("(ok\\)X-Comment: \\(x)"), std::string::npos) << v;
  EXPECT_NE(v.find("reason=\"rbody\""), std::string::npos) << v;
  EXPECT_NE(v.find("header.i=nulX"), std::string::npos) << v;
  EXPECT_EQ(authserv_id_of(v), "mx.example.net");
}

TEST(AuthResultsFormat, EightBit) {
  const std::string good =
      "Gr\xc3\xbc\xc3\x9f"
      "e \xe2\x82\xac \xf0\x9f\x93\xa7";  // Grüße € 📧
  std::string v = format_authentication_results("mx", {mr("spf", "pass", {}, good)});
  EXPECT_EQ(v, "mx;\n\tspf=pass (" + good + ")");
  struct Case {
    std::string in, out;
  } bad[] = {
      {"\xff\xfe", "??"},
      {"\xc0\xaf", "??"},            // overlong '/'
      {"\xed\xa0\x80", "???"},       // UTF-16 surrogate
      {"\xf4\x90\x80\x80", "????"},  // above U+10FFFF
      {"a\xe2\x82", "a??"},          // truncated sequence
      {"\x80z", "?z"},               // lone continuation
      {"\xc2\x85x", "x"},            // C1 control NEL removed
  };
  for (const auto& c : bad) {
    v = format_authentication_results("mx", {mr("spf", "pass", {}, c.in)});
    EXPECT_EQ(v, "mx;\n\tspf=pass (" + c.out + ")") << c.in;
    v = format_authentication_results("mx", {mr("spf", "pass", {{"smtp.helo", c.in}})});
    EXPECT_EQ(v, "mx;\n\tspf=pass smtp.helo=" + (c.out == "x" ? c.out : "\"" + c.out + "\""))
        << c.in;
  }
}

TEST(AuthResultsFormat, ValueReasonCommentCapsAtLimitAndOnePast) {
  const std::string at(kMaxValueLength, 'a');
  std::string v = format_authentication_results("mx", {mr("spf", "pass", {{"smtp.helo", at}})});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\tsmtp.helo=" + at);
  v = format_authentication_results("mx", {mr("spf", "pass", {{"smtp.helo", at + "a"}})});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\tsmtp.helo=" + at.substr(3) + "...");

  const std::string reason(kMaxReasonLength, 'r');
  v = format_authentication_results("mx", {mr("spf", "pass", {}, {}, reason)});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\treason=\"" + reason + "\"");
  v = format_authentication_results("mx", {mr("spf", "pass", {}, {}, reason + "r")});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\treason=\"" + reason.substr(3) + "...\"");

  const std::string comment(kMaxCommentLength, 'c');
  v = format_authentication_results("mx", {mr("spf", "pass", {}, comment)});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\t(" + comment + ")");
  v = format_authentication_results("mx", {mr("spf", "pass", {}, comment + "c")});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\t(" + comment.substr(3) + "...)");

  // The cut never splits a UTF-8 character: "€" would straddle byte kMaxValueLength - 3.
  const std::string euro = std::string(kMaxValueLength - 4, 'a') + "\xe2\x82\xac" + "bb";
  v = format_authentication_results("mx", {mr("spf", "pass", {{"smtp.helo", euro}})});
  EXPECT_EQ(v, "mx;\n\tspf=pass\n\tsmtp.helo=" + std::string(kMaxValueLength - 4, 'a') + "...");
}

TEST(AuthResultsFormat, HugeInputs) {
  std::string words;
  while (words.size() < 100 * 1024) words += "word(s) ";
  std::string solid(100 * 1024, 'Z');
  std::string quotes(100 * 1024, '"');
  const std::string max_name =
      std::string(kMaxKeywordLength, 'p') + "." + std::string(kMaxKeywordLength, 'q');
  const std::vector<MethodResult> results = {
      mr("spf", "pass", {{"smtp.mailfrom", solid}, {max_name, quotes}}, words, quotes),
      mr("dkim", "fail", {{"header.b", words}}, solid, words),
      mr("dmarc", "none", {}, std::string(100 * 1024, '(')),
      mr("x-many", "pass", Props(2000, {"header.d", "example.org"})),
  };
  const std::string v = format_authentication_results("mx.example.net", results);
  expect_well_formed(v);
  EXPECT_LT(v.size(), 60'000u);  // 2000 short properties dominate; the caps did their job
  EXPECT_EQ(authserv_id_of(v), "mx.example.net");
}

}  // namespace
}  // namespace authmilter::mail

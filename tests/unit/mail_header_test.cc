// Tests for the header.h helpers: unfold(), is_token_char(), quoted_string() (UTF-8:
// util_utf8_test.cc).
#include <string>

#include <gtest/gtest.h>

#include "authmilter/mail/header.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

TEST(Unfold, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"a\r\n b", "a b"},       {"a\r\n\tb", "a\tb"}, {"a\n b", "a b"},
      {"a\n\tb", "a\tb"},       {"a\r\nb", "ab"},  // not a fold: the break is dropped
      {"a\rb", "ab"},           {"a\nb", "ab"},       {"a\r b", "a b"},
      {"a\r\n \r\n b", "a  b"}, {"\r\n", ""},         {"", ""},
      {"no folds", "no folds"}, {"a\0b"s, "a\0b"s},  // unfold is about line breaks only
  };
  for (const auto& c : cases) EXPECT_EQ(unfold(c.in), c.out) << c.in;
  const std::string big(1 << 20, '\n');
  EXPECT_EQ(unfold(big), "");
}

TEST(TokenChar, Rfc2045) {
  for (char c : std::string("()<>@,;:\\\"/[]?= \t\x7f\x01")) EXPECT_FALSE(is_token_char(c)) << c;
  EXPECT_FALSE(is_token_char('\0'));
  EXPECT_FALSE(is_token_char('\x80'));
  for (char c : std::string("aZ09.-_+!#$%&'*^`{|}~")) EXPECT_TRUE(is_token_char(c)) << c;
}

TEST(QuotedString, EscapesQuoteAndBackslashOnly) {
  EXPECT_EQ(quoted_string(""), "\"\"");
  EXPECT_EQ(quoted_string("a b"), "\"a b\"");
  EXPECT_EQ(quoted_string("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(quoted_string("C:\\dir"), "\"C:\\\\dir\"");
  EXPECT_EQ(quoted_string("(x);=\xc3\xa4"), "\"(x);=\xc3\xa4\"");
}

}  // namespace
}  // namespace authmilter::mail

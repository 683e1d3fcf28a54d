// Tests for the header.h helpers: unfold(), utf8_sequence_length(), is_token_char().
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

TEST(Utf8SequenceLength, Table) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("a", 1), 0u);  // out of range
  EXPECT_EQ(utf8_sequence_length("\xc2\xa0", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xc2\xa0", 1), 0u);  // continuation byte
  EXPECT_EQ(utf8_sequence_length("\xc1\xbf", 0), 0u);  // overlong
  EXPECT_EQ(utf8_sequence_length("\xe0\x9f\xbf", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xe0\xa0\x80", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xed\x9f\xbf", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xed\xa0\x80", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xef\xbf\xbf", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x8f\xbf\xbf", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x90\x80\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xf4\x8f\xbf\xbf", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x90\x80", 0), 0u);  // truncated
  EXPECT_EQ(utf8_sequence_length("\xe2\x28\xa1", 0), 0u);  // bad continuation
}

TEST(TokenChar, Rfc2045) {
  for (char c : std::string("()<>@,;:\\\"/[]?= \t\x7f\x01")) EXPECT_FALSE(is_token_char(c)) << c;
  EXPECT_FALSE(is_token_char('\0'));
  EXPECT_FALSE(is_token_char('\x80'));
  for (char c : std::string("aZ09.-_+!#$%&'*^`{|}~")) EXPECT_TRUE(is_token_char(c)) << c;
}

}  // namespace
}  // namespace authmilter::mail

// Tests for util/ascii.h: only 'A'..'Z' fold; 8-bit octets and punctuation compare exactly.
#include "authmilter/util/ascii.h"

#include <string>

#include <gtest/gtest.h>

namespace authmilter::util {
namespace {

TEST(ToLowerAscii, OnlyUpperCaseLettersFold) {
  EXPECT_EQ(to_lower_ascii('A'), 'a');
  EXPECT_EQ(to_lower_ascii('Z'), 'z');
  EXPECT_EQ(to_lower_ascii('@'), '@');  // just below 'A'
  EXPECT_EQ(to_lower_ascii('['), '[');  // just above 'Z'
  EXPECT_EQ(to_lower_ascii('a'), 'a');
  EXPECT_EQ(to_lower_ascii('\xc4'), '\xc4');  // Latin-1 'Ä' is not ASCII
  static_assert(to_lower_ascii('Q') == 'q');
}

TEST(LowercaseAscii, CopyAndInPlace) {
  EXPECT_EQ(lowercase_ascii("Example.ORG-\xc3\x84"), "example.org-\xc3\x84");
  EXPECT_EQ(lowercase_ascii(""), "");
  std::string text = "MX.Example.NET";
  make_lowercase_ascii(text);
  EXPECT_EQ(text, "mx.example.net");
}

TEST(IequalsAscii, Table) {
  EXPECT_TRUE(iequals_ascii("Authentication-Results", "authentication-results"));
  EXPECT_TRUE(iequals_ascii("", ""));
  EXPECT_FALSE(iequals_ascii("from", "fro"));
  EXPECT_FALSE(iequals_ascii("fro", "from"));
  EXPECT_FALSE(iequals_ascii("a", "b"));
  // '@' and '`' differ from 'A'/'a' by the case bit only; they are not letters.
  EXPECT_FALSE(iequals_ascii("@", "`"));
  EXPECT_FALSE(iequals_ascii("[", "{"));
  EXPECT_FALSE(iequals_ascii("\xc4", "\xe4"));  // Latin-1 'Ä' / 'ä'
  EXPECT_TRUE(iequals_ascii(std::string("a\0B", 3), std::string("A\0b", 3)));
}

TEST(AffixAscii, StartsAndEnds) {
  EXPECT_TRUE(istarts_with_ascii("IPv6:2001:db8::1", "ipv6:"));
  EXPECT_TRUE(istarts_with_ascii("v=spf1", "V=SPF1"));
  EXPECT_TRUE(istarts_with_ascii("abc", ""));
  EXPECT_FALSE(istarts_with_ascii("ipv", "ipv6:"));
  EXPECT_FALSE(istarts_with_ascii("ipv4:", "ipv6:"));
  EXPECT_TRUE(iends_with_ascii("host.AUTHMILTER.invalid", ".authmilter.INVALID"));
  EXPECT_TRUE(iends_with_ascii("abc", ""));
  EXPECT_FALSE(iends_with_ascii("invalid", ".invalid"));
  EXPECT_FALSE(iends_with_ascii("x.invalic", ".invalid"));
}

}  // namespace
}  // namespace authmilter::util

// Identity pre-checks (RFC 7208 §2.3, §4.3), query names (§4.8), header text (§9.1).
#include "authmilter/spf/syntax.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace authmilter::spf {
namespace {

std::string domain_of_length(std::size_t length) {
  // Labels of 63 octets and a final "x...x.org" filling up to `length`.
  std::string out;
  while (out.size() + 64 + 5 < length) out += std::string(63, 'a') + ".";
  out += std::string(length - out.size() - 4, 'b') + ".org";
  return out;
}

TEST(CheckableDomain, AcceptsMultiLabelNames) {
  EXPECT_TRUE(is_checkable_domain("example.org"));
  EXPECT_TRUE(is_checkable_domain("example.org."));
  EXPECT_TRUE(is_checkable_domain("Mail-1.Example.ORG"));
  EXPECT_TRUE(is_checkable_domain("_spf.example.org"));
  EXPECT_TRUE(is_checkable_domain("xn--zckzah.example"));
  EXPECT_TRUE(is_checkable_domain("a.b2"));
}

TEST(CheckableDomain, RejectsWhatRfc7208CallsMalformed) {
  for (const std::string name :
       {"", ".", "localhost", "localhost.", "a..example.org", ".example.org", "example..",
        "[192.0.2.1]", "192.0.2.1", "1.2.3.4.", "exa mple.org", "exa\xC3\xA9mple.org",
        "example.org\n", "user@example.org", "example.org:25"}) {
    EXPECT_FALSE(is_checkable_domain(name)) << name;
  }
  EXPECT_FALSE(is_checkable_domain(std::string("exam\0ple.org", 12)));
}

TEST(CheckableDomain, LabelAndNameLengthLimits) {
  EXPECT_TRUE(is_checkable_domain(std::string(util::kMaxLabelLength, 'a') + ".example.org"));
  EXPECT_FALSE(is_checkable_domain(std::string(util::kMaxLabelLength + 1, 'a') + ".example.org"));
  ASSERT_EQ(domain_of_length(util::kMaxDomainNameLength).size(), util::kMaxDomainNameLength);
  EXPECT_TRUE(is_checkable_domain(domain_of_length(util::kMaxDomainNameLength)));
  EXPECT_TRUE(is_checkable_domain(domain_of_length(util::kMaxDomainNameLength) + "."));
  EXPECT_FALSE(is_checkable_domain(domain_of_length(util::kMaxDomainNameLength + 1)));
}

TEST(QueryName, TruncatesFromTheLeftAt253Octets) {
  EXPECT_EQ(query_name("example.org."), "example.org");
  const std::string at_limit = domain_of_length(util::kMaxDomainNameLength);
  EXPECT_EQ(query_name(at_limit), at_limit);
  const std::string over = "x." + at_limit;  // 255 octets
  EXPECT_EQ(query_name(over), at_limit);
  const std::string one_label_over = std::string(10, 'y') + "." + at_limit;
  EXPECT_EQ(query_name(one_label_over), at_limit);
}

TEST(QueryName, NoQueryForImpossibleNames) {
  EXPECT_EQ(query_name(""), std::nullopt);
  EXPECT_EQ(query_name("."), std::nullopt);
  EXPECT_EQ(query_name("a..b.org"), std::nullopt);
  EXPECT_EQ(query_name(".b.org"), std::nullopt);
  EXPECT_EQ(query_name(std::string(util::kMaxLabelLength + 1, 'x') + ".org"), std::nullopt);
  EXPECT_EQ(query_name(std::string(util::kMaxLabelLength, 'x') + ".org"),
            std::string(util::kMaxLabelLength, 'x') + ".org");
  EXPECT_EQ(query_name(std::string(300, 'z')), std::nullopt);  // one label, cannot shrink
}

TEST(SanitizeText, DropsControlsAndRepairsUtf8) {
  EXPECT_EQ(sanitize_text("a\r\nb\tc\x7f", 100), "abc");
  EXPECT_EQ(sanitize_text(std::string("a\0b", 3), 100), "ab");
  EXPECT_EQ(sanitize_text("caf\xC3\xA9", 100), "caf\xC3\xA9");
  EXPECT_EQ(sanitize_text("bad\xFF\xC3", 100), "bad??");
  EXPECT_EQ(sanitize_text("\xED\xA0\x80", 100), "???");  // a UTF-16 surrogate
  EXPECT_EQ(sanitize_text("\xC0\xAF", 100), "??");       // overlong '/'
}

TEST(SanitizeText, CutsAtTheLimitOnACharacterBoundary) {
  EXPECT_EQ(sanitize_text("abcdef", 4), "abcd");
  EXPECT_EQ(sanitize_text("abc\xC3\xA9", 4), "abc");
  EXPECT_EQ(sanitize_text("abc\xC3\xA9", 5), "abc\xC3\xA9");
  EXPECT_EQ(sanitize_text("", 0), "");
}

TEST(HeaderValue, DotAtomOrQuotedString) {
  EXPECT_TRUE(is_dot_atom("mail.example.org"));
  EXPECT_TRUE(is_dot_atom("192.0.2.1"));
  EXPECT_FALSE(is_dot_atom("2001:db8::1"));
  EXPECT_FALSE(is_dot_atom("a@b"));
  EXPECT_FALSE(is_dot_atom(".a"));
  EXPECT_FALSE(is_dot_atom("a..b"));
  EXPECT_FALSE(is_dot_atom(""));
  EXPECT_EQ(header_value("mail.example.org"), "mail.example.org");
  EXPECT_EQ(header_value("2001:db8::1"), "\"2001:db8::1\"");
  EXPECT_EQ(header_value("user@example.org"), "\"user@example.org\"");
  EXPECT_EQ(header_value("we\"ird\\one"), "\"we\\\"ird\\\\one\"");
  EXPECT_EQ(header_value("a\r\nb"), "ab");
  EXPECT_EQ(header_value(""), "\"\"");
}

TEST(HeaderValue, LengthLimit) {
  const std::string at_limit(kMaxHeaderValueLength, 'a');
  EXPECT_EQ(header_value(at_limit), at_limit);
  EXPECT_EQ(header_value(at_limit + "b"), at_limit);
}

TEST(CommentText, EscapesParenthesesAndBackslash) {
  EXPECT_EQ(comment_text("a (b) c\\d"), "a \\(b\\) c\\\\d");
  EXPECT_EQ(comment_text("line\r\nbreak"), "linebreak");
}

TEST(RecordTerms, SplitOnRunsOfSpaces) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(record_terms("v=spf1 a mx -all"), (V{"v=spf1", "a", "mx", "-all"}));
  EXPECT_EQ(record_terms("  v=spf1   ip4:192.0.2.1  "), (V{"v=spf1", "ip4:192.0.2.1"}));
  EXPECT_EQ(record_terms("v=spf1"), (V{"v=spf1"}));
  EXPECT_EQ(record_terms(""), V{});
  EXPECT_EQ(record_terms("   "), V{});
}

}  // namespace
}  // namespace authmilter::spf

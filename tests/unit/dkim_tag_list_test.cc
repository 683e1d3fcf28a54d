#include "authmilter/dkim/tag_list.h"

#include <gtest/gtest.h>

namespace authmilter::dkim {
namespace {

TEST(DkimTagList, ReadsTagsAndRemovesWhitespaceFromValues) {
  auto list =
      parse_tag_list(" v=1; a=rsa-sha256;\r\n\td=example.org; h=from : to;\r\n b=ab\r\n cd ;");
  EXPECT_TRUE(list.error.empty()) << list.error;
  ASSERT_EQ(list.tags.size(), 5u);
  EXPECT_EQ(*list.find("v"), "1");
  EXPECT_EQ(*list.find("h"), "from:to");
  EXPECT_EQ(*list.find("b"), "abcd");
  EXPECT_EQ(list.find("x"), nullptr);
  EXPECT_EQ(list.find("D"), nullptr);  // tag names are case-sensitive
}

TEST(DkimTagList, EmptyValuesAndEmptySpecsAreFine) {
  auto list = parse_tag_list("p=; ;; t = y ;");
  EXPECT_TRUE(list.error.empty()) << list.error;
  ASSERT_EQ(list.tags.size(), 2u);
  EXPECT_EQ(*list.find("p"), "");
  EXPECT_EQ(*list.find("t"), "y");
  EXPECT_TRUE(parse_tag_list("").tags.empty());
  EXPECT_TRUE(parse_tag_list("").error.empty());
}

TEST(DkimTagList, DuplicateTagMakesTheListInvalidButKeepsTheFirst) {
  auto list = parse_tag_list("d=example.org; s=a; d=evil.example");
  EXPECT_EQ(list.error, "duplicate tag d=");
  EXPECT_EQ(*list.find("d"), "example.org");
  EXPECT_EQ(*list.find("s"), "a");
}

TEST(DkimTagList, SpecWithoutEqualsOrNameIsAnError) {
  EXPECT_EQ(parse_tag_list("v=1; garbage; d=x").error, "tag without '='");
  EXPECT_EQ(*parse_tag_list("v=1; garbage; d=x").find("d"), "x");
  EXPECT_EQ(parse_tag_list("=value").error, "empty tag name");
}

TEST(DkimTagList, HostileBytesDoNotHurt) {
  std::string text("a=\0\xff\x80; b=\x01", 11);
  auto list = parse_tag_list(text);
  ASSERT_EQ(list.tags.size(), 2u);
  EXPECT_EQ(list.find("a")->size(), 3u);
  std::string many;
  for (int i = 0; i < 10000; ++i) many += "t" + std::to_string(i) + "=v;";
  EXPECT_EQ(parse_tag_list(many).tags.size(), 10000u);
}

}  // namespace
}  // namespace authmilter::dkim

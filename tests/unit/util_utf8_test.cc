// Tests for util/utf8.h: RFC 3629 §4 well-formedness at the edges of every lead-byte range.
#include "authmilter/util/utf8.h"

#include <string>

#include <gtest/gtest.h>

namespace authmilter::util {
namespace {

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

TEST(Utf8TextLength, AsciiAndC1ControlsAreNotText) {
  EXPECT_EQ(utf8_text_length("a", 0), 0u);  // ASCII is not counted here
  EXPECT_EQ(utf8_text_length("", 0), 0u);
  EXPECT_EQ(utf8_text_length("\xc2\x80", 0), 0u);  // U+0080, first C1 control
  EXPECT_EQ(utf8_text_length("\xc2\x9f", 0), 0u);  // U+009F, last C1 control
  EXPECT_EQ(utf8_text_length("\xc2\xa0", 0), 2u);  // U+00A0, first after them
  EXPECT_EQ(utf8_text_length("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(utf8_text_length("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_text_length("\xff", 0), 0u);
}

}  // namespace
}  // namespace authmilter::util

// log::Line: the per-message summary as key=value text and as one JSON object (LogFormat).
#include "authmilter/log/log.h"

#include <gtest/gtest.h>

#include <string>

#include "json_reader.h"

namespace authmilter::log {
namespace {

Line sample() {
  Line line;
  append_field(line, "queue", "4ABC");
  append_field(line, "from", "<a b@example.org>");
  append_number(line, "rcpts", 2);
  append_field(line, "why", "quote \" back\\slash\r\nnext");
  append_number(line, "ms", 12);
  return line;
}

TEST(LogLine, TextIsTheKeyValueForm) {
  EXPECT_EQ(sample().render(Format::kText),
            "queue=4ABC from=\"<a b@example.org>\" rcpts=2 "
            "why=\"quote \\\" back\\\\slash\\x0d\\x0anext\" ms=12");
}

TEST(LogLine, JsonKeepsOrderStringsAndNumbers) {
  const std::string json = sample().render(Format::kJson);
  EXPECT_EQ(json,
            "{\"queue\":\"4ABC\",\"from\":\"<a b@example.org>\",\"rcpts\":2,"
            "\"why\":\"quote \\\" back\\\\slash\\u000d\\u000anext\",\"ms\":12}");
  const test_support::JsonValue value = test_support::parse_json(json);
  ASSERT_EQ(value.object.size(), 5u);
  EXPECT_EQ(value.object[0].first, "queue");
  EXPECT_EQ(value["rcpts"].type, test_support::JsonValue::Type::kNumber);
  EXPECT_EQ(value["rcpts"].string, "2");
  EXPECT_EQ(value["why"].string, "quote \" back\\slash\r\nnext");
}

TEST(LogLine, JsonKeepsUtf8AndEscapesOtherBytes) {
  Line line;
  append_field(line, "helo", "b\xc3\xa4r");     // UTF-8 ä: kept
  append_field(line, "pra", "x\xff\xc3y\x7f");  // not UTF-8, a cut sequence, DEL
  const std::string json = line.render(Format::kJson);
  EXPECT_EQ(json, "{\"helo\":\"b\xc3\xa4r\",\"pra\":\"x\\u00ff\\u00c3y\\u007f\"}");
  EXPECT_EQ(test_support::parse_json(json)["pra"].string, "x\xc3\xbf\xc3\x83y\x7f");
}

TEST(LogLine, EmptyLineIsAnEmptyObject) {
  EXPECT_EQ(Line().render(Format::kJson), "{}");
  EXPECT_EQ(Line().render(Format::kText), "");
}

}  // namespace
}  // namespace authmilter::log

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "authmilter/cli/cli.h"

namespace authmilter::cli {
namespace {

TEST(ParseMessageTest, SplitsHeadersAndBodyWithCrlf) {
  const ParsedMessage m =
      parse_message("From: a@b.example\r\nSubject: hi\r\n there\r\n\r\nbody line\r\n");
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.headers[0].name, "From");
  EXPECT_EQ(m.headers[0].raw_value, " a@b.example");
  EXPECT_EQ(m.headers[1].raw_value, " hi\r\n there");  // folding kept as an MTA passes it
  EXPECT_EQ(m.body, "body line\r\n");
}

TEST(ParseMessageTest, AcceptsLfAndNoBody) {
  const ParsedMessage m = parse_message("To: x@y\nX-A:no-space\n");
  ASSERT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.headers[1].raw_value, "no-space");
  EXPECT_TRUE(m.body.empty());
}

TEST(ParseMessageTest, NonHeaderLineStartsTheBody) {
  const ParsedMessage m = parse_message("To: x@y\nthis is not a header\nmore\n");
  ASSERT_EQ(m.headers.size(), 1u);
  EXPECT_EQ(m.body, "this is not a header\nmore\n");
}

TEST(ParseMessageTest, HostileInputDoesNotCrash) {
  EXPECT_TRUE(parse_message("").headers.empty());
  EXPECT_TRUE(parse_message(":\n").headers.empty());
  std::string nul("A: b\0c\n\n", 8);
  EXPECT_EQ(parse_message(nul).headers.size(), 1u);
  EXPECT_EQ(parse_message(std::string(100000, ' ')).headers.size(), 0u);
}

TEST(CliTest, VersionAndHelp) {
  std::ostringstream out, err;
  EXPECT_EQ(main_with_args({"--version"}, out, err), 0);
  EXPECT_EQ(out.str().rfind("authmilter ", 0), 0u);
  out.str("");
  EXPECT_EQ(main_with_args({"--help"}, out, err), 0);
  EXPECT_NE(out.str().find("check"), std::string::npos);
}

TEST(CliTest, BadArgumentIsUsageError) {
  std::ostringstream out, err;
  EXPECT_EQ(main_with_args({"--bogus"}, out, err), kExitUsage);
  EXPECT_EQ(run_check({"--client-ip"}, out, err), kExitUsage);
  EXPECT_EQ(run_check({"--client-ip", "not-an-ip", "m.eml"}, out, err), kExitUsage);
  EXPECT_EQ(run_check({}, out, err), kExitUsage);
}

TEST(CliTest, CheckConfigReportsFileAndLine) {
  const std::string path = ::testing::TempDir() + "authmilter_cli_test.conf";
  {
    std::ofstream f(path);
    f << "# comment\nSocket inet:8893@127.0.0.1\nNoSuchKey yes\n";
  }
  std::ostringstream out, err;
  EXPECT_EQ(main_with_args({"--check-config", "-c", path}, out, err), kExitConfig);
  EXPECT_NE(err.str().find(path + ":3"), std::string::npos) << err.str();
  {
    std::ofstream f(path);
    f << "Socket inet:8893@127.0.0.1\nAuthservID mx.example.net\n";
  }
  err.str("");
  EXPECT_EQ(main_with_args({"--check-config", "-c", path}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("mx.example.net"), std::string::npos);
  std::remove(path.c_str());
}

TEST(CliTest, SampleConfigChecksOk) {
  std::ostringstream out, err;
  EXPECT_EQ(main_with_args({"--check-config", "-c", AUTHMILTER_SOURCE_DIR "/conf/authmilter.conf"},
                           out, err),
            0)
      << err.str();
}

}  // namespace
}  // namespace authmilter::cli

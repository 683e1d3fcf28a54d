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

// --zone: DNS from a zone file (no network), and --json carrying DMARC and own-domain results.
TEST(CliTest, CheckWithZoneFileJudgesOfflineAndPrintsEveryResult) {
  const std::string dir = ::testing::TempDir();
  const std::string conf = dir + "authmilter_cli_zone.conf";
  const std::string zone = dir + "authmilter_cli_zone.zone";
  const std::string eml = dir + "authmilter_cli_zone.eml";
  std::ofstream(conf) << "AuthservID mx.cli.example\nOwnDomains ourcorp.example\n";
  std::ofstream(zone) << "bank.example TXT \"v=spf1 ip4:203.0.113.0/24 -all\"\n"
                         "_dmarc.bank.example TXT \"v=DMARC1; p=reject\"\n";
  std::ofstream(eml) << "From: service@bank.example\r\nSubject: x\r\n\r\nbody\r\n";
  std::ostringstream out, err;
  ASSERT_EQ(run_check({"-c", conf, "--zone", zone, "--json", "--client-ip", "192.0.2.66", "--helo",
                       "evil.example", "--mail-from", "x@bank.example", eml},
                      out, err),
            0)
      << err.str();
  const std::string json = out.str();
  EXPECT_NE(json.find("\"dmarc\": {\n    \"result\": \"fail\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"disposition\": \"reject\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"own_domain\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"action\": \"reject\""), std::string::npos) << json;
  EXPECT_NE(json.find("mx.cli.example;"), std::string::npos) << json;

  // A zone file that cannot be read or parsed is a runtime error naming it.
  err.str("");
  EXPECT_EQ(run_check({"-c", conf, "--zone", dir + "no-such.zone", "--client-ip", "192.0.2.66",
                       "--mail-from", "x@bank.example", eml},
                      out, err),
            1);
  EXPECT_NE(err.str().find("no-such.zone"), std::string::npos) << err.str();
  std::ofstream(zone) << "bank.example NOSUCHTYPE x\n";
  err.str("");
  EXPECT_EQ(run_check({"-c", conf, "--zone", zone, "--client-ip", "192.0.2.66", "--mail-from",
                       "x@bank.example", eml},
                      out, err),
            1);
  EXPECT_NE(err.str().find("line 1"), std::string::npos) << err.str();
  for (const std::string& path : {conf, zone, eml}) std::remove(path.c_str());
}

}  // namespace
}  // namespace authmilter::cli

// The parameter table against what admins read: the sample conf/authmilter.conf, the man page
// docs/authmilter.conf.5 and --print-defaults. A key added to the table without its sample
// line and man page entry fails here (Postfix's check-postconf-undocumented).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "authmilter/config/config.h"

namespace authmilter::config {
namespace {

using testing::HasSubstr;

const std::string kSample = std::string(AUTHMILTER_SOURCE_DIR) + "/conf/authmilter.conf";
const std::string kManPage = std::string(AUTHMILTER_SOURCE_DIR) + "/docs/authmilter.conf.5";

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string first_word(const std::string& line) {
  const auto end = line.find_first_of(" \t");
  return line.substr(0, end);
}

bool known(const std::string& name) {
  for (const Parameter& p : parameters()) {
    if (p.name == name) return true;
  }
  return false;
}

TEST(ConfigTableTest, NamesAreUniqueWordsWithDocs) {
  std::set<std::string> seen;
  for (const Parameter& p : parameters()) {
    std::string lower(p.name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_TRUE(seen.insert(lower).second) << p.name;
    EXPECT_FALSE(p.name.empty());
    for (char c : p.name) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << p.name;
    EXPECT_FALSE(p.type.empty()) << p.name;
    EXPECT_FALSE(p.doc.empty()) << p.name;
  }
  // The keys config.h promises, in its order.
  std::vector<std::string> names;
  for (const Parameter& p : parameters()) names.emplace_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Socket",          "AuthservID",
                                             "UserID",          "UMask",
                                             "PidFile",         "Syslog",
                                             "LogLevel",        "LogFormat",
                                             "MetricsListen",   "DNSServers",
                                             "DNSTimeout",      "MessageTimeout",
                                             "CacheSize",       "CacheMaxTTL",
                                             "WorkerThreads",   "InternalHosts",
                                             "TrustedRelays",   "TrustedAuthservIDs",
                                             "OwnDomains",      "OwnDomainSenders",
                                             "OwnDomainSpoof",  "BATVKeyFile",
                                             "BATVFail",        "IPRev",
                                             "IPRevFail",       "SPFHelo",
                                             "SPFFail",         "SPFSoftFail",
                                             "SenderID",        "PRAFail",
                                             "MaxSignatures",   "DKIMAllowSHA1",
                                             "DKIMMinKeyBits",  "DMARCReject",
                                             "DMARCQuarantine", "DMARCMultipleFrom",
                                             "DMARCDiscovery",  "PublicSuffixList",
                                             "IgnoreDMARCFor",  "ARCTrustedSealers",
                                             "ARCSign",         "ARCSealDomain",
                                             "ARCSelector",     "ARCKeyFile",
                                             "TempError",       "OnInternalError",
                                             "MarkHeader",      "AddReceivedSPF",
                                             "MaxHeaderBytes",  "ReportStore",
                                             "ReportOrgName",   "ReportEmail",
                                             "ReportSMTP",      "ReportRetention"}));
}

TEST(ConfigTableTest, PrintDefaultsParsesBackToDefaults) {
  const std::string text = print_defaults();
  EXPECT_EQ(parse(text, "print-defaults"), Config::defaults());
  for (const Parameter& p : parameters()) {
    EXPECT_THAT(text, HasSubstr("\n" + std::string(p.default_value.empty() ? "#" : "") +
                                std::string(p.name)))
        << p.name;
    EXPECT_THAT(text, HasSubstr(std::string(p.doc))) << p.name;
  }
  // Every default is really set by a line, except the ones that are unset by default.
  std::size_t set_lines = 0;
  for (const std::string& line : lines_of(text)) {
    if (!line.empty() && line[0] != '#') ++set_lines;
  }
  std::size_t with_default = 0;
  for (const Parameter& p : parameters()) with_default += p.default_value.empty() ? 0 : 1;
  EXPECT_EQ(set_lines, with_default);
}

TEST(ConfigTableTest, EachDefaultValueAloneGivesTheDefault) {
  for (const Parameter& p : parameters()) {
    if (p.default_value.empty()) continue;
    EXPECT_EQ(parse(std::string(p.name) + " " + std::string(p.default_value), "d"),
              Config::defaults())
        << p.name;
  }
}

TEST(ConfigSampleTest, ParsesAndRunsWithoutSetup) {
  const Config c = load(kSample);
  // Runs from the source tree as root on a fresh machine: a loopback TCP socket, no user
  // switch, no pid file in a directory that may not exist.
  EXPECT_EQ(c.socket, "inet:8895@127.0.0.1");
  EXPECT_TRUE(c.user_id.empty());
  EXPECT_TRUE(c.pid_file.empty());
  EXPECT_TRUE(c.dns_servers.empty());
}

TEST(ConfigSampleTest, EveryKeyAppearsAndEveryKeyLineIsKnown) {
  // Layout: "##" lines explain; "# Key value" is a commented-out setting; "Key value" is set.
  std::set<std::string> mentioned;
  for (const std::string& raw : lines_of(read(kSample))) {
    std::string line = raw;
    if (line.empty() || line.rfind("##", 0) == 0) continue;
    const bool commented = line.rfind("# ", 0) == 0;
    if (commented) line = line.substr(2);
    const std::string key = first_word(line);
    EXPECT_TRUE(known(key)) << "not a parameter: " << raw;
    EXPECT_TRUE(mentioned.insert(key).second) << "twice: " << raw;
    // Commented examples must be valid too, so uncommenting one never breaks the file.
    if (commented) {
      EXPECT_NO_THROW(parse(line + "\n", "sample")) << raw;
    }
  }
  for (const Parameter& p : parameters()) {
    EXPECT_TRUE(mentioned.count(std::string(p.name))) << p.name << " missing from the sample";
  }
}

TEST(ConfigSampleTest, CommentedDefaultsMatchTheTable) {
  for (const std::string& raw : lines_of(read(kSample))) {
    if (raw.rfind("# ", 0) != 0) continue;
    const std::string line = raw.substr(2);
    const std::string key = first_word(line);
    for (const Parameter& p : parameters()) {
      if (p.name != key || p.default_value.empty()) continue;
      const auto value_start = line.find_first_not_of(" \t", key.size());
      EXPECT_EQ(line.substr(value_start), p.default_value) << raw;
    }
  }
}

// The text of a man page entry: from ".TP\n.B Name\n" to the next .TP or .SH.
std::string man_entry(const std::string& page, std::string_view name) {
  const std::string start = ".TP\n.B " + std::string(name) + "\n";
  const auto begin = page.find(start);
  if (begin == std::string::npos) return {};
  auto end = page.find("\n.TP\n", begin + start.size());
  end = std::min(end, page.find("\n.SH", begin + start.size()));
  return page.substr(begin, end - begin);
}

TEST(ConfigManPageTest, EveryKeyHasAnEntryWithTypeAndDefault) {
  const std::string page = read(kManPage);
  ASSERT_FALSE(page.empty()) << kManPage;
  for (const Parameter& p : parameters()) {
    const std::string entry = man_entry(page, p.name);
    ASSERT_FALSE(entry.empty()) << p.name << " has no .TP entry in " << kManPage;
    EXPECT_THAT(entry, HasSubstr(".RI ( " + std::string(p.type) + " ;")) << p.name;
    if (p.default_value.empty()) {
      EXPECT_THAT(entry, HasSubstr("default: unset")) << p.name;
    } else {
      const bool quoted = p.default_value.find(' ') != std::string_view::npos;
      const std::string value =
          quoted ? "\"" + std::string(p.default_value) + "\"" : std::string(p.default_value);
      EXPECT_THAT(entry, HasSubstr(".BR " + value + " )")) << p.name;
    }
  }
}

TEST(ConfigManPageTest, Structure) {
  const std::string page = read(kManPage);
  for (const char* part :
       {".TH AUTHMILTER.CONF 5", ".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH PARAMETERS",
        ".SH EXAMPLES", ".SH FILES", ".SH SEE ALSO", ".BR authmilter (8)"}) {
    EXPECT_THAT(page, HasSubstr(part));
  }
}

TEST(ConfigManPageTest, ExampleParses) {
  const std::string page = read(kManPage);
  const auto examples = page.find(".SH EXAMPLES");
  ASSERT_NE(examples, std::string::npos);
  const auto nf = page.find(".nf\n", examples);
  const auto fi = page.find(".fi\n", nf);
  ASSERT_NE(nf, std::string::npos);
  ASSERT_NE(fi, std::string::npos);
  const std::string example = page.substr(nf + 4, fi - nf - 4);
  const Config c = parse(example, "man page example");
  EXPECT_EQ(c.socket, "unix:/var/spool/postfix/authmilter/authmilter.sock");
  EXPECT_EQ(c.spf_fail, Action::kReject);
  EXPECT_EQ(c.temp_error, Action::kTempfail);
}

}  // namespace
}  // namespace authmilter::config

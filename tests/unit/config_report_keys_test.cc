// The DMARC report keys (issue 14): ReportStore, ReportOrgName, ReportEmail, ReportSMTP,
// ReportRetention, each at its limits and one past.
#include <gtest/gtest.h>

#include "authmilter/config/config.h"

namespace authmilter::config {
namespace {

Config parse_line(const std::string& line) { return parse(line + "\n", "test.conf"); }

TEST(ConfigReportKeys, Defaults) {
  const Config c = Config::defaults();
  EXPECT_EQ(c.report_store, "none");
  EXPECT_TRUE(c.report_org_name.empty());
  EXPECT_TRUE(c.report_email.empty());
  EXPECT_TRUE(c.report_smtp.empty());
  EXPECT_EQ(c.report_retention, 31u * 86400u);
}

TEST(ConfigReportKeys, ReportStore) {
  EXPECT_EQ(parse_line("ReportStore sqlite:/var/lib/authmilter/reports.db").report_store,
            "sqlite:/var/lib/authmilter/reports.db");
  EXPECT_EQ(parse_line("ReportStore postgresql://milter@db.example/reports").report_store,
            "postgresql://milter@db.example/reports");
  EXPECT_EQ(parse_line("ReportStore NONE").report_store, "none");
  EXPECT_THROW(parse_line("ReportStore sqlite:reports.db"), ConfigError);
  EXPECT_THROW(parse_line("ReportStore mysql://db/reports"), ConfigError);
  EXPECT_THROW(parse_line("ReportStore postgresql://"), ConfigError);
  EXPECT_THROW(parse_line("ReportStore postgresql://a b/c"), ConfigError);
}

TEST(ConfigReportKeys, ReportRetentionBounds) {
  EXPECT_EQ(parse_line("ReportRetention 1d").report_retention, kMinReportRetention);
  EXPECT_THROW(parse_line("ReportRetention 86399"), ConfigError);
  EXPECT_EQ(parse_line("ReportRetention 3650d").report_retention, kMaxReportRetention);
  EXPECT_THROW(parse_line("ReportRetention 3651d"), ConfigError);
}

TEST(ConfigReportKeys, ReportEmailAndOrgName) {
  EXPECT_EQ(parse_line("ReportEmail dmarc-reports@example.net").report_email,
            "dmarc-reports@example.net");
  EXPECT_THROW(parse_line("ReportEmail not-an-address"), ConfigError);
  EXPECT_THROW(parse_line("ReportEmail a b@example.net"), ConfigError);
  EXPECT_THROW(parse_line("ReportEmail <a@example.net>"), ConfigError);
  EXPECT_EQ(parse_line("ReportOrgName Example Mail Ltd").report_org_name, "Example Mail Ltd");
  EXPECT_NO_THROW(parse_line("ReportOrgName " + std::string(kMaxReportFieldLength, 'x')));
  EXPECT_THROW(parse_line("ReportOrgName " + std::string(kMaxReportFieldLength + 1, 'x')),
               ConfigError);
}

TEST(ConfigReportKeys, ReportSmtp) {
  EXPECT_EQ(parse_line("ReportSMTP 127.0.0.1:25").report_smtp, "127.0.0.1:25");
  EXPECT_EQ(parse_line("ReportSMTP smtp.example.net:587").report_smtp, "smtp.example.net:587");
  EXPECT_EQ(parse_line("ReportSMTP [::1]:25").report_smtp, "[::1]:25");
  EXPECT_THROW(parse_line("ReportSMTP 127.0.0.1"), ConfigError);
  EXPECT_THROW(parse_line("ReportSMTP 127.0.0.1:0"), ConfigError);
  EXPECT_THROW(parse_line("ReportSMTP 127.0.0.1:65536"), ConfigError);
  EXPECT_THROW(parse_line("ReportSMTP ::1:25"), ConfigError);
}

}  // namespace
}  // namespace authmilter::config

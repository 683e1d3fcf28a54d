// `authmilter report` without mail: the period, the file it writes, a stable report_id across
// runs, usage and configuration errors.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "authmilter/cli/cli.h"
#include "authmilter/report/store.h"

namespace authmilter::cli {
namespace {

namespace fs = std::filesystem;

class CliReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = fs::temp_directory_path().string() + "/cli-report-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directory(dir_ / "out");
    std::ofstream(dir_ / "a.conf")
        << "AuthservID mx.example.net\nReportStore sqlite:" << (dir_ / "reports.db").string()
        << "\nReportEmail dmarc@receiver.example\n"
        << "ReportRetention 31d\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.begin(), {"report", "-c", (dir_ / "a.conf").string()});
    return main_with_args(args, out_, err_);
  }

  void insert(std::int64_t time) {
    report::Record r;
    r.time = time;
    r.source_ip = "192.0.2.1";
    r.header_from = r.policy_domain = r.envelope_from = "example.org";
    r.p = "reject";
    r.adkim = r.aspf = "r";
    r.disposition = "reject";
    r.dmarc_dkim = r.dmarc_spf = "fail";
    auto store = report::open_store({report::StoreKind::kSqlite, (dir_ / "reports.db").string()});
    store->insert(std::vector<report::Record>{r});
  }

  fs::path dir_;
  std::ostringstream out_, err_;
};

// Midnight UTC ten days ago: a day that is over, well within ReportRetention.
const std::int64_t kDay = [] {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return (now / 86400 - 10) * 86400;
}();

std::string iso_day(std::int64_t t) {
  const time_t seconds = static_cast<time_t>(t);
  tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[16];
  strftime(buffer, sizeof buffer, "%Y-%m-%d", &parts);
  return buffer;
}

TEST_F(CliReportTest, WritesOneFilePerDomainWithAStableReportId) {
  insert(kDay + 10);
  insert(kDay + 86399);
  insert(kDay + 86400);  // the next day: not in this report
  ASSERT_EQ(run({"--from", iso_day(kDay), "--to", iso_day(kDay + 86400) + "T00:00:00Z", "--out",
                 (dir_ / "out").string()}),
            0)
      << err_.str();
  const std::string first = out_.str();
  EXPECT_NE(first.find("report=example.org"), std::string::npos) << first;
  EXPECT_NE(first.find("messages=2 rows=1"), std::string::npos) << first;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_ / "out")) names.push_back(e.path().filename());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].rfind("receiver.example!example.org!" + std::to_string(kDay) + "!" +
                               std::to_string(kDay + 86399) + "!",
                           0),
            0u)
      << names[0];
  // Again: the same report_id, the same file name.
  ASSERT_EQ(run({"--from", iso_day(kDay), "--out", (dir_ / "out").string()}), 0) << err_.str();
  const auto id = [](const std::string& text) {
    const auto at = text.find("report_id=");
    return text.substr(at, text.find(' ', at) - at);
  };
  EXPECT_EQ(id(out_.str()), id(first));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "out"), fs::directory_iterator()), 1);
  EXPECT_NE(out_.str().find("purged_records=0"), std::string::npos) << out_.str();
}

TEST_F(CliReportTest, RecordsPastReportRetentionArePurged) {
  insert(kDay + 10);
  std::ofstream(dir_ / "a.conf") << "ReportStore sqlite:" << (dir_ / "reports.db").string()
                                 << "\nReportRetention 2d\n";
  ASSERT_EQ(run({"--from", iso_day(kDay), "--out", (dir_ / "out").string()}), 0) << err_.str();
  EXPECT_NE(out_.str().find("messages=1"), std::string::npos) << out_.str();  // reported first
  EXPECT_NE(out_.str().find("purged_records=1"), std::string::npos) << out_.str();
  ASSERT_EQ(run({"--from", iso_day(kDay), "--out", (dir_ / "out").string()}), 0) << err_.str();
  EXPECT_EQ(out_.str().find("report="), std::string::npos) << out_.str();
}

TEST_F(CliReportTest, UsageAndConfigurationErrors) {
  EXPECT_EQ(run({"--from", "yesterday"}), kExitUsage);
  EXPECT_EQ(run({"--from", "2026-02-30"}), kExitUsage);
  EXPECT_EQ(run({"--from", "2026-12-04", "--to", "2026-12-03"}), kExitUsage);
  EXPECT_EQ(run({"--bogus"}), kExitUsage);
  std::ofstream(dir_ / "a.conf") << "AuthservID mx.example.net\n";  // ReportStore none
  EXPECT_EQ(run({}), kExitConfig);
  EXPECT_NE(err_.str().find("ReportStore is none"), std::string::npos) << err_.str();
}

TEST_F(CliReportTest, AStoreThatCannotBeOpenedIsACleanError) {
  std::ofstream(dir_ / "a.conf") << "ReportStore sqlite:/nonexistent-dir/reports.db\n";
  EXPECT_EQ(run({"--from", iso_day(kDay), "--out", (dir_ / "out").string()}), 1);
  EXPECT_NE(err_.str().find("authmilter report: sqlite /nonexistent-dir/reports.db"),
            std::string::npos)
      << err_.str();
}

}  // namespace
}  // namespace authmilter::cli

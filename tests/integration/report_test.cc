// DMARC aggregate reports end to end (issue 14): messages through Postfix and the daemon with
// an SQLite ReportStore, then `authmilter report` writes an RFC 9990 report that validates
// against the schema with the right counts, and `--send` mails it through the test's own
// Postfix (ReportSMTP) to the rua address, after RFC 9990 §4 external verification; a second
// run sends nothing.
//
// Zone data (harness.cc, "example"): reports.example publishes p=reject with
// rua=mailto:dmarc-rua@test.example; test.example confirms with
// reports.example._report._dmarc.test.example TXT "v=DMARC1" (a destination outside the
// policy domain's organization); SPF for reports.example lists kClientIp.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "authmilter_daemon.h"
#include "harness.h"
#include "process.h"

namespace authmilter::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string iso_time(std::int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buffer[32];
  strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ReportTest : public DaemonTest {
 protected:
  // `smtp`: send through ReportSMTP (the plain smtpd); otherwise the sendmail program.
  static std::string policy(bool smtp = true) {
    Harness& h = *Harness::get();
    std::string p =
        "DMARCReject reject\n"
        "ReportStore sqlite:" +
        (h.dir() / "reports.db").string() +
        "\n"
        "ReportOrgName Integration Test Receiver\n"
        "ReportEmail dmarc-reports@mx.test.example\n";
    if (smtp) p += "ReportSMTP 127.0.0.1:" + std::to_string(h.postfix().plain_smtp_port()) + "\n";
    return p;
  }
  static void SetUpTestSuite() {
    if (Harness::get() != nullptr) start_daemon(policy());
  }
  static void TearDownTestSuite() { stop_daemon(); }

  // The report command with the daemon's settings.
  CommandResult report(const std::vector<std::string>& args, bool smtp = true) {
    const fs::path config = harness().dir() / "report.conf";
    std::ofstream(config) << harness().daemon_config(policy(smtp));
    // Without ReportSMTP: Postfix's sendmail(1), pointed at the test's Postfix.
    std::vector<std::string> argv{"/usr/bin/env",
                                  "MAIL_CONFIG=" + harness().postfix().config_dir().string(),
                                  authmilter_binary(),
                                  "report",
                                  "-c",
                                  config.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 60s);
  }
};

TEST_F(ReportTest, RecordsBecomeOneValidReportThatIsSentOnce) {
  const std::int64_t from = now_seconds() - 1;
  // 3 pass (SPF aligned), 2 fail and are rejected: all five are recorded.
  for (int i = 0; i < 3; ++i) {
    const std::string token = unique_token("report-pass");
    Envelope e = envelope("bounce@reports.example", token);
    e.data = make_message(token, "news@reports.example");
    SmtpOutcome out = send(e);
    ASSERT_TRUE(out.accepted()) << out.describe();
  }
  for (int i = 0; i < 2; ++i) {
    const std::string token = unique_token("report-fail");
    Envelope e = envelope("x@spf-none.example", token);
    e.data = make_message(token, "ceo@reports.example");
    SmtpOutcome out = send(e);
    EXPECT_EQ(out.reply.code, 550) << out.describe();
  }
  // The period must be over before it is reported.
  std::this_thread::sleep_for(1100ms);
  const std::int64_t to = now_seconds();
  const fs::path out_dir = harness().dir() / "reports-out";
  fs::create_directories(out_dir);

  // The writer thread is asynchronous: wait (bounded) until all five are in the store.
  CommandResult written;
  for (int attempt = 0; attempt < 50; ++attempt) {
    written = report({"--from", iso_time(from), "--to", iso_time(to), "--out", out_dir.string()});
    if (written.output.find("messages=5") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(written.ok()) << written.output;
  ASSERT_NE(written.output.find("report=reports.example"), std::string::npos) << written.output;
  ASSERT_NE(written.output.find("messages=5 rows=2"), std::string::npos) << written.output;

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(out_dir)) files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u);
  const std::string name = files[0].filename().string();
  const std::string prefix = "mx.test.example!reports.example!" + std::to_string(from) + "!" +
                             std::to_string(to - 1) + "!";
  EXPECT_TRUE(name.starts_with(prefix)) << name;
  EXPECT_TRUE(name.ends_with(".xml.gz")) << name;

  const fs::path xml = harness().dir() / "report.xml";
  CommandResult gunzip = run_command(
      {"/bin/sh", "-c", "gzip -dc '" + files[0].string() + "' > '" + xml.string() + "'"}, 10s);
  ASSERT_TRUE(gunzip.ok()) << gunzip.output;
  CommandResult valid =
      run_command({"/usr/bin/xmllint", "--noout", "--schema",
                   AUTHMILTER_TEST_DATA_DIR "/dmarc-rfc9990/dmarc-2.0.xsd", xml.string()},
                  30s);
  EXPECT_TRUE(valid.ok()) << valid.output;
  const std::string text = read_file(xml.string());
  EXPECT_NE(text.find("<count>3</count>"), std::string::npos) << text;
  EXPECT_NE(text.find("<count>2</count>"), std::string::npos) << text;
  EXPECT_NE(text.find("<disposition>reject</disposition>"), std::string::npos) << text;
  EXPECT_NE(text.find("<source_ip>192.0.2.10</source_ip>"), std::string::npos) << text;
  EXPECT_NE(text.find("<org_name>Integration Test Receiver</org_name>"), std::string::npos);

  CommandResult sent = report({"--from", iso_time(from), "--to", iso_time(to), "--send"});
  ASSERT_TRUE(sent.ok()) << sent.output;
  EXPECT_NE(sent.output.find("to=dmarc-rua@test.example status=sent"), std::string::npos)
      << sent.output;
  auto mail = harness().sink().wait_for("Report Domain: reports.example", kDeliveryTimeout);
  ASSERT_TRUE(mail.has_value()) << sent.output;
  EXPECT_EQ(mail->recipients, std::vector<std::string>{"dmarc-rua@test.example"});
  EXPECT_NE(mail->data.find("Content-Type: application/gzip;"), std::string::npos);
  EXPECT_NE(mail->data.find("filename=\"" + name + "\""), std::string::npos) << mail->data;

  // Again: nothing is sent twice.
  CommandResult again = report({"--from", iso_time(from), "--to", iso_time(to), "--send"});
  ASSERT_TRUE(again.ok()) << again.output;
  EXPECT_NE(again.output.find("status=already_sent"), std::string::npos) << again.output;
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(harness().sink().find("Report Domain: reports.example").size(), 1u);
}

TEST_F(ReportTest, TheSendmailProgramDeliversThroughTheLocalPostfix) {
  const std::int64_t from = now_seconds() - 1;
  const std::string token = unique_token("report-sendmail");
  Envelope e = envelope("bounce@reports.example", token);
  e.data = make_message(token, "news@reports.example");
  ASSERT_TRUE(send(e).accepted());
  std::this_thread::sleep_for(1100ms);
  const std::int64_t to = now_seconds();
  const fs::path out_dir = harness().dir() / "reports-sendmail";
  fs::create_directories(out_dir);
  CommandResult written;
  for (int attempt = 0; attempt < 50; ++attempt) {
    written =
        report({"--from", iso_time(from), "--to", iso_time(to), "--out", out_dir.string()}, false);
    if (written.output.find("messages=1 ") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_NE(written.output.find("messages=1 "), std::string::npos) << written.output;
  CommandResult sent = report({"--from", iso_time(from), "--to", iso_time(to), "--send"}, false);
  ASSERT_TRUE(sent.ok()) << sent.output;
  EXPECT_NE(sent.output.find("to=dmarc-rua@test.example status=sent"), std::string::npos)
      << sent.output;
  const std::string needle = "reports.example!" + std::to_string(from) + "!";
  auto mail = harness().sink().wait_for(needle, kDeliveryTimeout);
  ASSERT_TRUE(mail.has_value()) << sent.output;
  EXPECT_EQ(mail->mail_from, "dmarc-reports@mx.test.example");
}

TEST_F(ReportTest, APeriodThatHasNotEndedIsRefused) {
  CommandResult r =
      report({"--from", iso_time(now_seconds() - 60), "--to", iso_time(now_seconds() + 3600)});
  EXPECT_EQ(r.status.code, 2) << r.output;
  EXPECT_NE(r.output.find("future"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace authmilter::integration

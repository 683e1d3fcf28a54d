// aggregate(), to_xml(), gzip(), report_file_name(): rows and counts match the records, the
// XML validates against RFC 9990's schema (xmllint), hostile text stays well-formed, and
// delivery's mailto: parsing and mail layout.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "authmilter/report/aggregate.h"
#include "authmilter/report/delivery.h"
#include "test_data.h"

namespace authmilter::report {
namespace {

Record record(std::string ip, std::string disposition, std::string dkim_result) {
  Record r;
  r.time = 100;
  r.source_ip = std::move(ip);
  r.header_from = "example.org";
  r.envelope_from = "example.org";
  r.envelope_to = "example.net";
  r.policy_domain = "example.org";
  r.p = "reject";
  r.sp = "reject";
  r.adkim = "r";
  r.aspf = "r";
  r.discovery_method = "psl";
  r.disposition = std::move(disposition);
  r.dmarc_dkim = dkim_result == "pass" ? "pass" : "fail";
  r.dmarc_spf = "fail";
  r.dkim = {{"example.org", "s1", std::move(dkim_result)}};
  r.spf = SpfAuth{"example.org", "mfrom", "fail"};
  r.rua = {"mailto:dmarc@example.org"};
  return r;
}

// xmllint's exit status on `xml` against the RFC 9990 schema (0: valid).
int validate(const std::string& xml) {
  const std::string path = std::filesystem::temp_directory_path().string() + "/report-" +
                           std::to_string(::getpid()) + ".xml";
  std::ofstream(path, std::ios::binary) << xml;
  const std::string command = "xmllint --noout --schema '" +
                              test_support::data_path("dmarc-rfc9990/dmarc-2.0.xsd") + "' '" +
                              path + "' 2>/dev/null";
  const int status = std::system(command.c_str());
  std::filesystem::remove(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

const ReportMeta kMeta{"Example Receiver", "dmarc@receiver.example", "86400.ab12@receiver.example",
                       86400, 172800};

TEST(ReportAggregate, TheSchemaAcceptsItsOwnExample) {
  std::ifstream file(test_support::data_path("dmarc-rfc9990/example-report.xml"));
  const std::string xml((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(xml.empty());
  EXPECT_EQ(validate(xml), 0);
  // And refuses a broken report: the validation can fail.
  EXPECT_NE(validate("<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"/>"), 0);
}

TEST(ReportAggregate, RowsAndCountsMatchTheRecords) {
  const std::vector<Record> records{
      record("192.0.2.1", "reject", "fail"), record("192.0.2.1", "reject", "fail"),
      record("192.0.2.1", "pass", "pass"), record("2001:db8::5", "reject", "fail"),
      record("192.0.2.1", "reject", "fail")};
  const AggregateReport report = aggregate(records);
  EXPECT_EQ(report.messages, 5u);
  ASSERT_EQ(report.rows.size(), 3u);
  EXPECT_EQ(report.rows[0].count, 3u);
  EXPECT_EQ(report.rows[0].sample.source_ip, "192.0.2.1");
  EXPECT_EQ(report.rows[0].sample.disposition, "reject");
  EXPECT_EQ(report.rows[1].count + report.rows[2].count, 2u);
  EXPECT_EQ(report.rua, std::vector<std::string>{"mailto:dmarc@example.org"});

  const std::string xml = to_xml(report, kMeta);
  EXPECT_EQ(validate(xml), 0) << xml;
  EXPECT_NE(xml.find("<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">"), std::string::npos);
  EXPECT_NE(xml.find("<count>3</count>"), std::string::npos);
  EXPECT_NE(xml.find("<begin>86400</begin>"), std::string::npos);
  EXPECT_NE(xml.find("<end>172799</end>"), std::string::npos);
  EXPECT_NE(xml.find("<report_id>86400.ab12@receiver.example</report_id>"), std::string::npos);
  EXPECT_EQ(gunzip(gzip(xml)), xml);
}

TEST(ReportAggregate, OverridesHeloScopeAndMissingIdentifiersValidate) {
  Record r = record("192.0.2.7", "none", "fail");
  r.reasons = {{"local_policy", "DMARCReject accept"}, {"other", "sampled out by pct=50"}};
  r.spf = SpfAuth{"mx.example.org", "helo", "pass"};
  r.envelope_from.clear();
  r.envelope_to.clear();
  r.dkim.clear();
  r.np = "quarantine";
  r.testing = "y";
  const std::string xml = to_xml(aggregate(std::vector<Record>{r}), kMeta);
  EXPECT_EQ(validate(xml), 0) << xml;
  EXPECT_EQ(xml.find("<scope>"), std::string::npos);  // the schema only knows mfrom
  EXPECT_NE(xml.find("<type>local_policy</type>"), std::string::npos);
}

TEST(ReportAggregate, HostileTextStaysWellFormed) {
  Record r = record("192.0.2.7", "reject", "fail");
  r.dkim[0].selector = sanitize("<s>&\"'\xff\x01");
  r.header_from = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                  "." + std::string(61, 'd');  // 253 bytes
  r.policy_domain = r.header_from;
  const ReportMeta meta{"Org <&> \xC3\xA9", "dmarc@receiver.example", "x@y", 0, 86400};
  const std::string xml = to_xml(aggregate(std::vector<Record>{r}), meta);
  EXPECT_EQ(validate(xml), 0) << xml;
  EXPECT_NE(xml.find("&lt;s&gt;&amp;&quot;&apos;"), std::string::npos);
}

TEST(ReportAggregate, FileNameFollowsRfc9990) {
  EXPECT_EQ(report_file_name("mail.receiver.example", "example.com", 1013662812, 1013749130, ""),
            "mail.receiver.example!example.com!1013662812!1013749130.xml.gz");
  EXPECT_EQ(report_file_name("r.example", "example.com", 1, 2, "86400.ab12"),
            "r.example!example.com!1!2!86400ab12.xml.gz");
}

TEST(ReportDelivery, MailtoUris) {
  auto box = parse_mailto("mailto:DMARC@Example.ORG");
  ASSERT_TRUE(box);
  EXPECT_EQ(box->address, "DMARC@example.org");
  EXPECT_EQ(box->domain, "example.org");
  box = parse_mailto("MAILTO:rua%2Bx@example.org!10m");  // size suffix ignored
  ASSERT_TRUE(box);
  EXPECT_EQ(box->address, "rua+x@example.org");
  std::string why;
  EXPECT_FALSE(parse_mailto("https://example.org/dmarc", &why));
  EXPECT_NE(why.find("mailto"), std::string::npos);
  EXPECT_FALSE(parse_mailto("mailto:a@b.example,c@d.example"));
  EXPECT_FALSE(parse_mailto("mailto:-oQ/tmp@example.org"));  // never an option for sendmail
  EXPECT_FALSE(parse_mailto("mailto:a%0d%0aRCPT@example.org"));
  EXPECT_FALSE(parse_mailto("mailto:\"a b\"@example.org"));
  EXPECT_FALSE(parse_mailto("mailto:a@exa mple.org"));
  EXPECT_FALSE(parse_mailto("mailto:a@localhost"));
  // kMaxAddressLength: at the limit and one past.
  const std::string at_limit = std::string(kMaxAddressLength - 12, 'a') + "@example.org";
  ASSERT_EQ(at_limit.size(), kMaxAddressLength);
  EXPECT_TRUE(parse_mailto("mailto:" + at_limit));
  EXPECT_FALSE(parse_mailto("mailto:a" + at_limit));
}

TEST(ReportDelivery, MailCarriesTheGzipAsAnAttachment) {
  const MailParts parts{"Example \"Receiver\"",
                        "dmarc@receiver.example",
                        "receiver.example",
                        "1.ab@receiver.example",
                        "example.org",
                        "receiver.example!example.org!0!86399!1ab.xml.gz",
                        gzip("<x/>"),
                        0,
                        86399};
  const std::string mail = report_mail(parts, Mailbox{"rua@example.org", "example.org"}, 0);
  EXPECT_NE(mail.find("From: \"Example \\\"Receiver\\\"\" <dmarc@receiver.example>\r\n"),
            std::string::npos);
  EXPECT_NE(mail.find("Subject: Report Domain: example.org\r\n Submitter: receiver.example\r\n "
                      "Report-ID: <1.ab@receiver.example>\r\n"),
            std::string::npos);
  EXPECT_NE(mail.find("Content-Type: application/gzip;"), std::string::npos);
  EXPECT_NE(mail.find("filename=\"receiver.example!example.org!0!86399!1ab.xml.gz\""),
            std::string::npos);
  EXPECT_NE(mail.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos);
  for (std::size_t pos = 0; (pos = mail.find('\n', pos)) != std::string::npos; ++pos) {
    ASSERT_GT(pos, 0u);
    EXPECT_EQ(mail[pos - 1], '\r');  // CRLF only
  }
}

}  // namespace
}  // namespace authmilter::report

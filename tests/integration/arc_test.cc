// ARC (RFC 8617, issue 13) end to end through Postfix and NSD. A p=reject domain's message
// (football.example.com) passes through the mailing list lists.example, which tags the
// Subject, adds a footer and seals it with Debian's python3-dkim (arc_tool.py seal: our
// verifier is never checked against our own sealer). From kClientIp the message fails
// DMARC (SPF is the list's, the author's DKIM signature is gone):
//   - trusted sealer (ARCTrustedSealers lists.example): accepted, arc=pass, dmarc=fail with
//     policy.dmarc=none and "arc override by lists.example";
//   - untrusted: rejected 550 5.7.1 (DMARC);
//   - body changed after sealing: arc=fail, rejected;
//   - our own seal (ARCSign) on the delivered copy verifies as pass with python3-dkim's
//     dkim.arc_verify asking NSD (arc_tool.py verify).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "process.h"

namespace authmilter::integration {
namespace {

constexpr const char* kListKey = AUTHMILTER_TEST_DATA_DIR "/arc-integration/list.key";
constexpr const char* kSealKey = AUTHMILTER_TEST_DATA_DIR "/arc-integration/seal.key";
// RFC 8463 A.2's RSA key: test._domainkey.football.example.com in the harness's zone.
constexpr const char* kAuthorKey =
    AUTHMILTER_TEST_DATA_DIR "/dkim-rfc-examples/rfc8463-test-rsa.private.pem";
constexpr std::chrono::seconds kTool{20};

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_all(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The author's message, DKIM-signed by football.example.com (p=reject) with RFC 8463's RSA test
// key, as the list hands it on: a tagged Subject and a footer break the author's signature;
// the list adds its own A-R (what it saw on arrival: the author's aligned DKIM pass) and
// seals with python3-dkim.
std::string list_sealed(const std::filesystem::path& dir, std::string_view token) {
  const std::string author_message =
      "From: Joe <joe@football.example.com>\r\n"
      "To: members@lists.example\r\n"
      "Subject: " +
      std::string(token) +
      "\r\n"
      "Date: Mon, 2 Jan 2026 10:00:00 +0000\r\n"
      "Message-ID: <" +
      std::string(token) +
      "@football.example.com>\r\n"
      "\r\n"
      "Kick-off is at three. " +
      std::string(token) + "\r\n";
  const auto author = dir / (std::string(token) + ".author");
  const auto signed_path = dir / (std::string(token) + ".signed");
  write_all(author, author_message);
  const CommandResult signed_by_author =
      run_command({"/usr/bin/python3", AUTHMILTER_ARC_TOOL, "sign", kAuthorKey,
                   "football.example.com", "test", author.string(), signed_path.string()},
                  kTool);
  EXPECT_TRUE(signed_by_author.ok()) << signed_by_author.output;
  std::string message = read_all(signed_path);
  EXPECT_NE(message.find("DKIM-Signature:"), std::string::npos) << message;
  const std::string subject = "Subject: " + std::string(token) + "\r\n";
  const std::size_t at = message.find(subject);
  EXPECT_NE(at, std::string::npos) << message;
  if (at != std::string::npos) {
    message.replace(at, subject.size(), "Subject: [members] " + std::string(token) + "\r\n");
  }
  message =
      "Authentication-Results: lists.example;\r\n"
      "\tdkim=pass header.d=football.example.com header.s=test;\r\n"
      "\tspf=pass smtp.mailfrom=joe@football.example.com;\r\n"
      "\tdmarc=pass header.from=football.example.com\r\n"
      "List-Id: <members.lists.example>\r\n" +
      message +
      "-- \r\n"
      "members mailing list\r\n";
  const auto in = dir / (std::string(token) + ".in");
  const auto out = dir / (std::string(token) + ".sealed");
  write_all(in, message);
  const CommandResult sealed =
      run_command({"/usr/bin/python3", AUTHMILTER_ARC_TOOL, "seal", kListKey, "lists.example",
                   "arc", "lists.example", in.string(), out.string()},
                  kTool);
  EXPECT_TRUE(sealed.ok()) << sealed.output;
  return read_all(out);
}

Envelope from_list(std::string data) {
  Envelope e;
  e.xclient_addr = kClientIp;
  e.helo = kHeloName;
  e.mail_from = "members-bounces@lists.example";
  e.recipients = {kRecipient};
  e.data = std::move(data);
  return e;
}

const ResInfo* method(const AuthResults& ar, std::string_view name) { return ar.find(name); }

class ArcTrustedTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon(
        "DMARCReject reject\nARCTrustedSealers lists.example\nARCSign yes\n"
        "ARCSealDomain seal.example\nARCSelector arc\nARCKeyFile " +
        std::string(kSealKey) + "\n");
  }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(ArcTrustedTest, TrustedListIsAcceptedAndOurSealVerifiesIndependently) {
  const std::string token = unique_token("arc-trusted");
  const std::string sealed = list_sealed(harness().dir(), token);
  ASSERT_NE(sealed.find("ARC-Seal:"), std::string::npos) << sealed;
  SmtpOutcome out = send(from_list(sealed));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const ResInfo* arc = method(ours.front(), "arc");
  ASSERT_NE(arc, nullptr) << msg->data;
  EXPECT_EQ(arc->result, "pass") << msg->data;
  EXPECT_EQ(arc->property("smtp.remote-ip").value_or(""), kClientIp);
  // The list's Subject tag and footer broke the author's signature: DMARC fails on its own.
  const ResInfo* dkim = method(ours.front(), "dkim");
  ASSERT_NE(dkim, nullptr) << msg->data;
  EXPECT_EQ(dkim->result, "fail") << msg->data;
  const ResInfo* dmarc = method(ours.front(), "dmarc");
  ASSERT_NE(dmarc, nullptr) << msg->data;
  EXPECT_EQ(dmarc->result, "fail");
  EXPECT_EQ(dmarc->property("policy.dmarc").value_or(""), "none") << msg->data;
  // Our set i=2 on top, above our A-R, and python3-dkim finds the chain valid.
  const auto headers = parse_headers(msg->data);
  const auto seal_at = index_of(headers, "ARC-Seal");
  const auto ar_at = index_of(headers, "Authentication-Results");
  ASSERT_TRUE(seal_at && ar_at);
  EXPECT_NE(headers[*ar_at].value.find("arc override by lists.example"), std::string::npos)
      << msg->data;
  EXPECT_LT(*seal_at, *ar_at);
  EXPECT_NE(headers[*seal_at].value.find("i=2"), std::string::npos) << headers[*seal_at].value;
  const auto path = harness().dir() / (token + ".delivered");
  write_all(path, msg->data);
  const CommandResult verified =
      run_command({"/usr/bin/python3", AUTHMILTER_ARC_TOOL, "verify",
                   std::to_string(harness().dns().port()), path.string()},
                  kTool);
  ASSERT_TRUE(verified.ok()) << verified.output;
  EXPECT_EQ(verified.output.rfind("cv=pass", 0), 0u) << verified.output << "\n" << msg->data;
}

TEST_F(ArcTrustedTest, BodyChangedAfterSealingFailsAndIsRejected) {
  const std::string token = unique_token("arc-altered");
  std::string sealed = list_sealed(harness().dir(), token);
  const std::size_t at = sealed.find("Kick-off is at three.");
  ASSERT_NE(at, std::string::npos);
  sealed.replace(at, 21, "Kick-off is at four.");
  SmtpOutcome out = send(from_list(sealed));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_NE(out.reply.text.find("DMARC policy of football.example.com is reject"),
            std::string::npos)
      << out.describe();
}

class ArcUntrustedTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() { start_daemon("DMARCReject reject\n"); }
  static void TearDownTestSuite() { stop_daemon(); }
};

TEST_F(ArcUntrustedTest, UntrustedListIsRejected) {
  const std::string token = unique_token("arc-untrusted");
  SmtpOutcome out = send(from_list(list_sealed(harness().dir(), token)));
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.1") << out.describe();
}

}  // namespace
}  // namespace authmilter::integration

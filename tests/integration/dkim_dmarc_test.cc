// DKIM and DMARC end to end (issues #4 and #5) through Postfix, with RFC 8463 Appendix A.3's
// message: signed by football.example.com with Ed25519 and RSA, c=simple/simple (so it also
// proves header values reach the verifier with their original spacing). Sent from
// kClientIp it is a forwarded message: SPF fails at our MX, the aligned signatures pass.
// Every test runs in both DMARCDiscovery modes (treewalk, psl): the answers are the same.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>

#include "harness.h"

namespace authmilter::integration {
namespace {

std::string rfc8463_message() {
  std::ifstream in(AUTHMILTER_TEST_DATA_DIR "/dkim-rfc-examples/rfc8463-A3-signed.eml",
                   std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Envelope football(std::string_view mail_from, std::string data) {
  Envelope e;
  e.xclient_addr = kClientIp;
  e.helo = kHeloName;
  e.mail_from = std::string(mail_from);
  e.recipients = {kRecipient};
  e.data = std::move(data);
  return e;
}

// The RFC message carries no token of ours: a test finds its copy by the queue id Postfix
// reported, which the Received: header of the delivered copy names.
constexpr std::chrono::seconds kWait{20};

struct TreeWalk {
  static constexpr const char* kConfig = "DMARCDiscovery treewalk\n";
};
struct Psl {
  static constexpr const char* kConfig = "DMARCDiscovery psl\n";
};
using DiscoveryModes = ::testing::Types<TreeWalk, Psl>;
class ModeName {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, Psl> ? "psl" : "treewalk";
  }
};

template <class Mode>
class DkimDmarcStrictTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon(std::string("SPFFail reject\nDMARCReject reject\n") + Mode::kConfig);
  }
  static void TearDownTestSuite() { stop_daemon(); }
};
TYPED_TEST_SUITE(DkimDmarcStrictTest, DiscoveryModes, ModeName);

TYPED_TEST(DkimDmarcStrictTest, ForwardedSignedMessageIsAcceptedWithDkimAndDmarcPass) {
  const std::string message = rfc8463_message();
  ASSERT_FALSE(message.empty()) << "missing RFC 8463 vector in tests/data/dkim-rfc-examples";
  SmtpOutcome out = this->send(football("joe@football.example.com", message));
  ASSERT_TRUE(out.accepted()) << "DMARC pass must override SPFFail reject: " << out.describe();
  auto msg = this->harness().sink().wait_for(out.queue_id, kWait);
  ASSERT_TRUE(msg.has_value());
  auto ours = this->our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  const AuthResults& ar = ours.front();
  ASSERT_NE(ar.find("spf"), nullptr);
  EXPECT_EQ(ar.find("spf")->result, "fail");
  std::vector<const ResInfo*> dkim;
  for (const ResInfo& r : ar.results) {
    if (r.method == "dkim") dkim.push_back(&r);
  }
  ASSERT_EQ(dkim.size(), 2u) << msg->data;
  for (const ResInfo* r : dkim) {
    EXPECT_EQ(r->result, "pass") << msg->data;
    EXPECT_EQ(r->property("header.d").value_or(""), "football.example.com");
  }
  EXPECT_EQ(dkim[0]->property("header.a").value_or(""), "ed25519-sha256");
  EXPECT_EQ(dkim[1]->property("header.a").value_or(""), "rsa-sha256");
  const ResInfo* dmarc = ar.find("dmarc");
  ASSERT_NE(dmarc, nullptr) << msg->data;
  EXPECT_EQ(dmarc->result, "pass");
  EXPECT_EQ(dmarc->property("header.from").value_or(""), "football.example.com");
}

TYPED_TEST(DkimDmarcStrictTest, SpoofOfPRejectDomainIsRejectedWith571) {
  const std::string token = unique_token("dmarc-spoof");
  Envelope e = football("x@spf-none.example", make_message(token, "joe@football.example.com"));
  SmtpOutcome out = this->send(e);
  EXPECT_FALSE(out.accepted()) << out.describe();
  EXPECT_EQ(out.reply.code, 550) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "5.7.1") << out.describe();
  EXPECT_NE(out.reply.text.find("DMARC policy of football.example.com is reject"),
            std::string::npos)
      << out.reply.str();
  EXPECT_TRUE(this->harness().sink().find(token).empty());
}

// Defaults for SPF, DMARC failures only recorded: the altered copy must arrive, marked fail.
template <class Mode>
class DkimDmarcRecordTest : public DaemonTest {
 protected:
  static void SetUpTestSuite() {
    start_daemon(std::string("DMARCReject accept\n") + Mode::kConfig);
  }
  static void TearDownTestSuite() { stop_daemon(); }
};
TYPED_TEST_SUITE(DkimDmarcRecordTest, DiscoveryModes, ModeName);

TYPED_TEST(DkimDmarcRecordTest, MessageAlteredInTransitArrivesWithDkimFail) {
  std::string message = rfc8463_message();
  const std::size_t at = message.find("We lost the game.");
  ASSERT_NE(at, std::string::npos);
  message.replace(at, 17, "We won the game! ");
  SmtpOutcome out = this->send(football("joe@football.example.com", message));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = this->harness().sink().wait_for(out.queue_id, kWait);
  ASSERT_TRUE(msg.has_value());
  auto ours = this->our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u) << msg->data;
  int dkim_fail = 0;
  for (const ResInfo& r : ours.front().results) {
    if (r.method == "dkim") {
      EXPECT_EQ(r.result, "fail") << msg->data;
      ++dkim_fail;
    }
  }
  EXPECT_EQ(dkim_fail, 2) << msg->data;
  ASSERT_NE(ours.front().find("dmarc"), nullptr);
  EXPECT_EQ(ours.front().find("dmarc")->result, "fail") << msg->data;
  EXPECT_EQ(ours.front().find("dmarc")->property("policy.dmarc").value_or(""), "reject");
}

TYPED_TEST(DkimDmarcRecordTest, UnsignedMessageGetsDkimNoneAndDmarcNoneWithoutRecord) {
  const std::string token = unique_token("dkim-none");
  SmtpOutcome out = this->send(this->envelope("alice@spf-pass.example", token));
  ASSERT_TRUE(out.accepted()) << out.describe();
  auto msg = this->delivered(token);
  ASSERT_TRUE(msg.has_value());
  auto ours = this->our_auth_results(*msg);
  ASSERT_EQ(ours.size(), 1u);
  ASSERT_NE(ours.front().find("dkim"), nullptr);
  EXPECT_EQ(ours.front().find("dkim")->result, "none");
  ASSERT_NE(ours.front().find("dmarc"), nullptr) << msg->data;
  EXPECT_EQ(ours.front().find("dmarc")->result, "none");
}

}  // namespace
}  // namespace authmilter::integration

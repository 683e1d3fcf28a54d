// The ARC handler in a Transaction: the chain result and override land in Results, and
// ARCSign seals accepted messages only (never rejected ones, never internal clients); the
// seal it adds verifies with the ARC verifier.
#include <gtest/gtest.h>

#include <chrono>

#include "authmilter/dkim/arc.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/milter/transaction.h"
#include "dkim_test_support.h"

namespace authmilter::milter {
namespace {

using config::Action;
using namespace std::chrono_literals;

class ArcHandlerTest : public ::testing::Test {
 protected:
  ArcHandlerTest() : cfg_(config::Config::defaults()), checker_(zone_, {"mx.test.example"}) {
    cfg_.authserv_id = "mx.test.example";
    cfg_.arc_sign = true;
    zone_.add_txt("pass.example", {"v=spf1 ip4:192.0.2.10 -all"});
    zone_.add_txt("fail.example", {"v=spf1 -all"});
    dkim::testing::Key k = dkim::testing::generate_rsa(1024);
    zone_.add_txt("arc._domainkey.seal.example",
                  dkim::testing::txt_strings(dkim::testing::key_record(k.get())));
    key_.domain = "seal.example";
    key_.selector = "arc";
    key_.key = std::shared_ptr<EVP_PKEY>(k.release(), EVP_PKEY_free);
    session_.client_ip = "192.0.2.10";
    session_.helo = "mail.helo.example";
  }

  std::vector<mail::HeaderField> headers() const {
    return {{"From", " Alice <alice@pass.example>"},
            {"To", " bob@test.example"},
            {"Subject", " hello"}};
  }

  Outcome run(std::string mail_from) {
    const Services services{cfg_,    zone_,   checker_, pool_, nullptr,
                            nullptr, nullptr, nullptr,  &key_};
    Transaction txn(services, session_, std::move(mail_from), false);
    for (const auto& h : headers()) txn.add_header(h.name, h.raw_value, true);
    txn.end_of_headers();
    txn.add_body("hello\r\n");
    return txn.finish();
  }

  config::Config cfg_;
  dns::ZoneResolver zone_;
  spf::Checker checker_;
  dkim::ArcSigningKey key_;
  work::Pool pool_{2};
  Session session_;
};

TEST_F(ArcHandlerTest, AcceptedMessageIsSealedAndTheSealVerifies) {
  const Outcome o = run("alice@pass.example");
  ASSERT_EQ(o.verdict.action, Action::kAccept);
  ASSERT_TRUE(o.results.arc);
  EXPECT_EQ(o.results.arc->result, dkim::ArcResult::kNone);
  EXPECT_NE(o.auth_results.find("arc=none"), std::string::npos) << o.auth_results;
  ASSERT_TRUE(o.arc_set);
  EXPECT_EQ(o.arc_set->instance, 1u);
  EXPECT_EQ(o.arc_set->authentication_results, "i=1; " + o.auth_results);
  EXPECT_NE(o.summary.find("arc_sealed=1"), std::string::npos) << o.summary;
  // The message as delivered: our set on top.
  std::vector<mail::HeaderField> delivered = headers();
  delivered.insert(delivered.begin(), {"Authentication-Results", " " + o.auth_results});
  delivered.insert(delivered.begin(),
                   {"ARC-Authentication-Results", " " + o.arc_set->authentication_results});
  delivered.insert(delivered.begin(),
                   {"ARC-Message-Signature", " " + o.arc_set->message_signature});
  delivered.insert(delivered.begin(), {"ARC-Seal", " " + o.arc_set->seal});
  dkim::ArcVerifier verifier(zone_, {}, dns::Clock::now() + 5s);
  verifier.end_of_headers(delivered);
  verifier.body("hello\r\n");
  const auto& result = verifier.finish();
  EXPECT_EQ(result.result, dkim::ArcResult::kPass) << result.comment;
}

TEST_F(ArcHandlerTest, RejectedOrTempfailedMessageIsNotSealed) {
  cfg_.spf_fail = Action::kReject;
  Outcome o = run("alice@fail.example");
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_FALSE(o.arc_set);
  cfg_.spf_fail = Action::kTempfail;
  o = run("alice@fail.example");
  EXPECT_EQ(o.verdict.action, Action::kTempfail);
  EXPECT_FALSE(o.arc_set);
  cfg_.spf_fail = Action::kMark;  // marked mail is delivered: sealed
  o = run("alice@fail.example");
  EXPECT_TRUE(o.arc_set);
}

TEST_F(ArcHandlerTest, InternalClientsAreNeitherCheckedNorSealed) {
  session_.internal = true;
  const Outcome o = run("alice@pass.example");
  EXPECT_FALSE(o.judged);
  EXPECT_FALSE(o.results.arc);
  EXPECT_FALSE(o.arc_set);
}

TEST_F(ArcHandlerTest, ArcSignOffMeansNoSeal) {
  cfg_.arc_sign = false;
  EXPECT_FALSE(run("alice@pass.example").arc_set);
}

}  // namespace
}  // namespace authmilter::milter

// Transaction end to end over in-memory DNS: the same code path as the milter and `check`.
#include "authmilter/milter/transaction.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "authmilter/cli/cli.h"
#include "authmilter/dmarc/org_domain.h"

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/report/store.h"
#include "dkim_test_support.h"

namespace authmilter::milter {
namespace {

using config::Action;

constexpr const char* kZone = R"(
pass.example TXT "v=spf1 ip4:192.0.2.10 -all"
fail.example TXT "v=spf1 -all"
soft.example TXT "v=spf1 ~all"
mail.helo.example TXT "v=spf1 ip4:192.0.2.10 -all"
;ERROR,broken.example,TXT,SERVFAIL
state.example TXT "v=spf1 ip4:198.51.100.0/24 -all"
bigcomms.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
forwarder.example TXT "spf2.0/pra ip4:192.0.2.10 -all"
forwarder.example TXT "v=spf1 -all"
svc.example TXT "v=spf1 ip4:192.0.2.0/24 -all"
)";

class TransactionTest : public ::testing::Test {
 protected:
  TransactionTest() : cfg_(config::Config::defaults()), checker_(zone_, {"mx.test.example"}) {
    cfg_.authserv_id = "mx.test.example";
    zone_.load(kZone);
    session_.client_ip = "192.0.2.10";
    session_.helo = "mail.helo.example";
  }

  Outcome run(std::string mail_from, std::vector<mail::HeaderField> headers = {},
              bool authenticated = false) {
    const Services services{cfg_, zone_, checker_, pool_};
    Transaction txn(services, session_, std::move(mail_from), authenticated);
    txn.set_queue_id("4ABCD");
    for (const auto& h : headers) txn.add_header(h.name, h.raw_value);
    txn.end_of_headers();
    txn.add_body("hello\r\n");
    return txn.finish();
  }

  config::Config cfg_;
  dns::ZoneResolver zone_;
  spf::Checker checker_;
  work::Pool pool_{2};  // after what its tasks use: destroyed first
  Session session_;
};

TEST_F(TransactionTest, SpfPassGivesOneHeaderAndAccept) {
  const Outcome o = run("alice@pass.example");
  EXPECT_TRUE(o.judged);
  EXPECT_EQ(o.verdict.action, Action::kAccept);
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kPass);
  EXPECT_EQ(o.auth_results.rfind("mx.test.example;", 0), 0u) << o.auth_results;
  EXPECT_NE(o.auth_results.find("spf=pass"), std::string::npos) << o.auth_results;
  EXPECT_NE(o.auth_results.find("smtp.mailfrom=alice@pass.example"), std::string::npos);
  EXPECT_FALSE(o.results.spf_helo);  // SPFHelo null-sender: no HELO check for a real sender
  EXPECT_NE(o.summary.find("queue=4ABCD"), std::string::npos);
  EXPECT_NE(o.summary.find("spf=pass"), std::string::npos);
  EXPECT_NE(o.summary.find("verdict=accept"), std::string::npos);
}

TEST_F(TransactionTest, SpfFailRejectedWhenConfigured) {
  cfg_.spf_fail = Action::kReject;
  const Outcome o = run("bob@fail.example");
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_EQ(o.verdict.enhanced_code, "5.7.23");
  EXPECT_NE(o.auth_results.find("spf=fail"), std::string::npos);
}

TEST_F(TransactionTest, SoftFailReportedAsSoftFailAndMarkedWhenConfigured) {
  cfg_.spf_softfail = Action::kMark;
  const Outcome o = run("bob@soft.example");
  EXPECT_NE(o.auth_results.find("spf=softfail"), std::string::npos) << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kMark);
  EXPECT_TRUE(o.add_mark);
}

TEST_F(TransactionTest, DnsFailureIsTempErrorAndTempfailsWhenConfigured) {
  cfg_.temp_error = Action::kTempfail;
  const Outcome o = run("x@broken.example");
  EXPECT_NE(o.auth_results.find("spf=temperror"), std::string::npos) << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kTempfail);
  EXPECT_EQ(o.verdict.smtp_code, "451");
  EXPECT_EQ(o.verdict.enhanced_code, "4.4.3");
}

TEST_F(TransactionTest, NullSenderIsCheckedOnHelo) {
  const Outcome o = run("");
  EXPECT_FALSE(o.results.spf_mail_from);
  ASSERT_TRUE(o.results.spf_helo);
  EXPECT_EQ(o.results.spf_helo->result, spf::Result::kPass);
  EXPECT_NE(o.auth_results.find("smtp.helo=mail.helo.example"), std::string::npos)
      << o.auth_results;
}

TEST_F(TransactionTest, HeloAlwaysAddsSecondSpfEntry) {
  cfg_.spf_helo = config::HeloCheck::kAlways;
  const Outcome o = run("alice@pass.example");
  ASSERT_TRUE(o.results.spf_helo);
  EXPECT_NE(o.auth_results.find("smtp.mailfrom="), std::string::npos);
  EXPECT_NE(o.auth_results.find("smtp.helo="), std::string::npos);
}

TEST_F(TransactionTest, ForgedHeadersClaimingOurIdAreRemovedOthersKept) {
  const Outcome o =
      run("alice@pass.example", {{"Authentication-Results", "other.example; spf=pass"},
                                 {"Received", "from x by y"},
                                 {"Authentication-Results", "MX.Test.Example; spf=pass"},
                                 {"Authentication-Results", "mx.test.example;\r\n\tdkim=pass"}});
  EXPECT_EQ(o.remove_ar, (std::vector<int>{3, 2}));  // descending, 1-based among A-R headers
}

TEST_F(TransactionTest, InternalClientIsNotJudgedAndHeadersKept) {
  session_.internal = true;
  cfg_.spf_fail = Action::kReject;
  const Outcome o =
      run("bob@fail.example", {{"Authentication-Results", "mx.test.example; spf=pass"}});
  EXPECT_FALSE(o.judged);
  EXPECT_EQ(o.trust, Trust::kInternal);
  EXPECT_TRUE(o.auth_results.empty());
  EXPECT_TRUE(o.remove_ar.empty());
  EXPECT_EQ(o.verdict.action, Action::kAccept);
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(TransactionTest, AuthenticatedClientNotJudgedButForgeriesRemoved) {
  cfg_.spf_fail = Action::kReject;
  const Outcome o =
      run("bob@fail.example", {{"Authentication-Results", "mx.test.example; spf=pass"}}, true);
  EXPECT_FALSE(o.judged);
  EXPECT_EQ(o.trust, Trust::kAuthenticated);
  EXPECT_TRUE(o.auth_results.empty());
  EXPECT_EQ(o.remove_ar, (std::vector<int>{1}));
  EXPECT_EQ(o.verdict.action, Action::kAccept);
}

// The phishing scenario of issue #3: SPF none on MAIL FROM, From: our users' organisation.
TEST_F(TransactionTest, PhishWithSpfNoneIsCaughtBySenderIdOnFrom) {
  const Outcome o = run("x@zebuzez.test", {{"From", "IT Security <it-security@state.example>"},
                                           {"Subject", "Your password expires"}});
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kNone);
  ASSERT_TRUE(o.results.sender_id);
  EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kFail);
  EXPECT_EQ(o.results.sender_id->why, "spf=none");
  EXPECT_NE(o.auth_results.find("sender-id=fail"), std::string::npos) << o.auth_results;
  EXPECT_NE(o.auth_results.find("header.from=it-security@state.example"), std::string::npos)
      << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kMark);  // PRAFail default
  EXPECT_TRUE(o.add_mark);
  EXPECT_NE(o.summary.find("sender_id=fail"), std::string::npos);
  EXPECT_NE(o.summary.find("sender_id_why=\"spf=none\""), std::string::npos) << o.summary;
}

TEST_F(TransactionTest, PraFailRejectGives550571) {
  cfg_.pra_fail = Action::kReject;
  const Outcome o = run("x@zebuzez.test", {{"From", "it-security@state.example"}});
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_EQ(o.verdict.smtp_code, "550");
  EXPECT_EQ(o.verdict.enhanced_code, "5.7.1");
  EXPECT_NE(o.verdict.reason.find("state.example"), std::string::npos) << o.verdict.reason;
}

// The marketing scenario: SPF pass on the bounce domain is final, From: is not judged.
TEST_F(TransactionTest, SpfPassIsFinalNoSenderIdCheck) {
  cfg_.pra_fail = Action::kReject;
  const Outcome o = run("bounce@bigcomms.example", {{"From", "news@state.example"}});
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kPass);
  EXPECT_FALSE(o.results.sender_id);
  EXPECT_EQ(o.auth_results.find("sender-id"), std::string::npos) << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kAccept);
  EXPECT_EQ(zone_.query_count("state.example", dns::RrType::kTxt), 0u);
}

TEST_F(TransactionTest, SpfFailIsFinalToo) {
  const Outcome o = run("bob@fail.example", {{"From", "news@state.example"}});
  EXPECT_FALSE(o.results.sender_id);
}

TEST_F(TransactionTest, ForwardedMessageJudgedOnResentFrom) {
  const Outcome o = run("x@zebuzez.test", {{"From", "it-security@state.example"},
                                           {"Resent-From", "list@forwarder.example"}});
  ASSERT_TRUE(o.results.sender_id);
  EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kPass);  // its spf2.0/pra record
  EXPECT_NE(o.auth_results.find("sender-id=pass"), std::string::npos) << o.auth_results;
  EXPECT_NE(o.auth_results.find("header.resent-from=list@forwarder.example"), std::string::npos)
      << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kAccept);
}

TEST_F(TransactionTest, SenderIdAlwaysAndOff) {
  cfg_.sender_id = config::SenderIdMode::kAlways;
  Outcome o = run("bounce@bigcomms.example", {{"From", "news@state.example"}});
  ASSERT_TRUE(o.results.sender_id);
  EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kFail);
  EXPECT_EQ(o.results.sender_id->why, "always");
  cfg_.sender_id = config::SenderIdMode::kOff;
  o = run("x@zebuzez.test", {{"From", "it-security@state.example"}});
  EXPECT_FALSE(o.results.sender_id);
}

TEST_F(TransactionTest, NoPraIsPermErrorAndNotAFail) {
  cfg_.pra_fail = Action::kReject;
  const Outcome o = run("x@zebuzez.test", {{"From", "a@state.example"}, {"From", "b@x.example"}});
  ASSERT_TRUE(o.results.sender_id);
  EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kPermError);
  EXPECT_NE(o.auth_results.find("sender-id=permerror"), std::string::npos) << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kAccept);
}

TEST_F(TransactionTest, ForgedOwnDomainFromOutsideGetsOwnDomainSpoof) {
  cfg_.own_domains = {"ourcorp.example"};
  cfg_.own_domain_spoof = Action::kReject;
  const Outcome o = run("x@zebuzez.test", {{"From", "CEO <ceo@mail.ourcorp.example>"}});
  ASSERT_TRUE(o.results.own_domain);
  EXPECT_TRUE(o.results.own_domain->spoof);
  EXPECT_EQ(o.results.own_domain->domain, "mail.ourcorp.example");
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_EQ(o.verdict.enhanced_code, "5.7.1");
  EXPECT_NE(o.auth_results.find("claims our domain mail.ourcorp.example"), std::string::npos)
      << o.auth_results;
  EXPECT_NE(o.summary.find("own_domain_sender=unapproved"), std::string::npos) << o.summary;
}

TEST_F(TransactionTest, OwnDomainFromApprovedNetworkOrIncludeIsNotASpoof) {
  cfg_.own_domains = {"ourcorp.example"};
  cfg_.own_domain_spoof = Action::kReject;
  cfg_.own_domain_sender_networks = *config::CidrList::parse("192.0.2.0/28");
  Outcome o = run("x@zebuzez.test", {{"From", "ceo@ourcorp.example"}});
  ASSERT_TRUE(o.results.own_domain);
  EXPECT_FALSE(o.results.own_domain->spoof);
  EXPECT_EQ(o.results.own_domain->approved_by, "network 192.0.2.10");
  EXPECT_EQ(o.verdict.action, Action::kAccept);

  cfg_.own_domain_sender_networks = config::CidrList();
  cfg_.own_domain_sender_includes = {"svc.example"};
  o = run("x@zebuzez.test", {{"From", "ceo@ourcorp.example"}});
  ASSERT_TRUE(o.results.own_domain);
  EXPECT_EQ(o.results.own_domain->approved_by, "include:svc.example");
  EXPECT_EQ(o.verdict.action, Action::kAccept);
}

TEST_F(TransactionTest, OtherDomainsAreNotOwnDomainClaims) {
  cfg_.own_domains = {"ourcorp.example"};
  cfg_.own_domain_spoof = Action::kReject;
  const Outcome o = run("x@zebuzez.test", {{"From", "someone@notourcorp.example"}});
  EXPECT_FALSE(o.results.own_domain);
  EXPECT_EQ(o.verdict.action, Action::kAccept);
}

TEST_F(TransactionTest, TrustedRelayMessageIsJudgedOnFirstUntrustedHop) {
  cfg_.trusted_relays = *config::CidrList::parse("10.0.0.0/8");
  session_.client_ip = "10.0.0.2";
  session_.helo = "relay2.ourcorp.example";
  session_.trusted_relay = true;
  const Outcome o =
      run("alice@pass.example",
          {{"Received",
            "from edge.ourcorp.example (edge.ourcorp.example [10.0.0.1])\r\n\tby "
            "relay2.ourcorp.example (Postfix) with ESMTP id 4A1B2C3D4E;\r\n\tMon, 2 Jan 2026 "
            "10:00:01 +0000 (UTC)"},
           {"Received",
            "from mail.helo.example (mail.helo.example [192.0.2.10])\r\n\tby "
            "edge.ourcorp.example (Postfix) with ESMTPS id 3F2E1D0C9B;\r\n\tMon, 2 Jan 2026 "
            "10:00:00 +0000 (UTC)"},
           {"Received", "from forged.example ([10.9.9.9]) by mail.helo.example; forged lower"},
           {"From", "alice@pass.example"}});
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kPass);  // 10.0.0.2 would fail
  EXPECT_NE(o.auth_results.find("judged 192.0.2.10"), std::string::npos) << o.auth_results;
  EXPECT_NE(o.summary.find("judged=192.0.2.10"), std::string::npos) << o.summary;
}

TEST_F(TransactionTest, TrustedRelayWithUnusableChainIsJudgedOnTheRelay) {
  cfg_.trusted_relays = *config::CidrList::parse("10.0.0.0/8");
  session_.client_ip = "10.0.0.2";
  session_.trusted_relay = true;
  const Outcome o = run("alice@pass.example", {{"From", "alice@pass.example"}});
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kFail);  // the relay is not listed
  EXPECT_NE(o.auth_results.find("Received chain not usable"), std::string::npos) << o.auth_results;
}

TEST_F(TransactionTest, BatvTagsOurSendersAndRefusesUntaggedBounces) {
  const mail::BatvKey key("unit-test-secret-0123456789");
  cfg_.own_domains = {"ourcorp.example"};
  const Services services{cfg_, zone_, checker_, pool_, nullptr, nullptr, &key};
  // Outbound: an authenticated sender in one of OwnDomains gets a tagged MAIL FROM.
  std::string tagged;
  {
    Transaction txn(services, session_, "alice@ourcorp.example", true);
    const Outcome o = txn.finish();
    EXPECT_FALSE(o.judged);
    ASSERT_EQ(o.new_mail_from.rfind("<prvs=", 0), 0u) << o.new_mail_from;
    tagged = o.new_mail_from;
  }
  // Other domains are left alone.
  {
    Transaction txn(services, session_, "alice@elsewhere.example", true);
    EXPECT_TRUE(txn.finish().new_mail_from.empty());
  }
  // Inbound bounce: untagged refused with BATVFail (reject), tagged accepted and untagged.
  Transaction txn(services, session_, "", false);
  const auto refused = txn.add_recipient("<alice@ourcorp.example>");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->action, Action::kReject);
  EXPECT_EQ(refused->enhanced_code, "5.7.1");
  EXPECT_EQ(txn.take_recipient_log().size(), 1u);
  EXPECT_FALSE(txn.add_recipient(tagged));
  EXPECT_FALSE(txn.add_recipient("<bob@elsewhere.example>"));  // not ours: not checked
  const Outcome o = txn.finish();
  ASSERT_EQ(o.untagged_recipients.size(), 1u);
  EXPECT_EQ(o.untagged_recipients[0].first, tagged);
  EXPECT_EQ(o.untagged_recipients[0].second, "<alice@ourcorp.example>");
  EXPECT_NE(o.summary.find("batv_refused=1"), std::string::npos) << o.summary;
}

TEST_F(TransactionTest, TrustedAuthservIdResultsAreReusedOnlyFromTrustedRelays) {
  cfg_.trusted_relays = *config::CidrList::parse("10.0.0.0/8");
  cfg_.trusted_authserv_ids = {"edge.ourcorp.example"};
  const std::vector<mail::HeaderField> headers{
      {"Authentication-Results",
       "edge.ourcorp.example; spf=pass smtp.mailfrom=bob@fail.example;\r\n\tdkim=pass "
       "header.d=fail.example header.s=sel header.b=AbCdEfGh"},
      {"Authentication-Results", "evil.example; spf=pass smtp.mailfrom=bob@fail.example"},
      {"From", "bob@fail.example"}};
  // From an outside client: the header is just text anyone could write.
  Outcome o = run("bob@fail.example", headers);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kFail);
  // From our trusted relay: the edge's results replace ours, with a comment.
  session_.client_ip = "10.0.0.2";
  session_.trusted_relay = true;
  o = run("bob@fail.example", headers);
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kPass);
  EXPECT_NE(o.auth_results.find("reported by edge.ourcorp.example"), std::string::npos)
      << o.auth_results;
}

TEST_F(TransactionTest, ReceivedSpfOnlyWhenConfigured) {
  EXPECT_TRUE(run("alice@pass.example").received_spf.empty());
  cfg_.add_received_spf = true;
  const Outcome o = run("alice@pass.example");
  EXPECT_EQ(o.received_spf.rfind("pass", 0), 0u) << o.received_spf;
  EXPECT_NE(o.received_spf.find("192.0.2.10"), std::string::npos);
}

TEST_F(TransactionTest, HeadersKeptUpToMaxHeaderBytesOnly) {
  cfg_.max_header_bytes = 1024;
  const std::string value(400, 'x');
  std::vector<mail::HeaderField> headers(4, mail::HeaderField{"X-Big", value});
  headers.push_back({"Authentication-Results", "mx.test.example; spf=pass"});
  const Services services{cfg_, zone_, checker_, pool_};
  Transaction txn(services, session_, "alice@pass.example", false);
  for (const auto& h : headers) txn.add_header(h.name, h.raw_value);
  EXPECT_EQ(txn.headers().size(), 2u);  // 2 * ~410 bytes fit in 1024, the third does not
  EXPECT_TRUE(txn.headers_truncated());
  const Outcome o = txn.finish();
  EXPECT_EQ(o.remove_ar, (std::vector<int>{1}));  // still scanned past the limit
  EXPECT_NE(o.summary.find("headers=truncated"), std::string::npos);
}

// A resolver whose answers never come: the deadline, not the resolver, ends the wait.
class SilentResolver final : public dns::Resolver {
 public:
  dns::PendingAnswer start(std::string_view, dns::RrType) override {
    std::lock_guard lock(mutex_);
    promises_.emplace_back();
    return promises_.back().get_future();
  }

 private:
  std::mutex mutex_;
  std::vector<dns::AnswerPromise> promises_;
};

TEST(TransactionDeadlineTest, SilentDnsBecomesTempErrorAtMessageTimeout) {
  config::Config cfg = config::Config::defaults();
  cfg.authserv_id = "mx.test.example";
  cfg.message_timeout = std::chrono::milliseconds(300);
  SilentResolver resolver;
  spf::Checker checker(resolver, {"mx.test.example"});
  work::Pool pool(2);
  const Services services{cfg, resolver, checker, pool};
  Session session;
  session.client_ip = "192.0.2.10";
  session.helo = "mail.example";
  const auto started = std::chrono::steady_clock::now();
  Transaction txn(services, session, "a@silent.example", false);
  const Outcome o = txn.finish();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kTempError);
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_GE(waited, std::chrono::milliseconds(250));
}

TEST(TransactionDeadlineTest, CancelStopsWaitingAtOnce) {
  config::Config cfg = config::Config::defaults();
  cfg.message_timeout = std::chrono::seconds(60);
  SilentResolver resolver;
  spf::Checker checker(resolver, {"mx.test.example"});
  work::Pool pool(2);
  const Services services{cfg, resolver, checker, pool};
  Session session;
  session.client_ip = "192.0.2.10";
  const auto started = std::chrono::steady_clock::now();
  {
    Transaction txn(services, session, "a@silent.example", false);
    txn.cancel();  // client vanished: destruction must not wait for the 60 s deadline
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

// The in-memory zones behind a gate: lookups wait (as on a slow network) until open().
class GatedResolver final : public dns::Resolver {
 public:
  explicit GatedResolver(dns::ZoneResolver& zone) : zone_(zone) {}
  dns::PendingAnswer start(std::string_view name, dns::RrType type) override {
    std::lock_guard lock(mutex_);
    asked_.emplace_back(name);
    if (open_) return zone_.start(name, type);
    held_.push_back({std::string(name), type, {}});
    changed_.notify_all();
    return held_.back().promise.get_future();
  }
  // Blocks until `n` lookups wait at the gate (a worker is then busy in DNS).
  void wait_until_held(std::size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return held_.size() >= n; });
  }
  void open() {
    std::list<Held> held;
    {
      std::lock_guard lock(mutex_);
      open_ = true;
      held.swap(held_);
    }
    for (Held& h : held) h.promise.set_value(zone_.start(h.name, h.type).get());
  }
  std::size_t held() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  bool asked(std::string_view name) const {
    std::lock_guard lock(mutex_);
    return std::find(asked_.begin(), asked_.end(), name) != asked_.end();
  }

 private:
  struct Held {
    std::string name;
    dns::RrType type;
    dns::AnswerPromise promise;
  };
  dns::ZoneResolver& zone_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  std::list<Held> held_;
  std::vector<std::string> asked_;
};

// Threads of this process now (Linux: one /proc/self/task entry per thread).
std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

class TransactionPoolTest : public ::testing::Test {
 protected:
  TransactionPoolTest() : cfg_(config::Config::defaults()), gated_(zone_) {
    cfg_.authserv_id = "mx.test.example";
    cfg_.message_timeout = std::chrono::seconds(60);  // nothing here may end by the deadline
    cfg_.spf_helo = config::HeloCheck::kAlways;       // two SPF checks per message
    cfg_.iprev = false;  // the pool holds SPF checks only: the counts below are theirs
    zone_.load(kZone);
    session_.client_ip = "192.0.2.10";
    session_.helo = "mail.helo.example";
  }

  // Runs a message up to end of message; its checks are queued or waiting in DNS.
  std::unique_ptr<Transaction> begin(const Services& services, std::string mail_from) {
    auto txn = std::make_unique<Transaction>(services, session_, std::move(mail_from), false);
    txn->add_header("From", "Carol <carol@forwarder.example>");
    txn->end_of_headers();
    txn->add_body("hello\r\n");
    return txn;
  }

  config::Config cfg_;
  dns::ZoneResolver zone_;
  GatedResolver gated_;
  spf::Checker checker_{gated_, {"mx.test.example"}};
  Session session_;
};

// Issue 11: no thread per check per message. Many messages in flight at once, every check
// stuck in DNS: the process has only the pool's threads more than before (a thread per
// check would add 2 or 3 per message here).
TEST_F(TransactionPoolTest, ManyMessagesInFlightUseOnlyThePoolsThreads) {
  const std::size_t before = thread_count();
  work::Pool pool(3);
  ASSERT_EQ(thread_count(), before + pool.threads());
  const Services services{cfg_, gated_, checker_, pool};
  constexpr int kMessages = 150;
  std::vector<std::unique_ptr<Transaction>> in_flight;
  std::size_t most = 0;
  for (int i = 0; i < kMessages; ++i) {
    in_flight.push_back(begin(services, i % 2 == 0 ? "alice@pass.example" : "bob@nospf.example"));
    most = std::max(most, thread_count());
  }
  EXPECT_LE(gated_.held(), pool.threads());  // a worker waits in one lookup, the rest queue
  gated_.open();
  for (int i = 0; i < kMessages; ++i) {
    const Outcome o = in_flight[static_cast<std::size_t>(i)]->finish();
    most = std::max(most, thread_count());
    ASSERT_TRUE(o.results.spf_mail_from);
    ASSERT_TRUE(o.results.spf_helo);
    EXPECT_EQ(o.results.spf_helo->result, spf::Result::kPass);
    if (i % 2 == 0) {
      EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kPass);
      EXPECT_FALSE(o.results.sender_id);  // SPF pass is final
    } else {
      // none is not authoritative: SenderID ran after SPF, on the pool too.
      EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kNone);
      ASSERT_TRUE(o.results.sender_id);
      EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kPass)
          << o.results.sender_id->check.comment;
    }
  }
  in_flight.clear();
  EXPECT_LE(most, before + pool.threads());
}

// With every answer at hand (an in-memory zone here, the cache in the daemon), SPF, SenderID
// and iprev complete on the calling thread: with the pool's only worker held by another task,
// the message still gets its results, long before its deadline.
TEST_F(TransactionPoolTest, ChecksFromReadyAnswersDoNotNeedThePool) {
  work::Pool pool(1);
  cfg_.iprev = true;
  cfg_.message_timeout = std::chrono::seconds(10);
  spf::Checker zone_checker(zone_, {"mx.test.example"});
  const Services services{cfg_, zone_, zone_checker, pool};
  work::Promise<int> release;
  const work::Future<int> released = release.get_future();
  const work::Future<int> blocker =
      pool.submit(dns::Clock::now() + std::chrono::seconds(60), nullptr, [released] {
        return released.get();  // holds the only worker until the end of the test
      });
  const auto started = std::chrono::steady_clock::now();
  const Outcome o = begin(services, "bob@nospf.example")->finish();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kNone);
  ASSERT_TRUE(o.results.spf_helo);
  EXPECT_EQ(o.results.spf_helo->result, spf::Result::kPass);
  ASSERT_TRUE(o.results.sender_id);  // SPF none: SenderID ran, also here
  EXPECT_EQ(o.results.sender_id->check.result, spf::Result::kPass)
      << o.results.sender_id->check.comment;
  ASSERT_TRUE(o.results.iprev);
  EXPECT_NE(o.results.iprev->result, iprev::Result::kTempError) << o.results.iprev->comment;
  release.set_value(1);
  EXPECT_EQ(blocker.get(), 1);
}

TEST_F(TransactionPoolTest, FullQueueGivesTempErrorNotAHang) {
  work::Pool pool(1, 1);
  cfg_.spf_helo = config::HeloCheck::kNullSender;
  const Services services{cfg_, gated_, checker_, pool};
  auto first = begin(services, "alice@pass.example");  // its SPF holds the only worker
  gated_.wait_until_held(1);
  auto second = begin(services, "bob@pass.example");   // its SPF fills the queue
  auto third = begin(services, "carol@pass.example");  // no room: not run at all
  const Outcome o = third->finish();
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kTempError);
  EXPECT_EQ(o.results.spf_mail_from->comment, "check not run: worker pool full");
  gated_.open();
  EXPECT_EQ(first->finish().results.spf_mail_from->result, spf::Result::kPass);
  EXPECT_EQ(second->finish().results.spf_mail_from->result, spf::Result::kPass);
}

TEST_F(TransactionPoolTest, CheckQueuedPastItsDeadlineDoesNoDns) {
  work::Pool pool(1);
  cfg_.spf_helo = config::HeloCheck::kNullSender;
  const Services services{cfg_, gated_, checker_, pool};
  auto first = begin(services, "alice@pass.example");  // holds the only worker
  config::Config short_cfg = cfg_;
  short_cfg.message_timeout = std::chrono::milliseconds(50);
  const Services short_services{short_cfg, gated_, checker_, pool};
  auto late = begin(short_services, "dave@fail.example");
  const Outcome o = late->finish();  // returns at its deadline; its check is still queued
  ASSERT_TRUE(o.results.spf_mail_from);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kTempError);
  EXPECT_EQ(o.results.spf_mail_from->comment, "check did not finish before MessageTimeout");
  gated_.open();
  EXPECT_EQ(first->finish().results.spf_mail_from->result, spf::Result::kPass);
  // One worker, first in first out: once this runs, the late check has been dropped.
  EXPECT_EQ(
      pool.submit(dns::Clock::now() + std::chrono::seconds(60), nullptr, [] { return 1; }).get(),
      1);
  EXPECT_FALSE(gated_.asked("fail.example"));
}

TEST_F(TransactionPoolTest, CancelledMessagesQueuedChecksAreDropped) {
  work::Pool pool(1);
  cfg_.spf_helo = config::HeloCheck::kNullSender;
  const Services services{cfg_, gated_, checker_, pool};
  auto first = begin(services, "alice@pass.example");  // holds the only worker
  auto gone = begin(services, "erin@fail.example");
  gone->cancel();  // client vanished
  gone.reset();
  gated_.open();
  EXPECT_EQ(first->finish().results.spf_mail_from->result, spf::Result::kPass);
  EXPECT_EQ(
      pool.submit(dns::Clock::now() + std::chrono::seconds(60), nullptr, [] { return 1; }).get(),
      1);
  EXPECT_FALSE(gated_.asked("fail.example"));
}

}  // namespace
}  // namespace authmilter::milter

namespace authmilter::milter {
namespace {

// DKIM and DMARC inside the Transaction: RFC 8463 A.3's message (Ed25519 + RSA, simple/simple)
// forwarded by 192.0.2.10, which football.example.com's SPF does not list.
class TransactionDkimDmarcTest : public ::testing::Test {
 protected:
  TransactionDkimDmarcTest()
      : cfg_(config::Config::defaults()),
        checker_(zone_, {"mx.test.example"}),
        dkim_(zone_, dkim::VerifierOptions{}),
        org_(dmarc::OrgDomainFinder::load(AUTHMILTER_TEST_DATA_DIR
                                          "/dmarc-mail-dmarc/public_suffix_list.v1.20250805")),
        dmarc_(zone_, *org_) {
    cfg_.authserv_id = "mx.test.example";
    zone_.load(R"(
football.example.com TXT "v=spf1 ip4:198.51.100.0/24 -all"
_dmarc.football.example.com TXT "v=DMARC1; p=reject"
brisbane._domainkey.football.example.com TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
test._domainkey.football.example.com TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)");
    session_.client_ip = "192.0.2.10";
    session_.helo = "forwarder.example";
    std::ifstream in(AUTHMILTER_TEST_DATA_DIR "/dkim-rfc-examples/rfc8463-A3-signed.eml",
                     std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    message_ = text.str();
  }

  // Feeds `message` as libmilter does with SMFIP_HDR_LEADSPC (values as sent).
  Outcome run(std::string message) {
    const Services services{cfg_, zone_, checker_, pool_, &dkim_, &dmarc_};
    Transaction txn(services, session_, "joe@football.example.com", false);
    for (const auto& [name, value] : cli::parse_message(message).headers) {
      txn.add_header(name, value, true);
    }
    txn.end_of_headers();
    std::string body = cli::parse_message(message).body;
    txn.add_body(body);
    return txn.finish();
  }

  config::Config cfg_;
  dns::ZoneResolver zone_;
  spf::Checker checker_;
  dkim::Library dkim_;
  std::unique_ptr<dmarc::OrgDomainFinder> org_;
  dmarc::Evaluator dmarc_;
  work::Pool pool_{2};
  Session session_;
  std::string message_;
};

// ReportStore: the judged message becomes one record in the store, through the Recorder.
TEST_F(TransactionDkimDmarcTest, JudgedMessageIsRecordedForTheAggregateReport) {
  std::string dir = std::filesystem::temp_directory_path().string() + "/txn-report-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const report::StoreSpec spec{report::StoreKind::kSqlite, dir + "/reports.db"};
  {
    report::Recorder recorder([&] { return report::open_store(spec); });
    const Services services{cfg_, zone_, checker_, pool_, &dkim_, &dmarc_, nullptr, &recorder};
    Transaction txn(services, session_, "joe@football.example.com", false);
    txn.add_recipient("<bob@test.example>");
    const cli::ParsedMessage parsed = cli::parse_message(message_);
    for (const auto& [name, value] : parsed.headers) txn.add_header(name, value, true);
    txn.end_of_headers();
    txn.add_body(parsed.body);
    const Outcome o = txn.finish();
    ASSERT_TRUE(o.results.dmarc);
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(20)));
    EXPECT_EQ(recorder.written(), 1u);
  }
  const auto records = report::open_store(spec)->records("football.example.com", 0, INT64_MAX);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(records.size(), 1u);
  const report::Record& r = records[0];
  EXPECT_EQ(r.source_ip, "192.0.2.10");
  EXPECT_EQ(r.header_from, "football.example.com");
  EXPECT_EQ(r.envelope_from, "football.example.com");
  EXPECT_EQ(r.envelope_to, "test.example");
  EXPECT_EQ(r.p, "reject");
  EXPECT_EQ(r.disposition, "pass");
  EXPECT_EQ(r.dmarc_dkim, "pass");
  EXPECT_EQ(r.dmarc_spf, "fail");
  ASSERT_EQ(r.dkim.size(), 2u);
  EXPECT_EQ(r.dkim[0], (report::DkimAuth{"football.example.com", "brisbane", "pass"}));
  ASSERT_TRUE(r.spf);
  EXPECT_EQ(r.spf->result, "fail");
}

TEST_F(TransactionDkimDmarcTest, ForwardedSignedMessagePassesDmarcDespiteSpfFail) {
  ASSERT_FALSE(message_.empty());
  cfg_.spf_fail = Action::kReject;
  const Outcome o = run(message_);
  EXPECT_EQ(o.results.spf_mail_from->result, spf::Result::kFail);
  ASSERT_EQ(o.results.dkim.size(), 2u);
  EXPECT_EQ(o.results.dkim[0].result, dkim::Result::kPass) << o.results.dkim[0].comment;
  EXPECT_EQ(o.results.dkim[1].result, dkim::Result::kPass) << o.results.dkim[1].comment;
  ASSERT_TRUE(o.results.dmarc);
  EXPECT_EQ(o.results.dmarc->result, dmarc::Result::kPass);
  EXPECT_TRUE(o.results.dmarc->dkim_aligned);
  EXPECT_EQ(o.verdict.action, Action::kAccept);
  EXPECT_NE(o.auth_results.find("dmarc=pass"), std::string::npos) << o.auth_results;
  EXPECT_NE(o.auth_results.find("header.a=ed25519-sha256"), std::string::npos);
  EXPECT_NE(o.summary.find("dmarc=pass"), std::string::npos) << o.summary;
  EXPECT_NE(o.summary.find("dkim=pass:football.example.com,pass:football.example.com"),
            std::string::npos)
      << o.summary;
}

TEST_F(TransactionDkimDmarcTest, DnssecValidatedKeyIsNotedInTheHeader) {
  EXPECT_EQ(run(message_).auth_results.find("DNSSEC"), std::string::npos);
  zone_.set_authenticated(true);  // as if a validating resolver set the AD bit
  const Outcome o = run(message_);
  ASSERT_EQ(o.results.dkim.size(), 2u);
  EXPECT_TRUE(o.results.dkim[0].dnssec);
  EXPECT_NE(o.auth_results.find("key DNSSEC-signed"), std::string::npos) << o.auth_results;
}

TEST_F(TransactionDkimDmarcTest, AlteredBodyFailsDkimAndDmarcRejects) {
  std::string altered = message_;
  altered.replace(altered.find("We lost"), 7, "We won!");
  const Outcome o = run(altered);
  ASSERT_EQ(o.results.dkim.size(), 2u);
  EXPECT_EQ(o.results.dkim[0].result, dkim::Result::kFail);
  EXPECT_NE(o.results.dkim[0].comment.find("body hash"), std::string::npos)
      << o.results.dkim[0].comment;
  ASSERT_TRUE(o.results.dmarc);
  EXPECT_EQ(o.results.dmarc->result, dmarc::Result::kFail);
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_EQ(o.verdict.reason, "DMARC policy of football.example.com is reject");
  EXPECT_NE(o.auth_results.find("policy.dmarc=reject"), std::string::npos) << o.auth_results;
}

TEST_F(TransactionDkimDmarcTest, IgnoreDmarcForSkipsTheDomain) {
  cfg_.ignore_dmarc_for = {"football.example.com"};
  std::string altered = message_;
  altered.replace(altered.find("We lost"), 7, "We won!");
  const Outcome o = run(altered);
  EXPECT_FALSE(o.results.dmarc);
  EXPECT_EQ(o.auth_results.find("dmarc="), std::string::npos) << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kAccept);
  EXPECT_EQ(zone_.query_count("_dmarc.football.example.com", dns::RrType::kTxt), 0u);
}

}  // namespace
}  // namespace authmilter::milter

namespace authmilter::milter {
namespace {

// BATVFail mark: the bad bounce recipient is kept and the whole message is marked at its end.
TEST_F(TransactionTest, BatvFailMarkActsOnTheMessage) {
  const mail::BatvKey key("unit-test-secret-0123456789");
  cfg_.own_domains = {"ourcorp.example"};
  cfg_.batv_fail = Action::kMark;
  const Services services{cfg_, zone_, checker_, pool_, nullptr, nullptr, &key};
  Transaction txn(services, session_, "", false);
  EXPECT_FALSE(txn.add_recipient("<alice@ourcorp.example>"));
  EXPECT_EQ(txn.take_recipient_log().size(), 1u);
  const Outcome o = txn.finish();
  EXPECT_EQ(o.verdict.action, Action::kMark);
  EXPECT_EQ(o.verdict.check, "batv-fail");
  EXPECT_TRUE(o.add_mark);
  ASSERT_TRUE(o.results.batv);
  EXPECT_EQ(o.results.batv->refused, 1u);
  EXPECT_NE(o.summary.find("rcpts=1"), std::string::npos) << o.summary;
}

TEST_F(TransactionDkimDmarcTest, AlignmentWalksStartAtEndOfHeadersAndTheLogNamesTheDomains) {
  // RFC 9989 tree walk: at end of headers the Author Domain's walk, and the walks of the MAIL
  // FROM domain and of each DKIM d= that differ from it (and could align), are in flight.
  zone_.add_txt("_dmarc.example.net", {"v=DMARC1; p=none"});
  std::string message = message_;
  const std::size_t from = message.find("joe@football.example.com>");
  ASSERT_NE(from, std::string::npos);
  message.replace(from, 24, "joe@news.example.net");
  const Services services{cfg_, zone_, checker_, pool_, &dkim_, &dmarc_};
  Transaction txn(services, session_, "bounce@lists.example.net", false);
  const cli::ParsedMessage parsed = cli::parse_message(message);
  for (const auto& [name, value] : parsed.headers) txn.add_header(name, value, true);
  txn.end_of_headers();
  for (const char* name : {"_dmarc.news.example.net", "_dmarc.example.net", "_dmarc.net",
                           "_dmarc.lists.example.net"}) {
    // Shared upper names are asked by both walks here (ZoneResolver has no cache).
    EXPECT_GE(zone_.query_count(name, dns::RrType::kTxt), 1u) << name;
  }
  // d=football.example.com shares no last label with example.net: it can never align, so
  // no walk is started for it.
  EXPECT_EQ(zone_.query_count("_dmarc.football.example.com", dns::RrType::kTxt), 0u);
  txn.add_body(parsed.body);
  const Outcome o = txn.finish();
  ASSERT_TRUE(o.results.dmarc);
  EXPECT_EQ(o.results.dmarc->result, dmarc::Result::kFail);
  EXPECT_EQ(o.results.dmarc->discovery, dmarc::Discovery::kTreeWalk);
  EXPECT_NE(o.summary.find("dmarc_policy_domain=example.net"), std::string::npos) << o.summary;
  EXPECT_NE(o.summary.find("dmarc_org_domain=example.net"), std::string::npos) << o.summary;
  EXPECT_NE(o.auth_results.find("dmarc=fail (p=none t=n; policy domain example.net)"),
            std::string::npos)
      << o.auth_results;
}

}  // namespace
}  // namespace authmilter::milter

namespace authmilter::milter {
namespace {

// iprev (RFC 8601 §3): first in the A-R, on the judged client, IPRev off and IPRevFail.
TEST_F(TransactionTest, IprevPassIsTheFirstEntryWithThePtrName) {
  zone_.add("10.2.0.192.in-addr.arpa", dns::RrType::kPtr, "mail.helo.example");
  zone_.add("mail.helo.example", dns::RrType::kA, "192.0.2.10");
  const Outcome o = run("alice@pass.example");
  ASSERT_TRUE(o.results.iprev);
  EXPECT_EQ(o.results.iprev->result, iprev::Result::kPass);
  EXPECT_EQ(o.auth_results.rfind("mx.test.example;\n\tiprev=pass (mail.helo.example) "
                                 "policy.iprev=192.0.2.10;\n\tspf=pass",
                                 0),
            0u)
      << o.auth_results;
  EXPECT_NE(o.summary.find("iprev=pass ptr=mail.helo.example"), std::string::npos) << o.summary;
}

TEST_F(TransactionTest, IprevJudgesTheFirstUntrustedHopBehindATrustedRelay) {
  zone_.add("10.2.0.192.in-addr.arpa", dns::RrType::kPtr, "mail.helo.example");
  zone_.add("mail.helo.example", dns::RrType::kA, "192.0.2.10");
  cfg_.trusted_relays = *config::CidrList::parse("10.0.0.0/8");
  session_.client_ip = "10.0.0.2";
  session_.trusted_relay = true;
  const Outcome o = run("alice@pass.example",
                        {{"Received",
                          "from mail.helo.example (mail.helo.example [192.0.2.10])\r\n\tby "
                          "relay.ourcorp.example (Postfix) with ESMTPS id 3F2E1D0C9B;\r\n\tMon, 2 "
                          "Jan 2026 10:00:00 +0000 (UTC)"},
                         {"From", "alice@pass.example"}});
  ASSERT_TRUE(o.results.iprev);
  EXPECT_EQ(o.results.iprev->ip, "192.0.2.10");
  EXPECT_EQ(o.results.iprev->result, iprev::Result::kPass);
  EXPECT_EQ(zone_.query_count("2.0.0.10.in-addr.arpa", dns::RrType::kPtr), 0u);
}

TEST_F(TransactionTest, IprevOffGivesNoEntry) {
  cfg_.iprev = false;
  const Outcome o = run("alice@pass.example");
  EXPECT_FALSE(o.results.iprev);
  EXPECT_EQ(o.auth_results.find("iprev"), std::string::npos) << o.auth_results;
  EXPECT_EQ(zone_.query_count("10.2.0.192.in-addr.arpa", dns::RrType::kPtr), 0u);
}

TEST_F(TransactionTest, IprevFailActsOnlyWhenConfigured) {
  // No PTR for 192.0.2.10: permerror, accepted by default.
  Outcome o = run("alice@pass.example");
  ASSERT_TRUE(o.results.iprev);
  EXPECT_EQ(o.results.iprev->result, iprev::Result::kPermError);
  EXPECT_NE(o.auth_results.find("iprev=permerror (no PTR record for 192.0.2.10)"),
            std::string::npos)
      << o.auth_results;
  EXPECT_EQ(o.verdict.action, Action::kAccept);

  cfg_.iprev_fail = Action::kReject;
  zone_.add("10.2.0.192.in-addr.arpa", dns::RrType::kPtr, "liar.example");
  zone_.add("liar.example", dns::RrType::kA, "198.51.100.1");
  o = run("alice@pass.example");
  EXPECT_EQ(o.results.iprev->result, iprev::Result::kFail);
  EXPECT_EQ(o.verdict.action, Action::kReject);
  EXPECT_EQ(o.verdict.check, "iprev-fail");
  EXPECT_EQ(o.verdict.smtp_code, "550");
  EXPECT_EQ(o.verdict.enhanced_code, "5.7.25");
}

TEST_F(TransactionTest, IprevTempErrorTakesTempErrorOnlyWhenIprevCanDecide) {
  zone_.set_error("10.2.0.192.in-addr.arpa", dns::RrType::kPtr, dns::Status::kServFail);
  cfg_.temp_error = Action::kTempfail;
  Outcome o = run("alice@pass.example");
  EXPECT_EQ(o.results.iprev->result, iprev::Result::kTempError);
  EXPECT_EQ(o.verdict.action, Action::kAccept);  // IPRevFail accept: iprev decides nothing
  cfg_.iprev_fail = Action::kMark;
  o = run("alice@pass.example");
  EXPECT_EQ(o.verdict.action, Action::kTempfail);
  EXPECT_EQ(o.verdict.enhanced_code, "4.4.3");
}

}  // namespace
}  // namespace authmilter::milter

namespace authmilter::milter {
namespace {

// A 1 MiB body fed in the MTA's 65535-octet chunks with an offload slot free: from the first
// full chunk on they are hashed on a worker (BodyPipeline), and the verdict is the same as
// inline: pass for the signed body, a body hash failure for one byte changed in the last
// chunk.
class TransactionLargeBodyTest : public ::testing::Test {
 protected:
  TransactionLargeBodyTest()
      : cfg_(config::Config::defaults()),
        checker_(zone_, {"mx.test.example"}),
        dkim_(zone_, dkim::VerifierOptions{}) {
    cfg_.authserv_id = "mx.test.example";
    const auto& key = dkim::testing::keys().rsa2048;
    zone_.load("big._domainkey.example.org TXT \"" + dkim::testing::key_record(key.get()) + "\"\n" +
               "example.org TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n");
    session_.client_ip = "192.0.2.10";
    session_.helo = "mail.example.org";
    dkim::testing::Message message = dkim::testing::sample_message();
    std::string line = "A line of the body  with\ttwo kinds of  whitespace, 72 octets long.\r\n";
    message.body.clear();
    while (message.body.size() < 1024 * 1024) message.body += line;
    dkim::testing::SignSpec spec;
    spec.selector = "big";
    message_ =
        dkim::testing::with_signatures(message, {dkim::testing::sign(message, spec, key.get())});
  }

  Outcome run(const dkim::testing::Message& message, BodyOffloadSlots* slots,
              std::size_t* offloaded) {
    Services services{cfg_, zone_, checker_, pool_, &dkim_};
    services.body_offload = slots;
    Transaction txn(services, session_, "alice@example.org", false);
    for (const std::string& field : message.fields) {
      const std::size_t colon = field.find(':');
      txn.add_header(field.substr(0, colon), field.substr(colon + 1), true);
    }
    txn.end_of_headers();
    for (std::size_t at = 0; at < message.body.size(); at += 65535) {
      txn.add_body(std::string_view(message.body).substr(at, 65535));
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // the MTA's round trip
    }
    Outcome outcome = txn.finish();
    *offloaded = txn.offloaded_body_chunks();
    return outcome;
  }

  config::Config cfg_;
  dns::ZoneResolver zone_;
  spf::Checker checker_;
  dkim::Library dkim_;
  work::Pool pool_{2};
  Session session_;
  dkim::testing::Message message_;
};

TEST_F(TransactionLargeBodyTest, OffloadedBodyVerifiesAsInline) {
  BodyOffloadSlots slots(1);
  std::size_t offloaded = 0;
  for (BodyOffloadSlots* s : {static_cast<BodyOffloadSlots*>(nullptr), &slots}) {
    const Outcome o = run(message_, s, &offloaded);
    EXPECT_EQ(offloaded > 0, s != nullptr);
    ASSERT_EQ(o.results.dkim.size(), 1u);
    EXPECT_EQ(o.results.dkim[0].result, dkim::Result::kPass) << o.results.dkim[0].comment;
    EXPECT_FALSE(o.results.internal_error);
  }
  // The slot was given back at end of message.
  EXPECT_TRUE(slots.try_acquire());
  slots.release();
}

TEST_F(TransactionLargeBodyTest, ChangeInTheLastChunkFailsWhenOffloaded) {
  BodyOffloadSlots slots(1);
  dkim::testing::Message altered = message_;
  altered.body[altered.body.size() - 10] = 'X';
  std::size_t offloaded = 0;
  const Outcome o = run(altered, &slots, &offloaded);
  EXPECT_GT(offloaded, 0u);
  ASSERT_EQ(o.results.dkim.size(), 1u);
  EXPECT_EQ(o.results.dkim[0].result, dkim::Result::kFail);
  EXPECT_NE(o.results.dkim[0].comment.find("body hash"), std::string::npos)
      << o.results.dkim[0].comment;
}

}  // namespace
}  // namespace authmilter::milter

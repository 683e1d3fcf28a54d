// Tests for ZoneResolver (the in-memory Resolver the other modules' tests run against) and the
// Resolver helpers (await, normalize_name).
#include "authmilter/dns/zone_resolver.h"

#include <gtest/gtest.h>

#include <thread>

namespace authmilter::dns {
namespace {

Deadline soon() { return Clock::now() + std::chrono::seconds(5); }

const char kZone[] = R"(# test zone
example.org TXT "v=spf1 " "mx -all"
example.org 60 MX 10 mx.example.org
example.org IN MX 20 MX2.Example.ORG.
mx.example.org A 192.0.2.10
mx.example.org AAAA 2001:db8::10
*.wild.example.org TXT "wildcard"
own.wild.example.org A 192.0.2.20
deep.below.nonterminal.example.org A 192.0.2.30
_dmarc.example.org TXT "v=DMARC1; p=reject"
; plain comment
;ERROR,timeout.example.org,TXT,TIMEOUT
;ERROR,servfail.example.org,TXT,SERVFAIL
;ERROR,gone.example.org,A,NXDOMAIN
;ERROR,refused.example.org,MX,REFUSED
)";

class ZoneResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { zone_.load(kZone); }
  Answer ask(std::string_view name, RrType type) { return zone_.lookup(name, type, soon()); }
  ZoneResolver zone_;
};

TEST_F(ZoneResolverTest, TxtWithSeveralStrings) {
  Answer a = ask("example.org", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].data, "v=spf1 mx -all");
  EXPECT_EQ(a.records[0].strings, (std::vector<std::string>{"v=spf1 ", "mx -all"}));
  EXPECT_EQ(a.ttl, ZoneResolver::kDefaultTtl);
}

TEST_F(ZoneResolverTest, MxRecordsWithTtlClassAndNormalizedNames) {
  Answer a = ask("EXAMPLE.org.", RrType::kMx);
  ASSERT_EQ(a.status, Status::kNoError);
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].preference, 10);
  EXPECT_EQ(a.records[0].data, "mx.example.org");
  EXPECT_EQ(a.records[1].preference, 20);
  EXPECT_EQ(a.records[1].data, "mx2.example.org");
  EXPECT_EQ(a.ttl, 60u);  // the smaller of 60 and the default
}

TEST_F(ZoneResolverTest, AddressesAreRawBytes) {
  Answer a = ask("mx.example.org", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.records[0].data, std::string("\xc0\x00\x02\x0a", 4));
  Answer six = ask("mx.example.org", RrType::kAaaa);
  ASSERT_EQ(six.status, Status::kNoError);
  ASSERT_EQ(six.records[0].data.size(), 16u);
  EXPECT_EQ(static_cast<unsigned char>(six.records[0].data[15]), 0x10);
}

TEST_F(ZoneResolverTest, NoDataVersusNxDomain) {
  EXPECT_EQ(ask("mx.example.org", RrType::kTxt).status, Status::kNoData);
  EXPECT_EQ(ask("nothing.example.org", RrType::kTxt).status, Status::kNxDomain);
  EXPECT_EQ(ask("example.com", RrType::kA).status, Status::kNxDomain);
}

TEST_F(ZoneResolverTest, EmptyNonTerminalIsNoData) {
  EXPECT_EQ(ask("below.nonterminal.example.org", RrType::kA).status, Status::kNoData);
  EXPECT_EQ(ask("nonterminal.example.org", RrType::kTxt).status, Status::kNoData);
  EXPECT_EQ(ask("deep.below.nonterminal.example.org", RrType::kA).status, Status::kNoError);
}

TEST_F(ZoneResolverTest, Wildcard) {
  Answer a = ask("anything.wild.example.org", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.records[0].data, "wildcard");
  EXPECT_EQ(ask("anything.wild.example.org", RrType::kA).status, Status::kNoData);
  // A name with records of its own is not covered by the wildcard.
  EXPECT_EQ(ask("own.wild.example.org", RrType::kTxt).status, Status::kNoData);
  // Deeper names are covered while wild.example.org is their closest existing ancestor...
  EXPECT_EQ(ask("x.y.wild.example.org", RrType::kTxt).status, Status::kNoError);
  // ...but not below a name that exists (own.wild.example.org is the closest encloser).
  EXPECT_EQ(ask("x.own.wild.example.org", RrType::kTxt).status, Status::kNxDomain);
  EXPECT_EQ(ask("x.nonterminal.example.org", RrType::kTxt).status, Status::kNxDomain);
}

TEST_F(ZoneResolverTest, ErrorDirectives) {
  EXPECT_EQ(ask("timeout.example.org", RrType::kTxt).status, Status::kTimeout);
  EXPECT_EQ(ask("servfail.example.org", RrType::kTxt).status, Status::kServFail);
  EXPECT_EQ(ask("gone.example.org", RrType::kA).status, Status::kNxDomain);
  EXPECT_EQ(ask("refused.example.org", RrType::kMx).status, Status::kError);
  EXPECT_TRUE(ask("timeout.example.org", RrType::kTxt).is_temporary_failure());
  // Only the named type fails.
  EXPECT_EQ(ask("timeout.example.org", RrType::kA).status, Status::kNoData);
}

TEST_F(ZoneResolverTest, QueryCounts) {
  ask("example.org", RrType::kTxt);
  ask("Example.Org", RrType::kTxt);
  ask("example.org", RrType::kMx);
  EXPECT_EQ(zone_.query_count("example.org", RrType::kTxt), 2u);
  EXPECT_EQ(zone_.query_count("example.org", RrType::kMx), 1u);
  EXPECT_EQ(zone_.query_count("example.org", RrType::kA), 0u);
  EXPECT_EQ(zone_.query_count(), 3u);
}

TEST_F(ZoneResolverTest, AuthenticatedFlag) {
  EXPECT_FALSE(ask("example.org", RrType::kTxt).authenticated);
  zone_.set_authenticated(true);
  EXPECT_TRUE(ask("example.org", RrType::kTxt).authenticated);
}

TEST(ZoneResolverApi, AddInCode) {
  ZoneResolver zone;
  zone.add("a.test", RrType::kA, "198.51.100.1", 0, 30);
  zone.add_txt("a.test", {"one", "two"});
  zone.add("a.test", RrType::kPtr, "Host.Test.");
  zone.set_error("b.test", RrType::kTxt, Status::kServFail);
  EXPECT_EQ(zone.answer("a.test", RrType::kA).ttl, 30u);
  EXPECT_EQ(zone.answer("a.test", RrType::kTxt).records[0].data, "onetwo");
  EXPECT_EQ(zone.answer("a.test", RrType::kPtr).records[0].data, "host.test");
  EXPECT_EQ(zone.answer("b.test", RrType::kTxt).status, Status::kServFail);
  EXPECT_THROW(zone.add("x.test", RrType::kA, "300.1.1.1"), std::invalid_argument);
  EXPECT_THROW(zone.add("x.test", RrType::kAaaa, "192.0.2.1"), std::invalid_argument);
}

std::string load_error(std::string_view text) {
  ZoneResolver zone;
  try {
    zone.load(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ZoneResolverLoad, ErrorsCarryLineNumbers) {
  EXPECT_EQ(load_error("a.test A 192.0.2.1\n\na.test BOGUS x\n").rfind("line 3:", 0), 0u);
  EXPECT_EQ(load_error("a.test A\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error("# c\na.test A 999.0.0.1\n").rfind("line 2:", 0), 0u);
  EXPECT_EQ(load_error("a.test TXT \"unterminated\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error("a.test MX 10\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error("a.test MX ten mx.test\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error("a.test MX 65536 mx.test\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error(";ERROR,a.test,TXT\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error(";ERROR,a.test,TXT,MAYBE\n").rfind("line 1:", 0), 0u);
  EXPECT_EQ(load_error(";ERROR,a.test,BOGUS,TIMEOUT\n").rfind("line 1:", 0), 0u);
}

TEST(ZoneResolverLoad, NumericLimits) {
  ZoneResolver zone;
  zone.load("a.test 4294967295 A 192.0.2.1\nb.test MX 65535 mx.test\n");
  EXPECT_EQ(zone.answer("a.test", RrType::kA).ttl, 4294967295u);
  EXPECT_EQ(zone.answer("b.test", RrType::kMx).records[0].preference, 65535);
  // One past a 32-bit TTL: the digits are the TTL field, so this must not wrap to 0.
  EXPECT_EQ(load_error("a.test 4294967296 A 192.0.2.1\n").rfind("line 1:", 0), 0u);
}

TEST(ZoneResolverLoad, CrlfLinesAndQuotedEscapes) {
  ZoneResolver zone;
  zone.load("a.test TXT \"say \\\"hi\\\"\" \"back\\\\slash\"\r\n;ERROR,b.test,A,TIMEOUT\r\n");
  Answer a = zone.answer("a.test", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.records[0].strings, (std::vector<std::string>{"say \"hi\"", "back\\slash"}));
  EXPECT_EQ(zone.answer("b.test", RrType::kA).status, Status::kTimeout);
}

TEST(ZoneResolverLoad, EmptyAndCommentOnlyZones) {
  ZoneResolver zone;
  zone.load("");
  zone.load("\n\n# nothing\n   ; nothing either\n");
  EXPECT_EQ(zone.answer("a.test", RrType::kA).status, Status::kNxDomain);
}

TEST(ResolverHelpers, NormalizeName) {
  EXPECT_EQ(normalize_name("ExAmple.ORG..."), "example.org");
  EXPECT_EQ(normalize_name(""), "");
  EXPECT_EQ(normalize_name("\xC3\x89.org"), "\xC3\x89.org");  // 8-bit left alone
}

TEST(ResolverHelpers, AwaitHonoursDeadlineAndCancel) {
  AnswerPromise never;
  PendingAnswer pending = never.get_future();
  const auto started = Clock::now();
  Answer late = Resolver::await(pending, started + std::chrono::milliseconds(30));
  EXPECT_EQ(late.status, Status::kTimeout);
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(30));

  work::CancelToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    cancel.cancel();  // wakes the wait below at once: it is not polled
  });
  Answer cancelled = Resolver::await(pending, Clock::now() + std::chrono::seconds(10), &cancel);
  canceller.join();
  EXPECT_EQ(cancelled.status, Status::kTimeout);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));

  Answer ready = Resolver::await(ready_answer(Answer::failure(Status::kServFail, "x")),
                                 Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(ready.status, Status::kServFail);  // a ready answer wins over a passed deadline
  EXPECT_EQ(Resolver::await(PendingAnswer{}, soon()).status, Status::kError);
}

}  // namespace
}  // namespace authmilter::dns

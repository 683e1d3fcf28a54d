// ZoneResolver CNAME following (RFC 1034 §3.6.2), as wire::parse_response() does for real
// replies: chains up to kMaxCnameChain, loops are errors, the target's status is the answer's.
#include <gtest/gtest.h>

#include <string>

#include "authmilter/dns/wire.h"
#include "authmilter/dns/zone_resolver.h"

namespace authmilter::dns {
namespace {

class ZoneCnameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    zone_.load(R"(
alias.example.org CNAME Target.Example.NET.
target.example.net 60 A 192.0.2.1
target.example.net TXT "v=spf1 -all"
shortttl.example.org 10 CNAME target.example.net
dangling.example.org CNAME nowhere.example.net
slow.example.org CNAME slow.example.net
;ERROR,slow.example.net,TXT,TIMEOUT
loop1.example.org CNAME loop2.example.org
loop2.example.org CNAME LOOP1.example.org
self.example.org CNAME self.example.org
both.example.org CNAME target.example.net
both.example.org TXT "own text"
*.wild.example.org CNAME target.example.net
)");
  }
  ZoneResolver zone_;
};

TEST_F(ZoneCnameTest, FollowsToTheTargetsRecords) {
  const Answer a = zone_.answer("alias.example.org", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].type, RrType::kA);
  EXPECT_EQ(a.records[0].data, std::string("\xc0\x00\x02\x01", 4));
  const Answer txt = zone_.answer("ALIAS.example.org.", RrType::kTxt);
  ASSERT_EQ(txt.status, Status::kNoError);
  EXPECT_EQ(txt.records.at(0).data, "v=spf1 -all");
  // Only as good as the shortest-lived link.
  EXPECT_EQ(zone_.answer("shortttl.example.org", RrType::kA).ttl, 10u);
  // Through a wildcard CNAME as well.
  EXPECT_EQ(zone_.answer("x.wild.example.org", RrType::kA).status, Status::kNoError);
}

TEST_F(ZoneCnameTest, AskingForTheCnameItselfDoesNotFollow) {
  const Answer a = zone_.answer("alias.example.org", RrType::kCname);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.records.at(0).data, "target.example.net");
}

TEST_F(ZoneCnameTest, TargetStatusIsTheAnswer) {
  EXPECT_EQ(zone_.answer("alias.example.org", RrType::kMx).status, Status::kNoData);
  EXPECT_EQ(zone_.answer("dangling.example.org", RrType::kA).status, Status::kNxDomain);
  EXPECT_EQ(zone_.answer("slow.example.org", RrType::kTxt).status, Status::kTimeout);
  // Records of the asked type at the name itself win (no following needed).
  EXPECT_EQ(zone_.answer("both.example.org", RrType::kTxt).records.at(0).data, "own text");
}

TEST_F(ZoneCnameTest, LoopsAreErrors) {
  EXPECT_EQ(zone_.answer("loop1.example.org", RrType::kA).status, Status::kError);
  EXPECT_EQ(zone_.answer("self.example.org", RrType::kTxt).status, Status::kError);
}

TEST_F(ZoneCnameTest, ChainAtTheLimitAndOnePast) {
  static_assert(ZoneResolver::kMaxCnameChain == wire::kMaxCnameChain);
  ZoneResolver zone;
  // c0 -> c1 -> ... -> c<links>, which has the TXT record.
  auto chain = [&zone](const std::string& prefix, std::size_t links) {
    for (std::size_t i = 0; i < links; ++i) {
      zone.add(prefix + std::to_string(i) + ".example.org", RrType::kCname,
               prefix + std::to_string(i + 1) + ".example.org");
    }
    zone.add(prefix + std::to_string(links) + ".example.org", RrType::kTxt, "end");
  };
  chain("at", ZoneResolver::kMaxCnameChain);
  chain("past", ZoneResolver::kMaxCnameChain + 1);
  const Answer at = zone.answer("at0.example.org", RrType::kTxt);
  ASSERT_EQ(at.status, Status::kNoError) << at.detail;
  EXPECT_EQ(at.records.at(0).data, "end");
  EXPECT_EQ(zone.answer("past0.example.org", RrType::kTxt).status, Status::kError);
}

}  // namespace
}  // namespace authmilter::dns

// Tests for iprev::evaluate() (RFC 8601 §3 reverse-then-forward DNS) on a ZoneResolver: each
// result token, the PTR-name limit and the reverse names.
#include <gtest/gtest.h>

#include <string>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/iprev/iprev.h"

namespace authmilter::iprev {
namespace {

using dns::RrType;
using dns::Status;

dns::Deadline soon() { return dns::Clock::now() + std::chrono::seconds(5); }

class IprevTest : public ::testing::Test {
 protected:
  IprevResult judge(std::string_view ip) { return evaluate(ip, zone_, soon()); }
  dns::ZoneResolver zone_;
};

TEST(IprevReverseName, Ipv4Ipv6AndMapped) {
  EXPECT_EQ(reverse_name("192.0.2.10"), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_name("::ffff:192.0.2.10"), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name("192.0.2"), std::nullopt);
  EXPECT_EQ(reverse_name(""), std::nullopt);
  EXPECT_EQ(reverse_name("[192.0.2.10]"), std::nullopt);
}

TEST_F(IprevTest, PassWhenTheNameResolvesBack) {
  zone_.load(R"(
10.2.0.192.in-addr.arpa PTR mail.example.org
mail.example.org A 192.0.2.99
mail.example.org A 192.0.2.10
)");
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.ptr_name, "mail.example.org");
  EXPECT_EQ(r.ip, "192.0.2.10");
  EXPECT_EQ(r.ptr_names, 1u);
  EXPECT_EQ(r.comment, "mail.example.org");
  EXPECT_EQ(to_token(r.result), "pass");
}

TEST_F(IprevTest, PassOnIpv6WithAaaa) {
  zone_.add(*reverse_name("2001:db8::25"), RrType::kPtr, "mx6.example.org");
  zone_.add("mx6.example.org", RrType::kA, "192.0.2.25");  // the wrong family is not asked
  zone_.add("mx6.example.org", RrType::kAaaa, "2001:db8::25");
  const IprevResult r = judge("2001:db8::25");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(zone_.query_count("mx6.example.org", RrType::kA), 0u);
  EXPECT_EQ(zone_.query_count("mx6.example.org", RrType::kAaaa), 1u);
}

TEST_F(IprevTest, MappedAddressIsJudgedAsIpv4) {
  zone_.add("10.2.0.192.in-addr.arpa", RrType::kPtr, "mail.example.org");
  zone_.add("mail.example.org", RrType::kA, "192.0.2.10");
  EXPECT_EQ(judge("::ffff:192.0.2.10").result, Result::kPass);
}

TEST_F(IprevTest, PassOnTheSecondNameEvenWhenTheFirstFailsTemporarily) {
  zone_.load(R"(
10.2.0.192.in-addr.arpa PTR slow.example.org
10.2.0.192.in-addr.arpa PTR good.example.org
;ERROR,slow.example.org,A,SERVFAIL
good.example.org A 192.0.2.10
)");
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.ptr_name, "good.example.org");
  EXPECT_EQ(r.ptr_names, 2u);
}

TEST_F(IprevTest, FailWhenNoNameResolvesBack) {
  zone_.load(R"(
10.2.0.192.in-addr.arpa PTR other.example.org
10.2.0.192.in-addr.arpa PTR gone.example.org
other.example.org A 192.0.2.11
;ERROR,gone.example.org,A,NXDOMAIN
)");
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.ptr_name, "other.example.org");
  EXPECT_EQ(r.comment, "other.example.org and 1 more does not resolve to 192.0.2.10");
}

TEST_F(IprevTest, FailWhenTheNameHasNoAddressOfThatFamily) {
  zone_.add("10.2.0.192.in-addr.arpa", RrType::kPtr, "v6only.example.org");
  zone_.add("v6only.example.org", RrType::kAaaa, "2001:db8::10");
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.comment, "v6only.example.org does not resolve to 192.0.2.10");
}

TEST_F(IprevTest, PermErrorWithoutPtr) {
  EXPECT_EQ(judge("192.0.2.10").result, Result::kPermError);  // NXDOMAIN
  zone_.add("10.2.0.192.in-addr.arpa", RrType::kTxt, "not a PTR");
  const IprevResult r = judge("192.0.2.10");  // NODATA
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.comment, "no PTR record for 192.0.2.10");
  EXPECT_TRUE(r.ptr_name.empty());
}

TEST_F(IprevTest, PermErrorForSomethingThatIsNotAnAddress) {
  const IprevResult r = judge("unknown");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.comment, "client address unknown");
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(IprevTest, TempErrorWhenThePtrLookupFails) {
  zone_.set_error("10.2.0.192.in-addr.arpa", RrType::kPtr, Status::kServFail);
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("SERVFAIL"), std::string::npos) << r.comment;
  EXPECT_NE(r.comment.find("10.2.0.192.in-addr.arpa"), std::string::npos) << r.comment;
}

TEST_F(IprevTest, TempErrorWhenNoMatchAndAForwardLookupTimedOut) {
  zone_.load(R"(
10.2.0.192.in-addr.arpa PTR other.example.org
10.2.0.192.in-addr.arpa PTR slow.example.org
other.example.org A 192.0.2.11
;ERROR,slow.example.org,A,TIMEOUT
)");
  const IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("slow.example.org"), std::string::npos) << r.comment;
}

TEST_F(IprevTest, TempErrorPastTheDeadline) {
  zone_.add("10.2.0.192.in-addr.arpa", RrType::kPtr, "mail.example.org");
  zone_.add("mail.example.org", RrType::kA, "192.0.2.10");
  work::CancelToken cancelled;
  cancelled.cancel();
  EXPECT_EQ(evaluate("192.0.2.10", zone_, soon(), &cancelled).result, Result::kTempError);
  EXPECT_EQ(evaluate("192.0.2.10", zone_, dns::Clock::now()).result, Result::kTempError);
  EXPECT_EQ(zone_.query_count(), 0u);
  EXPECT_EQ(judge("192.0.2.10").result, Result::kPass);
}

// At the limit: the 10th name is followed; past it: the 11th is not looked up at all.
TEST_F(IprevTest, AtMostTenPtrNamesAreFollowed) {
  for (int i = 1; i <= 12; ++i) {
    zone_.add("10.2.0.192.in-addr.arpa", RrType::kPtr, "n" + std::to_string(i) + ".example.org");
    zone_.add("n" + std::to_string(i) + ".example.org", RrType::kA, "192.0.2.200");
  }
  zone_.add("n10.example.org", RrType::kA, "192.0.2.10");
  IprevResult r = judge("192.0.2.10");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.ptr_name, "n10.example.org");
  EXPECT_EQ(r.ptr_names, kMaxPtrNames);

  dns::ZoneResolver past;
  for (int i = 1; i <= 11; ++i) {
    past.add("10.2.0.192.in-addr.arpa", RrType::kPtr, "n" + std::to_string(i) + ".example.org");
  }
  past.add("n11.example.org", RrType::kA, "192.0.2.10");
  r = evaluate("192.0.2.10", past, soon());
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.ptr_names, kMaxPtrNames);
  EXPECT_EQ(past.query_count("n11.example.org", RrType::kA), 0u);
  EXPECT_EQ(past.query_count("n10.example.org", RrType::kA), 1u);
}

}  // namespace
}  // namespace authmilter::iprev

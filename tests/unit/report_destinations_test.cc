// resolve_destinations(): RFC 9990 §4 external destination verification through the Resolver
// (a ZoneResolver here), the destination limit, non-mailto URIs, DNS trouble.
#include <gtest/gtest.h>

#include "authmilter/dmarc/org_domain.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/report/delivery.h"

namespace authmilter::report {
namespace {

const std::string kPsl =
    std::string(AUTHMILTER_TEST_DATA_DIR) + "/dmarc-mail-dmarc/public_suffix_list.v1.20250805";

class Destinations : public ::testing::Test {
 protected:
  void SetUp() override {
    org_ = dmarc::OrgDomainFinder::load(kPsl);
    ASSERT_TRUE(org_);
  }
  report::Destinations resolve(std::string_view domain, const std::vector<std::string>& rua) {
    return resolve_destinations(domain, rua, zone_, *org_,
                                dns::Clock::now() + std::chrono::seconds(5));
  }
  dns::ZoneResolver zone_;
  std::unique_ptr<dmarc::OrgDomainFinder> org_;
};

TEST_F(Destinations, SameOrganizationNeedsNoVerification) {
  const auto d =
      resolve("mail.example.com", {"mailto:dmarc@example.com", "mailto:x@sub.example.com"});
  ASSERT_EQ(d.send_to.size(), 2u);
  EXPECT_EQ(d.send_to[0].address, "dmarc@example.com");
  EXPECT_TRUE(d.refused.empty());
}

TEST_F(Destinations, AnExternalDestinationMustConfirm) {
  auto d = resolve("example.com", {"mailto:rua@reports.example.net"});
  EXPECT_TRUE(d.send_to.empty());
  ASSERT_EQ(d.refused.size(), 1u);
  EXPECT_NE(d.refused[0].find("not authorized"), std::string::npos) << d.refused[0];

  zone_.add_txt("example.com._report._dmarc.reports.example.net", {"v=DMARC1"});
  d = resolve("example.com", {"mailto:rua@reports.example.net"});
  ASSERT_EQ(d.send_to.size(), 1u);
  EXPECT_EQ(d.send_to[0].address, "rua@reports.example.net");
}

TEST_F(Destinations, AWildcardConfirmsForEveryDomain) {
  zone_.add_txt("*._report._dmarc.reports.example.net", {"v=DMARC1;"});
  const auto d = resolve("example.com", {"mailto:rua@reports.example.net"});
  EXPECT_EQ(d.send_to.size(), 1u);
}

TEST_F(Destinations, TheConfirmingRecordMayRedirectOnTheSameHostOnly) {
  zone_.add_txt("example.com._report._dmarc.reports.example.net",
                {"v=DMARC1; rua=mailto:other@reports.example.net"});
  auto d = resolve("example.com", {"mailto:rua@reports.example.net"});
  ASSERT_EQ(d.send_to.size(), 1u);
  EXPECT_EQ(d.send_to[0].address, "other@reports.example.net");

  zone_.add_txt("example.org._report._dmarc.reports.example.net",
                {"v=DMARC1; rua=mailto:victim@elsewhere.example"});
  d = resolve("example.org", {"mailto:rua@reports.example.net"});
  EXPECT_TRUE(d.send_to.empty());  // neither the original nor the override
  ASSERT_EQ(d.refused.size(), 1u);
}

TEST_F(Destinations, ARecordNotStartingWithVersionDoesNotConfirm) {
  zone_.add_txt("example.com._report._dmarc.reports.example.net", {"p=none; v=DMARC1"});
  EXPECT_TRUE(resolve("example.com", {"mailto:rua@reports.example.net"}).send_to.empty());
}

TEST_F(Destinations, ATemporaryDnsFailureDefers) {
  zone_.set_error("example.com._report._dmarc.reports.example.net", dns::RrType::kTxt,
                  dns::Status::kServFail);
  const auto d = resolve("example.com", {"mailto:rua@reports.example.net"});
  EXPECT_TRUE(d.send_to.empty());
  EXPECT_EQ(d.deferred.size(), 1u);
}

TEST_F(Destinations, FiftyUrisGiveTheFirstTen) {
  std::vector<std::string> rua;
  for (int i = 0; i < 50; ++i) rua.push_back("mailto:r" + std::to_string(i) + "@example.com");
  const auto d = resolve("example.com", rua);
  ASSERT_EQ(d.send_to.size(), kMaxDestinations);
  EXPECT_EQ(d.send_to.front().address, "r0@example.com");
  EXPECT_EQ(d.refused.size(), 50 - kMaxDestinations);
}

TEST_F(Destinations, OnlyMailtoAndDuplicatesOnce) {
  const auto d = resolve("example.com", {"https://example.com/dmarc", "mailto:a@example.com",
                                         "mailto:a@example.com", "MAILTO:a@EXAMPLE.com!50m"});
  ASSERT_EQ(d.send_to.size(), 1u);
  ASSERT_EQ(d.refused.size(), 1u);
  EXPECT_NE(d.refused[0].find("https://example.com/dmarc"), std::string::npos);
}

TEST_F(Destinations, AVerificationNameOverTheLimitIsRefused) {
  const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                              std::string(63, 'c') + "." + std::string(53, 'd') + ".example";
  ASSERT_EQ(longest.size(), 253u);
  const auto d = resolve(longest, {"mailto:rua@reports.example.net"});
  EXPECT_TRUE(d.send_to.empty());
  ASSERT_EQ(d.refused.size(), 1u);
  EXPECT_NE(d.refused[0].find("too long"), std::string::npos);
}

}  // namespace
}  // namespace authmilter::report

// OrgDomainFinder on libpsl: the pinned PSL (deterministic), the system's list, a mock list
// with wildcard and exception rules, the implicit "*" rule, load failures.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <string>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/org_domain.h"

namespace authmilter::dmarc {
namespace {

const std::string kPinnedPsl =
    std::string(AUTHMILTER_TEST_DATA_DIR) + "/dmarc-mail-dmarc/public_suffix_list.v1.20250805";

// A PSL file written for one test, removed afterwards.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/dmarc_psl_XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp");
    close(fd);
    path_ = name;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(OrgDomain, PinnedList) {
  std::string error;
  const auto psl = OrgDomainFinder::load(kPinnedPsl, &error);
  ASSERT_NE(psl, nullptr) << error;
  EXPECT_GT(psl->rule_count(), 9000);
  struct Case {
    const char* domain;
    const char* org;
  };
  const Case cases[] = {
      {"example.com", "example.com"},
      {"a.b.c.example.com", "example.com"},
      {"a.b.example.co.uk", "example.co.uk"},  // multi-label suffix
      {"example.co.uk", "example.co.uk"},
      {"sub.example.zz", "example.zz"},  // unlisted TLD: implicit "*" rule
      {"a.b.example.zz", "example.zz"},
      {"Sub.Example.COM.", "example.com"},           // normalized first
      {"x.y.city.kawasaki.jp", "city.kawasaki.jp"},  // exception rule !city.kawasaki.jp
      {"a.b.c.kawasaki.jp", "b.c.kawasaki.jp"},      // wildcard rule *.kawasaki.jp
      {"com", "com"},                                // a public suffix is its own
      {"co.uk", "co.uk"},
      {"zz", "zz"},
      {"b\xc3\xbc"
       "cher.example",
       "xn--bcher-kva.example"},
      {"", ""},
      {"a..b.com", ""},
      {"[192.0.2.1]", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(psl->organizational_domain(c.domain), c.org) << c.domain;
  }
  EXPECT_TRUE(psl->is_public_suffix("co.uk"));
  EXPECT_TRUE(psl->is_public_suffix("zz"));
  EXPECT_FALSE(psl->is_public_suffix("example.co.uk"));
  EXPECT_FALSE(psl->is_public_suffix("bad..name"));
}

TEST(OrgDomain, SystemListLoadsAndAgreesOnStableNames) {
  if (access(kDefaultPublicSuffixList, R_OK) != 0) GTEST_SKIP() << "publicsuffix not installed";
  const auto psl = OrgDomainFinder::load(kDefaultPublicSuffixList);
  ASSERT_NE(psl, nullptr);
  EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("sub.example.zz"), "example.zz");
  EXPECT_EQ(psl->organizational_domain("mail.example.com"), "example.com");
}

TEST(OrgDomain, WildcardAndExceptionRulesOfAMockList) {
  // The mock list of Mail::DMARC's t/30.Validate.t (org_domain_cases.tsv).
  const TempFile file("// mock\nck\n*.ck\n!www.ck\n");
  const auto psl = OrgDomainFinder::load(file.path());
  ASSERT_NE(psl, nullptr);
  EXPECT_EQ(psl->organizational_domain("bar.foo.ck"), "bar.foo.ck");
  EXPECT_EQ(psl->organizational_domain("baz.bar.foo.ck"), "bar.foo.ck");
  EXPECT_EQ(psl->organizational_domain("bar.www.ck"), "www.ck");
  EXPECT_EQ(psl->organizational_domain("www.ck"), "www.ck");
  EXPECT_EQ(psl->organizational_domain("foo.ck"), "foo.ck");  // a public suffix (wildcard)
  // Names outside the list fall to "*".
  EXPECT_EQ(psl->organizational_domain("a.b.example.com"), "example.com");
}

TEST(OrgDomain, LoadFailures) {
  std::string error;
  EXPECT_EQ(OrgDomainFinder::load("/nonexistent/psl.dat", &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/psl.dat"), std::string::npos) << error;
  error.clear();
  EXPECT_EQ(OrgDomainFinder::load("", &error), nullptr);
  EXPECT_FALSE(error.empty());
  const TempFile empty("// nothing but comments\n\n");
  error.clear();
  EXPECT_EQ(OrgDomainFinder::load(empty.path(), &error), nullptr);
  EXPECT_NE(error.find("no public suffix rules"), std::string::npos) << error;
  EXPECT_EQ(OrgDomainFinder::load(empty.path()), nullptr);  // no error pointer: no crash
}

TEST(Alignment, RelaxedAndStrict) {
  const auto psl = OrgDomainFinder::load(kPinnedPsl);
  ASSERT_NE(psl, nullptr);
  EXPECT_TRUE(aligned("example.com", "EXAMPLE.com.", Alignment::kStrict, *psl));
  EXPECT_FALSE(aligned("mail.example.com", "example.com", Alignment::kStrict, *psl));
  EXPECT_FALSE(aligned("example.com", "mail.example.com", Alignment::kStrict, *psl));
  EXPECT_TRUE(aligned("mail.example.com", "example.com", Alignment::kRelaxed, *psl));
  EXPECT_TRUE(aligned("a.example.com", "b.example.com", Alignment::kRelaxed, *psl));
  EXPECT_FALSE(aligned("example.com", "com", Alignment::kRelaxed, *psl));
  EXPECT_FALSE(aligned("a.example.co.uk", "b.other.co.uk", Alignment::kRelaxed, *psl));
  EXPECT_FALSE(aligned("example.co.uk", "co.uk", Alignment::kRelaxed, *psl));
  EXPECT_TRUE(aligned("x.example.zz", "y.example.zz", Alignment::kRelaxed, *psl));
  EXPECT_FALSE(aligned("example.zz", "other.zz", Alignment::kRelaxed, *psl));
  EXPECT_FALSE(aligned("", "", Alignment::kStrict, *psl));
  EXPECT_FALSE(aligned("a..b", "a..b", Alignment::kRelaxed, *psl));
}

}  // namespace
}  // namespace authmilter::dmarc

// Tests for util/domain_name.h: RFC 1035 §2.3.4 limits at the limit and one past it.
#include "authmilter/util/domain_name.h"

#include <string>

#include <gtest/gtest.h>

namespace authmilter::util {
namespace {

// A name of exactly `length` octets: 63-octet labels, then a shorter last one.
std::string name_of_length(std::size_t length) {
  std::string name;
  while (name.size() + kMaxLabelLength + 1 < length)
    name += std::string(kMaxLabelLength, 'a') + ".";
  name += std::string(length - name.size(), 'b');
  return name;
}

TEST(DomainNameLimits, Values) {
  EXPECT_EQ(kMaxDomainNameLength, 253u);  // 255 on the wire: length octets and the root
  EXPECT_EQ(kMaxLabelLength, 63u);
}

TEST(DomainNameLimits, NameLengthAtTheLimitAndOnePast) {
  const std::string at_limit = name_of_length(kMaxDomainNameLength);
  ASSERT_EQ(at_limit.size(), kMaxDomainNameLength);
  EXPECT_TRUE(fits_domain_name_limits(at_limit));
  const std::string past = name_of_length(kMaxDomainNameLength + 1);
  ASSERT_EQ(past.size(), kMaxDomainNameLength + 1);
  EXPECT_FALSE(fits_domain_name_limits(past));
}

TEST(DomainNameLimits, LabelLengthAtTheLimitAndOnePast) {
  EXPECT_TRUE(fits_domain_name_limits(std::string(kMaxLabelLength, 'x')));
  EXPECT_TRUE(fits_domain_name_limits(std::string(kMaxLabelLength, 'x') + ".org"));
  EXPECT_TRUE(fits_domain_name_limits("a." + std::string(kMaxLabelLength, 'x') + ".org"));
  EXPECT_FALSE(fits_domain_name_limits(std::string(kMaxLabelLength + 1, 'x')));
  EXPECT_FALSE(fits_domain_name_limits(std::string(kMaxLabelLength + 1, 'x') + ".org"));
  EXPECT_FALSE(fits_domain_name_limits("a." + std::string(kMaxLabelLength + 1, 'x')));
}

TEST(DomainNameLimits, EmptyNameAndEmptyLabels) {
  EXPECT_FALSE(fits_domain_name_limits(""));
  EXPECT_FALSE(fits_domain_name_limits("."));
  EXPECT_FALSE(fits_domain_name_limits(".example.org"));
  EXPECT_FALSE(fits_domain_name_limits("example..org"));
  EXPECT_FALSE(fits_domain_name_limits("example.org."));  // callers strip the root dot first
  EXPECT_TRUE(fits_domain_name_limits("a"));
  // Characters are the caller's business.
  EXPECT_TRUE(fits_domain_name_limits("_dmarc.ex ample.org"));
}

}  // namespace
}  // namespace authmilter::util

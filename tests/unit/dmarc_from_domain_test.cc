// RFC5322.From domain extraction (RFC 7489 §6.6.1) and domain normalization (domain.h).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/domain.h"

namespace authmilter::dmarc {
namespace {

FromDomain one(std::string_view value) {
  const std::string_view values[] = {value};
  return from_domain(values);
}

TEST(FromDomain, OneMailbox) {
  for (const char* value : {"user@example.com", "<user@example.com>", "Joe <user@Example.COM>",
                            "\"Doe, Joe\" <user@example.com>", "(comment) user@example.com (more)",
                            " Joe\r\n <user@example.com.>", "\"quoted local\"@example.com"}) {
    const FromDomain f = one(value);
    EXPECT_TRUE(f.ok) << value << ": " << f.error;
    EXPECT_EQ(f.domain, "example.com") << value;
    EXPECT_EQ(f.problem, FromProblem::kNone);
    EXPECT_FALSE(f.multiple());
  }
}

TEST(FromDomain, SeveralMailboxesInOneDomain) {
  const FromDomain f = one("a@example.com, B <b@EXAMPLE.com>, c@example.com.");
  EXPECT_TRUE(f.ok) << f.error;
  EXPECT_EQ(f.domain, "example.com");
}

TEST(FromDomain, MailboxesInDifferentDomains) {
  const FromDomain f = one("a@example.com, b@example.org");
  EXPECT_FALSE(f.ok);
  EXPECT_EQ(f.problem, FromProblem::kMultipleDomains);
  EXPECT_TRUE(f.multiple());
  EXPECT_EQ(f.error, "From: addresses in different domains (example.com, example.org)");
  // Subdomains are different domains too (each would need its own DMARC evaluation).
  EXPECT_EQ(one("a@example.com, b@sub.example.com").problem, FromProblem::kMultipleDomains);
}

TEST(FromDomain, FieldCount) {
  EXPECT_EQ(from_domain(std::span<const std::string_view>()).problem, FromProblem::kNoField);
  const std::string_view two[] = {"a@example.com", "a@example.com"};
  const FromDomain f = from_domain(two);
  EXPECT_FALSE(f.ok);
  EXPECT_EQ(f.problem, FromProblem::kMultipleFields);
  EXPECT_TRUE(f.multiple());
}

TEST(FromDomain, NoDomain) {
  for (const char* value :
       {"undisclosed-recipients:;", "user@[192.0.2.1]", "Joe <user@[IPv6:2001:db8::1]>"}) {
    const FromDomain f = one(value);
    EXPECT_FALSE(f.ok) << value;
    EXPECT_EQ(f.problem, FromProblem::kNoDomain) << value << ": " << f.error;
    EXPECT_FALSE(f.multiple());
  }
  // Text without an address: the parser may call it unparsable or empty; either way no domain.
  for (const char* value : {"\"Test 1.1.5\"", "user", "Joe <user>", "", "   "}) {
    const FromDomain f = one(value);
    EXPECT_FALSE(f.ok) << value;
    EXPECT_TRUE(f.problem == FromProblem::kNoDomain || f.problem == FromProblem::kUnparsable)
        << value << ": " << to_string(f.problem);
  }
}

TEST(FromDomain, BadDomains) {
  for (const char* value : {"user@exa mple.com", "user@example..com", "user@-\x01.com",
                            "user@\xff\xfe.example", "user@example.com\xc3"}) {
    const FromDomain f = one(value);
    EXPECT_FALSE(f.ok) << value;
    EXPECT_TRUE(f.problem == FromProblem::kBadDomain || f.problem == FromProblem::kUnparsable)
        << value << ": " << to_string(f.problem);
  }
}

TEST(FromDomain, InternationalizedDomainBecomesALabel) {
  const FromDomain f =
      one("J\xc3\xbcrgen <j@B\xc3\xbc"
          "cher.example>");
  ASSERT_TRUE(f.ok) << f.error;
  EXPECT_EQ(f.domain, "xn--bcher-kva.example");
}

TEST(FromDomain, HostileValuesNeverCrash) {
  const std::vector<std::string> hostile = {std::string("a@example.com\0b@evil.example", 28),
                                            std::string(1 << 20, '('),
                                            std::string(1 << 20, '"'),
                                            std::string(100000, 'a') + "@example.com",
                                            "a@" + std::string(100000, 'b') + ".com",
                                            std::string(500, '<') + "a@example.com",
                                            "=?utf-8?q?J=C3=BCrgen?= <a@example.com>"};
  for (const std::string& value : hostile) {
    const FromDomain f = one(value);
    if (f.ok) {
      EXPECT_EQ(f.domain, "example.com");
    }
  }
}

TEST(FromDomain, HeaderFields) {
  std::vector<mail::HeaderField> headers = {
      {"Received", "from x by y"}, {"FROM", "a@example.com"}, {"Subject", "a@evil.example"}};
  FromDomain f = from_domain_in(headers);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.domain, "example.com");
  headers.push_back({"from", " a@example.com"});
  EXPECT_EQ(from_domain_in(headers).problem, FromProblem::kMultipleFields);
  EXPECT_EQ(from_domain_in({}).problem, FromProblem::kNoField);
  EXPECT_TRUE(is_from_field("From"));
  EXPECT_TRUE(is_from_field("fROM"));
  EXPECT_FALSE(is_from_field("From "));
  EXPECT_FALSE(is_from_field("Resent-From"));
  EXPECT_FALSE(is_from_field("Sender"));
}

TEST(FromProblemNames, AreDistinct) {
  const FromProblem all[] = {FromProblem::kNone,           FromProblem::kNoField,
                             FromProblem::kMultipleFields, FromProblem::kMultipleDomains,
                             FromProblem::kUnparsable,     FromProblem::kNoDomain,
                             FromProblem::kBadDomain};
  for (FromProblem a : all) {
    for (FromProblem b : all) {
      if (a != b) {
        EXPECT_NE(to_string(a), to_string(b));
      }
    }
  }
}

TEST(NormalizeDomain, LowerCaseNoTrailingDot) {
  EXPECT_EQ(normalize_domain("Example.COM."), "example.com");
  EXPECT_EQ(normalize_domain("_dmarc.example.com"), "_dmarc.example.com");
  EXPECT_EQ(normalize_domain("localhost"), "localhost");
  EXPECT_EQ(normalize_domain("a-b.example"), "a-b.example");
}

TEST(NormalizeDomain, Refused) {
  for (const std::string& d :
       {std::string(), std::string("."), std::string(".."), std::string("example.com.."),
        std::string(".example.com"), std::string("a..b"), std::string("exa mple.com"),
        std::string("example.com\0", 12), std::string("[192.0.2.1]"), std::string("a@b.c"),
        std::string("\xff.example"), std::string("\xc3.example")}) {
    EXPECT_FALSE(normalize_domain(d).has_value()) << d;
  }
}

TEST(NormalizeDomain, ULabelsBecomeALabels) {
  EXPECT_EQ(normalize_domain("b\xc3\xbc"
                             "cher.example"),
            "xn--bcher-kva.example");
  EXPECT_EQ(normalize_domain("B\xc3\x9c"
                             "CHER.example"),
            "xn--bcher-kva.example");
  EXPECT_EQ(normalize_domain("a.b.c.\xd8\xa7\xdb\x8c\xd8\xb1\xd8\xa7\xd9\x86.ir"),
            "a.b.c.xn--mgba3a4f16a.ir");
}

TEST(NormalizeDomain, LengthLimits) {
  // Total length: util::kMaxDomainNameLength octets, not one more.
  std::string d;
  while (d.size() + 64 <= util::kMaxDomainNameLength) d += std::string(63, 'a') + ".";
  d += std::string(util::kMaxDomainNameLength - d.size(), 'b');
  ASSERT_EQ(d.size(), util::kMaxDomainNameLength);
  EXPECT_EQ(normalize_domain(d), d);
  EXPECT_EQ(normalize_domain(d + "."), d);  // the root dot does not count
  EXPECT_FALSE(normalize_domain(d + "b").has_value());
  // Label length: util::kMaxLabelLength octets.
  const std::string label(util::kMaxLabelLength, 'x');
  EXPECT_EQ(normalize_domain(label + ".example"), label + ".example");
  EXPECT_FALSE(normalize_domain(label + "x.example").has_value());
  // A U-label of 63 characters whose A-label form ("xn--" + 62 letters + "-" + code) is not.
  const std::string u = std::string(62, 'a') + "\xc3\xbc";
  EXPECT_FALSE(normalize_domain(u + ".example").has_value());
  EXPECT_EQ(normalize_domain(std::string(50, 'a') + "\xc3\xbc.example")->rfind("xn--", 0), 0u);
  EXPECT_FALSE(normalize_domain(std::string(1 << 20, 'a')).has_value());
}

}  // namespace
}  // namespace authmilter::dmarc

// CIDR parsing and matching: IPv4, IPv6, IPv4-mapped clients, address-literal forms, bad input.
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>

#include "authmilter/config/cidr.h"

namespace authmilter::config {
namespace {

TEST(IpAddressTest, ParsesIpv4AndIpv6) {
  const auto v4 = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->bytes[0], 192);
  EXPECT_EQ(v4->bytes[3], 1);
  EXPECT_EQ(v4->to_string(), "192.0.2.1");

  const auto v6 = IpAddress::parse("2001:DB8::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->to_string(), "2001:db8::1");
}

TEST(IpAddressTest, StripsBracketsAndIpv6Prefix) {
  EXPECT_EQ(IpAddress::parse("[::1]")->to_string(), "::1");
  EXPECT_EQ(IpAddress::parse("[192.0.2.7]")->to_string(), "192.0.2.7");
  EXPECT_EQ(IpAddress::parse("IPv6:2001:db8::5")->to_string(), "2001:db8::5");
  EXPECT_EQ(IpAddress::parse("ipv6:::1")->to_string(), "::1");
  EXPECT_EQ(IpAddress::parse("[IPv6:2001:db8::6]")->to_string(), "2001:db8::6");
  // "IPv6:" promises an IPv6 address.
  EXPECT_FALSE(IpAddress::parse("IPv6:192.0.2.1"));
}

TEST(IpAddressTest, RejectsBadInput) {
  for (const char* bad : {"", "[", "[]", "[::1", "::1]", "1.2.3", "1.2.3.4.5", "256.1.1.1",
                          "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "example.org", "::g", "fe80::1%eth0",
                          "2001:db8::1/64", "IPv6:", "[IPv6:]", "1.2.3.4:25", "\xff\xfe"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
  // An embedded NUL must not cut the text short to something valid.
  EXPECT_FALSE(IpAddress::parse(std::string_view("192.0.2.1\0junk", 14)));
}

TEST(IpAddressTest, LengthLimit) {
  const std::string at = "[IPv6:0000:0000:0000:0000:0000:ffff:255.255.255.255]";
  ASSERT_EQ(at.size(), kMaxAddressText);
  const auto address = IpAddress::parse(at);
  ASSERT_TRUE(address);
  EXPECT_EQ(address->to_string(), "::ffff:255.255.255.255");
  // One more character (a space before the ']') is past the limit.
  std::string past = at;
  past.insert(past.size() - 1, " ");
  EXPECT_FALSE(IpAddress::parse(past));
  EXPECT_FALSE(IpAddress::parse(std::string(100000, '1')));
}

TEST(IpAddressTest, Ipv4Mapped) {
  EXPECT_TRUE(IpAddress::parse("::ffff:192.0.2.1")->is_v4_mapped());
  EXPECT_FALSE(IpAddress::parse("::1")->is_v4_mapped());
  EXPECT_FALSE(IpAddress::parse("192.0.2.1")->is_v4_mapped());
  EXPECT_FALSE(IpAddress::parse("::fffe:192.0.2.1")->is_v4_mapped());
}

struct CidrCase {
  const char* network;
  const char* address;
  bool match;
};

void PrintTo(const CidrCase& c, std::ostream* out) {
  *out << c.network << (c.match ? " contains " : " does not contain ") << c.address;
}

// "<network>__<address>" with every character GoogleTest does not allow in names as '_'.
std::string cidr_case_name(const testing::TestParamInfo<CidrCase>& info) {
  std::string name = std::string(info.param.network) + "__" + info.param.address;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class CidrMatchTest : public testing::TestWithParam<CidrCase> {};

TEST_P(CidrMatchTest, Contains) {
  const auto& c = GetParam();
  const auto cidr = Cidr::parse(c.network);
  ASSERT_TRUE(cidr) << c.network;
  const auto address = IpAddress::parse(c.address);
  ASSERT_TRUE(address) << c.address;
  EXPECT_EQ(cidr->contains(*address), c.match) << c.network << " " << c.address;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CidrMatchTest,
    testing::Values(
        // IPv4
        CidrCase{"192.0.2.0/24", "192.0.2.0", true}, CidrCase{"192.0.2.0/24", "192.0.2.255", true},
        CidrCase{"192.0.2.0/24", "192.0.3.0", false}, CidrCase{"192.0.2.1", "192.0.2.1", true},
        CidrCase{"192.0.2.1", "192.0.2.2", false}, CidrCase{"192.0.2.1/32", "192.0.2.1", true},
        CidrCase{"0.0.0.0/0", "203.0.113.9", true}, CidrCase{"10.0.0.0/8", "10.255.1.1", true},
        CidrCase{"10.0.0.0/8", "11.0.0.0", false}, CidrCase{"192.0.2.128/25", "192.0.2.127", false},
        CidrCase{"192.0.2.128/25", "192.0.2.128", true},
        CidrCase{"192.0.2.0/23", "192.0.3.200", true},  // 192.0.2.0/23 covers .2 and .3
        CidrCase{"172.16.0.0/12", "172.31.255.255", true},
        CidrCase{"172.16.0.0/12", "172.32.0.0", false},
        // host bits under the mask are cleared
        CidrCase{"192.0.2.77/24", "192.0.2.1", true},
        // IPv6
        CidrCase{"2001:db8::/32", "2001:db8:ffff::1", true},
        CidrCase{"2001:db8::/32", "2001:db9::1", false}, CidrCase{"::1", "::1", true},
        CidrCase{"::1/128", "::2", false}, CidrCase{"::/0", "2001:db8::1", true},
        CidrCase{"2001:db8::/33", "2001:db8:7fff::1", true},
        CidrCase{"2001:db8::/33", "2001:db8:8000::1", false},
        CidrCase{"[2001:db8::]/32", "2001:db8::9", true},
        // IPv4-mapped IPv6 clients match IPv4 networks
        CidrCase{"192.0.2.0/24", "::ffff:192.0.2.9", true},
        CidrCase{"192.0.2.0/24", "::ffff:198.51.100.9", false},
        CidrCase{"127.0.0.1", "::ffff:127.0.0.1", true},
        CidrCase{"0.0.0.0/0", "::ffff:203.0.113.9", true},
        // ...but not other IPv6 addresses, even ones that end in the same bytes
        CidrCase{"192.0.2.0/24", "::192.0.2.9", false}, CidrCase{"0.0.0.0/0", "2001:db8::1", false},
        // IPv4 clients match IPv4-mapped IPv6 networks, but not other IPv6 networks
        CidrCase{"::ffff:192.0.2.0/120", "192.0.2.44", true},
        CidrCase{"::ffff:192.0.2.0/120", "192.0.3.44", false},
        CidrCase{"::ffff:0:0/96", "198.51.100.1", true}, CidrCase{"::/0", "192.0.2.1", false},
        CidrCase{"2001:db8::/32", "192.0.2.1", false}),
    cidr_case_name);

TEST(CidrTest, PrefixBounds) {
  EXPECT_TRUE(Cidr::parse("192.0.2.0/0"));
  EXPECT_TRUE(Cidr::parse("192.0.2.0/32"));
  EXPECT_FALSE(Cidr::parse("192.0.2.0/33"));
  EXPECT_TRUE(Cidr::parse("2001:db8::/0"));
  EXPECT_TRUE(Cidr::parse("2001:db8::/128"));
  EXPECT_FALSE(Cidr::parse("2001:db8::/129"));
  EXPECT_EQ(Cidr::parse("192.0.2.1")->prefix, 32u);
  EXPECT_EQ(Cidr::parse("::1")->prefix, 128u);
}

TEST(CidrTest, RejectsBadInput) {
  for (const char* bad :
       {"", "/", "/24", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/+8", "192.0.2.0/ 8",
        "192.0.2.0/8 ", "192.0.2.0/8/8", "192.0.2.0/0x8", "192.0.2.0/99999999999999999999",
        "192.0.2.0/4294967304", "example.org/24", "2001:db8::/1000", "192.0.2/24"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(CidrTest, MasksHostBitsAndPrints) {
  EXPECT_EQ(Cidr::parse("192.0.2.77/24")->to_string(), "192.0.2.0/24");
  EXPECT_EQ(Cidr::parse("192.0.2.255/25")->to_string(), "192.0.2.128/25");
  EXPECT_EQ(Cidr::parse("2001:db8:abcd::1/36")->to_string(), "2001:db8:a000::/36");
  EXPECT_EQ(Cidr::parse("10.1.2.3/0")->to_string(), "0.0.0.0/0");
  EXPECT_EQ(Cidr::parse("::1")->to_string(), "::1/128");
}

TEST(CidrListTest, ParsesCommaAndSpaceSeparated) {
  const auto list = CidrList::parse("127.0.0.1, ::1 192.0.2.0/24,2001:db8::/32\t10.0.0.0/8");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->entries().size(), 5u);
  EXPECT_EQ(list->to_string(), "127.0.0.1/32, ::1/128, 192.0.2.0/24, 2001:db8::/32, 10.0.0.0/8");
  EXPECT_TRUE(list->contains("127.0.0.1"));
  EXPECT_TRUE(list->contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(list->contains("[::1]"));
  EXPECT_TRUE(list->contains("IPv6:2001:db8::25"));
  EXPECT_TRUE(list->contains("10.9.8.7"));
  EXPECT_FALSE(list->contains("127.0.0.2"));
  EXPECT_FALSE(list->contains("198.51.100.1"));
  EXPECT_FALSE(list->contains("not an address"));
  EXPECT_FALSE(list->contains(""));
}

TEST(CidrListTest, EmptyAndBad) {
  const auto empty = CidrList::parse(" , ,");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->contains("127.0.0.1"));

  std::string bad;
  EXPECT_FALSE(CidrList::parse("127.0.0.1, 10.0.0.0/40, ::1", &bad));
  EXPECT_EQ(bad, "10.0.0.0/40");
  EXPECT_FALSE(CidrList::parse("127.0.0.1;::1", &bad));
  EXPECT_EQ(bad, "127.0.0.1;::1");
  EXPECT_FALSE(CidrList::parse("localhost"));  // no host names: they need DNS
}

TEST(CidrListTest, EntryLimit) {
  std::string text;
  for (std::size_t i = 0; i < kMaxCidrListEntries; ++i) {
    text += "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24 ";
  }
  const auto at = CidrList::parse(text);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->entries().size(), kMaxCidrListEntries);
  EXPECT_TRUE(at->contains("10.3.255.9"));
  std::string bad;
  EXPECT_FALSE(CidrList::parse(text + "192.0.2.0/24", &bad));
  EXPECT_EQ(bad, "192.0.2.0/24");
}

}  // namespace
}  // namespace authmilter::config

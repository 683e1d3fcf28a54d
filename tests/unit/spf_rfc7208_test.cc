// RFC 7208 limits and edge cases, one test each, through the Checker over ZoneResolver:
// record size, multiple records, case and whitespace variants, macro edge cases, CIDR length 0
// on a/mx, PTR names with DNS errors and libspf2's mechanism count. The DNS-lookup limits
// (10 terms, 2 void lookups, 10 MX/PTR names), include/redirect loops and exp= have their own
// tests in spf_checker_test.cc; the whole public suite runs in tests/conformance/.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/spf.h"
#include "record_split.h"  // src/spf/: kContinuationSuffix

namespace authmilter::spf {
namespace {

using dns::RrType;

class Rfc7208Test : public ::testing::Test {
 protected:
  CheckResult mail_from(const std::string& ip, const std::string& sender,
                        const std::string& helo = "mail.example.com") {
    return checker_.check(Request{ip, helo, sender, Identity::kMailFrom},
                          dns::Clock::now() + std::chrono::seconds(30));
  }

  // One TXT record of `text`, cut into character-strings of at most 255 octets (RFC 7208 §3.3).
  void add_long_txt(const std::string& name, const std::string& text) {
    std::vector<std::string> strings;
    for (std::size_t i = 0; i < text.size(); i += 255) strings.push_back(text.substr(i, 255));
    zone_.add_txt(name, strings);
  }

  dns::ZoneResolver zone_;
  Checker checker_{zone_, CheckerOptions{"mx.example.net"}};
};

// "v=spf1 ip4:198.51.100.1 ... ip4:198.51.100.<count> ip4:192.0.2.1 -all"
std::string ip4_record(int count) {
  std::string record = "v=spf1";
  for (int i = 1; i <= count; ++i) record += " ip4:198.51.100." + std::to_string(i % 250);
  return record + " ip4:192.0.2.1 -all";
}

TEST_F(Rfc7208Test, RecordsOver512OctetsAreEvaluatedWhole) {
  // RFC 7208 §3.4 only advises keeping records small; a long record (several character-
  // strings, a TCP-sized answer) is one record, read to its end.
  const std::string long_record = ip4_record(40);
  ASSERT_GT(long_record.size(), 512u);
  add_long_txt("long.example.org", long_record);
  EXPECT_EQ(mail_from("192.0.2.1", "a@long.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.2", "a@long.example.org").result, Result::kFail);
  const std::string huge_record = ip4_record(250);  // about 5 KB, near kMaxMechanisms
  ASSERT_GT(huge_record.size(), 4096u);
  add_long_txt("huge.example.org", huge_record);
  EXPECT_EQ(mail_from("192.0.2.1", "a@huge.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.2", "a@huge.example.org").result, Result::kFail);
}

TEST_F(Rfc7208Test, MechanismCountAtTheLimitAndOnePast) {
  // libspf2 keeps the count in an unsigned char: 256 mechanisms would read as none.
  // ip4_record(n) has n + 2 mechanisms.
  add_long_txt("at.example.org", ip4_record(static_cast<int>(kMaxMechanisms) - 2));
  add_long_txt("past.example.org", ip4_record(static_cast<int>(kMaxMechanisms) - 1));
  EXPECT_EQ(mail_from("192.0.2.2", "a@at.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "a@at.example.org").result, Result::kPass);
  const CheckResult past = mail_from("192.0.2.2", "a@past.example.org");
  EXPECT_EQ(past.result, Result::kPermError);
  EXPECT_NE(past.comment.find("more than 255 mechanisms"), std::string::npos) << past.comment;
}

TEST_F(Rfc7208Test, LongRecordsKeepTheirDomainExplanationAndRedirect) {
  // libspf2 compiles only 511 octets of mechanisms per record; the DNS layer splits longer
  // ones. Terms after the cut must still mean the record's own domain, its exp= and its
  // redirect=, and the joins must not count as DNS-querying terms.
  std::string ip4s;
  for (int i = 1; i <= 70; ++i) ip4s += " ip4:198.51.100." + std::to_string(i);
  add_long_txt("long.example.org", "v=spf1" + ip4s + " a -all exp=why.%{d}");
  zone_.add("long.example.org", RrType::kA, "192.0.2.50");
  zone_.add("why.long.example.org", RrType::kTxt, "%{d} does not know %{i}");
  add_long_txt("redir.example.org", "v=spf1" + ip4s + " redirect=other.example.org");
  zone_.add("other.example.org", RrType::kTxt, "v=spf1 ip4:192.0.2.77 -all");
  std::string a_terms;
  for (int i = 1; i <= 10; ++i) {
    const std::string host = "h" + std::to_string(i) + ".example.org";
    a_terms += " a:" + host;
    zone_.add(host, RrType::kA, "198.51.100.200");
  }
  add_long_txt("terms.example.org", "v=spf1" + a_terms + ip4s + " ip4:192.0.2.1 -all");
  add_long_txt("over.example.org", "v=spf1" + a_terms + ip4s + " a -all");

  EXPECT_EQ(mail_from("198.51.100.70", "a@long.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.50", "a@long.example.org").result, Result::kPass);
  const CheckResult fail = mail_from("192.0.2.99", "a@long.example.org");
  EXPECT_EQ(fail.result, Result::kFail);
  EXPECT_EQ(fail.explanation, "long.example.org does not know 192.0.2.99");
  EXPECT_EQ(mail_from("192.0.2.77", "a@redir.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.78", "a@redir.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "a@terms.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.2", "a@over.example.org").result, Result::kPermError);
  // The parts never go to DNS.
  for (int part = 1; part <= 3; ++part) {
    EXPECT_EQ(
        zone_.query_count(std::to_string(part) + std::string(kContinuationSuffix), RrType::kTxt),
        0u);
  }
  // A short record naming a part itself gets nothing from it: a non-existent include.
  zone_.add("sneaky.example.org", RrType::kTxt,
            "v=spf1 include:1" + std::string(kContinuationSuffix) + " -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@sneaky.example.org").result, Result::kPermError);
}

TEST_F(Rfc7208Test, MultipleSpf1RecordsArePermError) {
  zone_.load(R"(
two.example.org TXT "v=spf1 -all"
two.example.org TXT "v=spf1 +all"
cased.example.org TXT "v=spf1 -all"
cased.example.org TXT "V=SPF1 +all"
one.example.org TXT "v=spf1 -all"
one.example.org TXT "v=spf10 +all"
one.example.org TXT "spf2.0/mfrom +all"
inc.example.org TXT "v=spf1 include:two.example.org +all"
)");
  // RFC 7208 §4.5: more than one v=spf1 record (case-insensitive) is permerror ...
  EXPECT_EQ(mail_from("192.0.2.1", "a@two.example.org").result, Result::kPermError);
  EXPECT_EQ(mail_from("192.0.2.1", "a@cased.example.org").result, Result::kPermError);
  // ... other TXT records do not count ...
  EXPECT_EQ(mail_from("192.0.2.1", "a@one.example.org").result, Result::kFail);
  // ... and an include target with two records makes the whole check permerror (§5.2).
  EXPECT_EQ(mail_from("192.0.2.1", "a@inc.example.org").result, Result::kPermError);
}

TEST_F(Rfc7208Test, UpperCaseAndWhitespaceVariants) {
  zone_.load(R"(
upper.example.org TXT "V=SpF1 IP4:192.0.2.1 A:Host.Example.ORG MX:EXAMPLE.org -ALL"
host.example.org A 192.0.2.2
example.org MX 10 MX.Example.Org
mx.example.org A 192.0.2.3
spaces.example.org TXT "v=spf1   ip4:192.0.2.1    -all   "
)");
  // RFC 7208 §4.6.1 / §12: names and mechanisms are case-insensitive ...
  EXPECT_EQ(mail_from("192.0.2.1", "a@upper.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.2", "a@upper.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.3", "a@upper.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.4", "a@upper.example.org").result, Result::kFail);
  // ... terms are separated by one or more SP, trailing SP is allowed (§4.6.1, §4.5) ...
  EXPECT_EQ(mail_from("192.0.2.1", "a@spaces.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.4", "a@spaces.example.org").result, Result::kFail);
  // ... but no other white space: a TAB, CR or LF inside the record is permerror.
  for (const char* separator : {"\t", "\r", "\n", "\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(separator)));
    dns::ZoneResolver zone;
    zone.add("ws.example.org", RrType::kTxt,
             std::string("v=spf1 ip4:192.0.2.1") + separator + "-all");
    Checker checker(zone, CheckerOptions{});
    const CheckResult r = checker.check(Request{"192.0.2.1", "h.example", "a@ws.example.org"},
                                        dns::Clock::now() + std::chrono::seconds(30));
    EXPECT_EQ(r.result, Result::kPermError);
  }
}

TEST_F(Rfc7208Test, MacroIOfIpv6IsDottedNibbles) {
  // RFC 7208 §7.3: %{i} of an IPv6 client is 32 dot-separated nibbles; with "r" reversed, as
  // in ip6.arpa; digits keep the rightmost parts.
  zone_.load(R"(
v6.example.org TXT "v=spf1 exists:%{ir}.%{v}.arpa.example.net -all"
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.example.net A 127.0.0.2
v6b.example.org TXT "v=spf1 exists:%{i4}.x.example.net -all"
0.0.0.1.x.example.net A 127.0.0.2
v6c.example.org TXT "v=spf1 -all exp=e.example.net"
e.example.net TXT "%{i} %{c}"
)");
  EXPECT_EQ(mail_from("2001:db8::1", "a@v6.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::2", "a@v6.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("2001:db8::1", "a@v6b.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::1", "a@v6c.example.org").explanation,
            "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 2001:db8::1");
}

TEST_F(Rfc7208Test, MacroLocalPartWithDelimiters) {
  // RFC 7208 §7.3 delimiters are . - + , / _ =; libspf2 knows neither ',' nor '/', our layer
  // expands those macros itself.
  zone_.load(R"(
dash.example.org TXT "v=spf1 exists:%{l-}.dash.example.net -all"
plus.example.org TXT "v=spf1 exists:%{lr+}.plus.example.net -all"
comma.example.org TXT "v=spf1 exists:%{l2,}.comma.example.net -all"
slash.example.org TXT "v=spf1 exists:%{lr/_}.slash.example.net -all"
a.b.c.dash.example.net A 127.0.0.2
c.b.a.plus.example.net A 127.0.0.2
y.z.comma.example.net A 127.0.0.2
s.r.q.slash.example.net A 127.0.0.2
e.example.org TXT "v=spf1 -all exp=exp.example.org"
exp.example.org TXT "parts %{l1r,/} and %{L,}"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a-b-c@dash.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "a+b+c@plus.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "x,y,z@comma.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "w,x,y@comma.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "q_r/s@slash.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "q.r.s@slash.example.org").result, Result::kFail);
  // In exp= text too; upper-case letters are URL-escaped after splitting (§7.3).
  const CheckResult r = mail_from("192.0.2.1", "first,mid/last@e.example.org");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "parts first and first.mid%2Flast");
}

TEST_F(Rfc7208Test, MacroTransformersAndTruncation) {
  zone_.load(R"(
t.example.org TXT "v=spf1 exists:%{d1}.one.example.net exists:%{d4r}.all.example.net -all"
org.one.example.net A 127.0.0.2
long.example.org TXT "v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.x.example.net -all"
)");
  // %{d1}: the rightmost part; %{d4r} of t.example.org keeps all three parts, reversed.
  EXPECT_EQ(mail_from("192.0.2.1", "a@t.example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count("org.one.example.net", RrType::kA), 1u);
  zone_.load("o.example.org TXT \"v=spf1 exists:%{d4r}.all.example.net -all\"");
  zone_.load("org.example.o.all.example.net A 127.0.0.2");
  EXPECT_EQ(mail_from("192.0.2.1", "a@o.example.org").result, Result::kPass);
  // RFC 7208 §4.8/§7.3: an expansion over 253 octets loses leading labels until it fits.
  const std::string label(60, 'l');
  const std::string expanded =
      label + "." + label + "." + label + "." + label + "." + label + ".x.example.net";
  ASSERT_GT(expanded.size(), 253u);
  const std::string truncated = label + "." + label + "." + label + ".x.example.net";
  ASSERT_LE(truncated.size(), 253u);
  zone_.add(truncated, RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("192.0.2.1", label + "@long.example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count(truncated, RrType::kA), 1u);
}

TEST_F(Rfc7208Test, CidrLengthZeroOnAAndMx) {
  // RFC 7208 §5.3/§5.4: "/0" matches any address of the family, provided the name has one.
  zone_.load(R"(
a4.example.org TXT "v=spf1 a/0 -all"
a4.example.org A 198.51.100.1
a6.example.org TXT "v=spf1 a:host6.example.org//0 -all"
host6.example.org AAAA 2001:db8::99
dual.example.org TXT "v=spf1 -a:none.example.org/0//0 a:both.example.org/0//0 -all"
both.example.org A 198.51.100.1
both.example.org AAAA 2001:db8::99
mix.example.org TXT "v=spf1 a:both.example.org/0//127 -all"
mx0.example.org TXT "v=spf1 mx/0 -all"
mx0.example.org MX 10 mail.mx0.example.org
mail.mx0.example.org A 198.51.100.7
void.example.org TXT "v=spf1 a:n1.example.org/0 a:n2.example.org/0 a:n3.example.org/0 +all"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a@a4.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::1", "a@a4.example.org").result, Result::kFail);  // no AAAA
  EXPECT_EQ(mail_from("2001:db8::1", "a@a6.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "a@a6.example.org").result, Result::kFail);  // ip4 is /32
  EXPECT_EQ(mail_from("192.0.2.1", "a@dual.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::1", "a@dual.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "a@mix.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::98", "a@mix.example.org").result, Result::kPass);  // /127
  EXPECT_EQ(mail_from("2001:db8::1", "a@mix.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "a@mx0.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::1", "a@mx0.example.org").result, Result::kFail);
  // The real names are asked (never the marker) and void lookups still count.
  EXPECT_EQ(zone_.query_count("both.example.org", RrType::kA), 2u);
  const CheckResult voids = mail_from("192.0.2.1", "a@void.example.org");
  EXPECT_EQ(voids.result, Result::kPermError);
  EXPECT_NE(voids.comment.find("void lookups"), std::string::npos) << voids.comment;
}

TEST_F(Rfc7208Test, PtrNameWithDnsErrorIsSkipped) {
  // RFC 7208 §5.5: a DNS error on the address lookup of one PTR name skips that name.
  zone_.load(R"(
p.example.org TXT "v=spf1 ptr -all"
1.2.0.192.in-addr.arpa PTR broken.p.example.org
1.2.0.192.in-addr.arpa PTR good.p.example.org
good.p.example.org A 192.0.2.1
;ERROR,broken.p.example.org,A,SERVFAIL
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a@p.example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count("broken.p.example.org", RrType::kA), 1u);
  // Only the address lookups: a failing PTR lookup itself is still temperror.
  zone_.load(";ERROR,2.2.0.192.in-addr.arpa,PTR,SERVFAIL");
  EXPECT_EQ(mail_from("192.0.2.2", "a@p.example.org").result, Result::kTempError);
}

}  // namespace
}  // namespace authmilter::spf

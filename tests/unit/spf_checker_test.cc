// Checker over ZoneResolver: results, mechanisms, macros, identities, limits, deadlines and
// hostile input. Zones are copied by hand from the RFC 7208 test suite where noted
// (tests/data/spf-openspf/rfc7208-tests.yml; its SPF entries are published as TXT).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/spf.h"

namespace authmilter::spf {
namespace {

using dns::RrType;

dns::Deadline later() { return dns::Clock::now() + std::chrono::seconds(30); }

class CheckerTest : public ::testing::Test {
 protected:
  CheckResult mail_from(const std::string& ip, const std::string& sender,
                        const std::string& helo = "mail.example.com") {
    return checker_.check(Request{ip, helo, sender, Identity::kMailFrom}, later());
  }
  CheckResult helo(const std::string& ip, const std::string& helo_name) {
    return checker_.check(Request{ip, helo_name, "", Identity::kHelo}, later());
  }

  dns::ZoneResolver zone_;
  Checker checker_{zone_, CheckerOptions{"mx.example.net"}};
};

TEST_F(CheckerTest, SevenResultsEachWithItsToken) {
  zone_.load(R"(
pass.example.org TXT "v=spf1 ip4:192.0.2.1 -all"
fail.example.org TXT "v=spf1 -all"
softfail.example.org TXT "v=spf1 ~all"
neutral.example.org TXT "v=spf1 ?all"
falloff.example.org TXT "v=spf1 ip4:198.51.100.0/24"
nospf.example.org TXT "google-site-verification=abc"
timeout.example.org TXT "v=spf1 -all"
;ERROR,timeout.example.org,TXT,TIMEOUT
;ERROR,servfail.example.org,TXT,SERVFAIL
syntax.example.org TXT "v=spf1 ip4:192.0.2.1 frobnicate -all"
two.example.org TXT "v=spf1 -all"
two.example.org TXT "v=spf1 +all"
)");
  struct Case {
    const char* domain;
    Result result;
    const char* token;
  };
  const Case cases[] = {
      {"pass.example.org", Result::kPass, "pass"},
      {"fail.example.org", Result::kFail, "fail"},
      {"softfail.example.org", Result::kSoftFail, "softfail"},
      {"neutral.example.org", Result::kNeutral, "neutral"},
      {"falloff.example.org", Result::kNeutral, "neutral"},
      {"nospf.example.org", Result::kNone, "none"},
      {"nxdomain.example.org", Result::kNone, "none"},
      {"timeout.example.org", Result::kTempError, "temperror"},
      {"servfail.example.org", Result::kTempError, "temperror"},
      {"syntax.example.org", Result::kPermError, "permerror"},
      {"two.example.org", Result::kPermError, "permerror"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.domain);
    const CheckResult r = mail_from("192.0.2.1", std::string("alice@") + c.domain);
    EXPECT_EQ(r.result, c.result) << r.comment;
    EXPECT_EQ(to_token(r.result), c.token);
    EXPECT_EQ(r.domain, c.domain);
    EXPECT_EQ(r.checked, std::string("alice@") + c.domain);
    EXPECT_EQ(r.identity, Identity::kMailFrom);
    EXPECT_FALSE(r.comment.empty());
  }
}

TEST_F(CheckerTest, CommentsSayWhatHappened) {
  zone_.load(R"(
fail.example.org TXT "v=spf1 -all"
two.example.org TXT "v=spf1 -all"
two.example.org TXT "v=spf1 +all"
;ERROR,timeout.example.org,TXT,TIMEOUT
syntax.example.org TXT "v=spf1 frobnicate -all"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a@fail.example.org").comment,
            "domain of a@fail.example.org does not designate 192.0.2.1 as permitted sender");
  EXPECT_NE(mail_from("192.0.2.1", "a@two.example.org").comment.find("more than one SPF record"),
            std::string::npos);
  EXPECT_NE(mail_from("192.0.2.1", "a@timeout.example.org").comment.find("TIMEOUT"),
            std::string::npos);
  EXPECT_NE(mail_from("192.0.2.1", "a@syntax.example.org").comment.find("syntax error"),
            std::string::npos);
}

TEST_F(CheckerTest, CaseAndTrailingDotDoNotMatter) {
  zone_.load(R"(
example.org TXT "V=SPF1 ip4:192.0.2.1 -ALL"
)");
  const CheckResult r = mail_from("192.0.2.1", "Alice@Example.ORG.");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.domain, "example.org");
  EXPECT_EQ(r.checked, "Alice@Example.ORG");
}

TEST_F(CheckerTest, RecordSelectionFollowsRfc7208) {
  zone_.load(R"(
spf10.example.org TXT "v=spf10 -all"
spaced.example.org TXT "v=spf1" " -all"
other.example.org TXT "v=spf1 -all"
other.example.org TXT "some other text"
typeonly.example.org SPF "v=spf1 -all"
)");
  // "v=spf10" is not version 1 (RFC 7208 §4.5).
  EXPECT_EQ(mail_from("192.0.2.1", "a@spf10.example.org").result, Result::kNone);
  // Character-strings are joined without a space (RFC 7208 §3.3).
  EXPECT_EQ(mail_from("192.0.2.1", "a@spaced.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "a@other.example.org").result, Result::kFail);
  // Only TXT is consulted (RFC 7208 §3.1, §4.4); the SPF RR type is never asked.
  EXPECT_EQ(mail_from("192.0.2.1", "a@typeonly.example.org").result, Result::kNone);
  EXPECT_EQ(zone_.query_count("typeonly.example.org", RrType::kSpf), 0u);
}

TEST_F(CheckerTest, Mechanisms) {
  zone_.load(R"(
example.org TXT "v=spf1 a mx ptr:ptr.example.org ip4:203.0.113.0/28 ip6:2001:db8::/32 exists:%{i}.bl.example.org -all"
example.org A 192.0.2.10
example.org AAAA 2001:db8:ffff::10
example.org MX 10 mx1.example.org
example.org MX 20 mx2.example.org
mx1.example.org A 192.0.2.20
mx2.example.org A 192.0.2.21
mx2.example.org AAAA 2001:db8:ffff::21
30.2.0.192.in-addr.arpa PTR host.ptr.example.org
host.ptr.example.org A 192.0.2.30
31.2.0.192.in-addr.arpa PTR host.elsewhere.example
host.elsewhere.example A 192.0.2.31
192.0.2.40.bl.example.org A 127.0.0.2
awide.example.org TXT "v=spf1 a:hosts.example.org/24 -all"
hosts.example.org A 198.51.100.1
)");
  struct Case {
    const char* ip;
    Result result;
    const char* why;
  };
  const Case cases[] = {
      {"192.0.2.10", Result::kPass, "a"},
      {"192.0.2.20", Result::kPass, "mx, first exchange"},
      {"192.0.2.21", Result::kPass, "mx, second exchange"},
      {"192.0.2.30", Result::kPass, "ptr, validated name under ptr.example.org"},
      {"192.0.2.31", Result::kFail, "ptr, validated name elsewhere"},
      {"203.0.113.15", Result::kPass, "ip4 cidr"},
      {"203.0.113.16", Result::kFail, "ip4 cidr, outside"},
      {"192.0.2.40", Result::kPass, "exists with %{i}"},
      {"192.0.2.41", Result::kFail, "exists, no A record"},
      {"2001:db8:1::1", Result::kPass, "ip6 cidr"},
      {"2001:db8:ffff::10", Result::kPass, "ip6 within ip6 cidr"},
      {"2001:db9::1", Result::kFail, "ip6 outside"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    const CheckResult r = mail_from(c.ip, "bob@example.org");
    EXPECT_EQ(r.result, c.result) << c.ip << ": " << r.comment;
  }
  EXPECT_EQ(mail_from("198.51.100.200", "bob@awide.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("198.51.101.1", "bob@awide.example.org").result, Result::kFail);
}

TEST_F(CheckerTest, Ipv6ClientUsesAaaaRecords) {
  zone_.load(R"(
example.org TXT "v=spf1 a mx -all"
example.org A 192.0.2.10
example.org AAAA 2001:db8::10
example.org MX 10 mx.example.org
mx.example.org AAAA 2001:db8::25
)");
  EXPECT_EQ(mail_from("2001:db8::10", "x@example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::25", "x@example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::26", "x@example.org").result, Result::kFail);
  EXPECT_EQ(zone_.query_count("example.org", RrType::kAaaa), 3u);
  // An IPv4 address seen through an IPv6 socket is an IPv4 client (RFC 4291 §2.5.5.2).
  EXPECT_EQ(mail_from("::ffff:192.0.2.10", "x@example.org").result, Result::kPass);
}

TEST_F(CheckerTest, IncludeChainsAndRedirect) {
  zone_.load(R"(
example.org TXT "v=spf1 include:_spf.example.org include:other.example -all"
_spf.example.org TXT "v=spf1 include:_deep.example.org ~all"
_deep.example.org TXT "v=spf1 ip4:192.0.2.0/24 -all"
other.example TXT "v=spf1 ip4:198.51.100.7 ?all"
redir.example.org TXT "v=spf1 ip4:203.0.113.1 redirect=example.org"
redir-none.example.org TXT "v=spf1 redirect=nothing.example.org"
inc-none.example.org TXT "v=spf1 include:nothing.example.org -all"
inc-temp.example.org TXT "v=spf1 include:slow.example.org -all"
;ERROR,slow.example.org,TXT,SERVFAIL
inc-perm.example.org TXT "v=spf1 include:two.example.org -all"
two.example.org TXT "v=spf1 -all"
two.example.org TXT "v=spf1 +all"
redir-implicit.example.org TXT "v=spf1 redirect=target.example.org"
target.example.org TXT "v=spf1 a -all"
target.example.org A 192.0.2.99
)");
  EXPECT_EQ(mail_from("192.0.2.7", "a@example.org").result, Result::kPass);
  // An include's fail/softfail/neutral is "no match": evaluation continues (RFC 7208 §5.2).
  EXPECT_EQ(mail_from("198.51.100.7", "a@example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("198.51.100.8", "a@example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("203.0.113.1", "a@redir.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.7", "a@redir.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("198.51.100.9", "a@redir.example.org").result, Result::kFail);
  // RFC 7208 §5.2 / §6.1: an include or redirect target without a record is permerror.
  EXPECT_EQ(mail_from("192.0.2.7", "a@redir-none.example.org").result, Result::kPermError);
  EXPECT_EQ(mail_from("192.0.2.7", "a@inc-none.example.org").result, Result::kPermError);
  EXPECT_EQ(mail_from("192.0.2.7", "a@inc-temp.example.org").result, Result::kTempError);
  EXPECT_EQ(mail_from("192.0.2.7", "a@inc-perm.example.org").result, Result::kPermError);
  // redirect changes the current domain: "a" means target.example.org (RFC 7208 §6.1).
  EXPECT_EQ(mail_from("192.0.2.99", "a@redir-implicit.example.org").result, Result::kPass);
}

TEST_F(CheckerTest, MacroExpansion) {
  zone_.load(R"(
m1.example.org TXT "v=spf1 exists:%{l}.%{d}.%{i}.spf.example.net -all"
lyme.eater.m1.example.org.192.0.2.5.spf.example.net A 127.0.0.2
m2.example.org TXT "v=spf1 exists:%{ir}.%{v}.rev.example.net -all"
6.2.0.192.in-addr.rev.example.net A 127.0.0.2
m3.example.org TXT "v=spf1 exists:%{d2}.%{l1r-}.split.example.net -all"
example.org.strong.split.example.net A 127.0.0.2
v6.example.org TXT "v=spf1 exists:%{i}.%{v}.v6.example.net -all"
2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.ip6.v6.example.net A 127.0.0.2
)");
  EXPECT_EQ(mail_from("192.0.2.5", "lyme.eater@m1.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.5", "other@m1.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.4", "lyme.eater@m1.example.org").result, Result::kFail);
  EXPECT_EQ(zone_.query_count("lyme.eater.m1.example.org.192.0.2.5.spf.example.net", RrType::kA),
            1u);
  EXPECT_EQ(mail_from("192.0.2.6", "x@m2.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.7", "x@m2.example.org").result, Result::kFail);
  // RFC 7208 §7.4 example: %{l1r-} of "strong-bad" is "strong".
  EXPECT_EQ(mail_from("192.0.2.7", "strong-bad@m3.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.7", "bad-strong@m3.example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("2001:db8::1", "x@v6.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("2001:db8::2", "x@v6.example.org").result, Result::kFail);
  // All 32 nibbles kept: the whole address.
  zone_.load("v6all.example.org TXT \"v=spf1 exists:%{i32}.%{v}.v6.example.net -all\"");
  EXPECT_EQ(mail_from("2001:db8::1", "x@v6all.example.org").result, Result::kPass);
}

TEST_F(CheckerTest, DigitTransformerKeepingEveryPartGivesTheWholeValue) {
  // libspf2 alone turns %{d2} of "example.org" into "xample.org" (RFC 7208 §7.3: the value).
  zone_.load(R"(
example.org TXT "v=spf1 exists:%{d2}.d.example.net exists:%{l1}.l.example.net -all exp=e.%{d2}"
example.org.d.example.net A 127.0.0.2
solo.l.example.net A 127.0.0.2
e.example.org TXT "%{d2} says no to %{l1r}"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "x@example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count("example.org.d.example.net", RrType::kA), 1u);
  zone_.load("example.net TXT \"v=spf1 exists:%{l1}.l.example.net -all\"");
  EXPECT_EQ(mail_from("192.0.2.1", "solo@example.net").result, Result::kPass);
  zone_.load("fail.example.org TXT \"v=spf1 -all exp=e.%{d3}\"");
  zone_.load("e.fail.example.org TXT \"%{d3} says no to %{l1r}\"");
  EXPECT_EQ(mail_from("192.0.2.1", "solo@fail.example.org").explanation,
            "fail.example.org says no to solo");
}

TEST_F(CheckerTest, SenderWithoutLocalPartIsPostmaster) {
  // rfc7208-tests.yml "nolocalpart": explanation "postmaster" from %{l}.
  zone_.load(R"(
example.net TXT "v=spf1 -all exp=exp.example.net"
exp.example.net TXT "%{l}"
)");
  for (const char* sender : {"@example.net", "example.net"}) {
    SCOPED_TRACE(sender);
    const CheckResult r = mail_from("1.2.3.4", sender);
    EXPECT_EQ(r.result, Result::kFail);
    EXPECT_EQ(r.checked, "postmaster@example.net");
    EXPECT_EQ(r.explanation, "postmaster");
  }
}

TEST_F(CheckerTest, NullSenderChecksPostmasterAtHelo) {
  zone_.load(R"(
mail.example.com TXT "v=spf1 a -all"
mail.example.com A 192.0.2.25
)");
  const CheckResult r = mail_from("192.0.2.25", "", "mail.example.com");
  EXPECT_EQ(r.result, Result::kPass) << r.comment;
  EXPECT_EQ(r.identity, Identity::kMailFrom);  // RFC 7208 §2.4: still the MAIL FROM identity
  EXPECT_EQ(r.checked, "postmaster@mail.example.com");
  EXPECT_EQ(r.domain, "mail.example.com");
  EXPECT_EQ(mail_from("192.0.2.26", "", "mail.example.com").result, Result::kFail);
}

TEST_F(CheckerTest, HeloIdentity) {
  zone_.load(R"(
mail.example.com TXT "v=spf1 a exists:%{s}.s.example.com -all"
mail.example.com A 192.0.2.25
postmaster@mail.example.com.s.example.com A 127.0.0.2
)");
  const CheckResult r = helo("192.0.2.25", "mail.example.com");
  EXPECT_EQ(r.result, Result::kPass);
  EXPECT_EQ(r.identity, Identity::kHelo);
  EXPECT_EQ(r.checked, "mail.example.com");  // smtp.helo; %{s} is still postmaster@helo
  EXPECT_EQ(helo("192.0.2.26", "MAIL.example.com.").result, Result::kPass);  // via %{s}
  zone_.load("mail2.example.com TXT \"v=spf1 -all\"");
  EXPECT_EQ(helo("192.0.2.26", "mail2.example.com").result, Result::kFail);
}

TEST_F(CheckerTest, HeloThatIsNotAFqdnIsNone) {
  zone_.load(R"(
A2345678 TXT "v=spf1 +all"
)");
  // rfc7208-tests.yml helo-not-fqdn, helo-domain-literal; none without any lookup.
  for (const char* name :
       {"A2345678", "[1.2.3.5]", "1.2.3.5", "", ".", "a..example.com", "localhost"}) {
    SCOPED_TRACE(name);
    const CheckResult r = helo("1.2.3.5", name);
    EXPECT_EQ(r.result, Result::kNone);
    EXPECT_FALSE(r.comment.empty());
    EXPECT_EQ(mail_from("1.2.3.5", "", name).result, Result::kNone);
  }
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(CheckerTest, LoopbackClientGetsNoFreePass) {
  // libspf2's SPF_request_query_mailfrom() passes 127/8 unconditionally; RFC 7208 does not.
  zone_.load("example.org TXT \"v=spf1 -all\"");
  EXPECT_EQ(mail_from("127.0.0.1", "a@example.org").result, Result::kFail);
  EXPECT_EQ(mail_from("::1", "a@example.org").result, Result::kFail);
}

TEST_F(CheckerTest, ExplanationOnFail) {
  zone_.load(R"(
example.org TXT "v=spf1 -all exp=why.example.org"
why.example.org TXT "%{i} is not one of %{d}'s servers"
soft.example.org TXT "v=spf1 ~all exp=why.example.org"
noexp.example.org TXT "v=spf1 -all"
tworecs.example.org TXT "v=spf1 exp=twoexp.example.org -all"
twoexp.example.org TXT "one"
twoexp.example.org TXT "two"
nxexp.example.org TXT "v=spf1 exp=nowhere.example.org -all"
ctl.example.org TXT "v=spf1 exp=ctl-exp.example.org -all"
)");
  zone_.add("ctl-exp.example.org", RrType::kTxt, "bad\tnews");
  CheckResult r = mail_from("192.0.2.1", "a@example.org");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "192.0.2.1 is not one of example.org's servers");
  // Only fail carries an explanation (RFC 7208 §6.2).
  r = mail_from("192.0.2.1", "a@soft.example.org");
  EXPECT_EQ(r.result, Result::kSoftFail);
  EXPECT_EQ(r.explanation, "");
  EXPECT_EQ(mail_from("192.0.2.1", "a@noexp.example.org").explanation, "");
  // Two TXT records or a missing one: no explanation, result unchanged.
  r = mail_from("192.0.2.1", "a@tworecs.example.org");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "");
  r = mail_from("192.0.2.1", "a@nxexp.example.org");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "");
  // Control characters never reach the explanation.
  r = mail_from("192.0.2.1", "a@ctl.example.org");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "");
}

TEST_F(CheckerTest, NonAsciiExplanationIsIgnored) {
  // rfc7208-tests.yml non-ascii-exp.
  zone_.add("nonascii.example.com", RrType::kTxt, "v=spf1 exp=badexp.example.com -all");
  zone_.add("badexp.example.com", RrType::kTxt,
            "\xEF\xBB\xBF"
            "Explanation");
  const CheckResult r = mail_from("1.2.3.4", "foobar@nonascii.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "");
}

// rfc7208-tests.yml "Processing limits" scenario, SPF entries published as TXT.
constexpr const char* kLimitsZone = R"(
mail.example.com A 1.2.3.4
e1.example.com TXT "v=spf1 ip4:1.1.1.1 redirect=e1.example.com"
e1.example.com A 1.2.3.6
e2.example.com TXT "v=spf1 include:e3.example.com"
e2.example.com A 1.2.3.7
e3.example.com TXT "v=spf1 include:e2.example.com"
e3.example.com A 1.2.3.8
e4.example.com TXT "v=spf1 mx"
e4.example.com MX 0 mail.example.com
e4.example.com MX 1 mail.example.com
e4.example.com MX 2 mail.example.com
e4.example.com MX 3 mail.example.com
e4.example.com MX 4 mail.example.com
e4.example.com MX 5 mail.example.com
e4.example.com MX 6 mail.example.com
e4.example.com MX 7 mail.example.com
e4.example.com MX 8 mail.example.com
e4.example.com MX 9 mail.example.com
e4.example.com MX 10 e4.example.com
e4.example.com A 1.2.3.5
e5.example.com TXT "v=spf1 ptr"
e5.example.com A 1.2.3.5
5.3.2.1.in-addr.arpa PTR e1.example.com.
5.3.2.1.in-addr.arpa PTR e2.example.com.
5.3.2.1.in-addr.arpa PTR e3.example.com.
5.3.2.1.in-addr.arpa PTR e4.example.com.
5.3.2.1.in-addr.arpa PTR example.com.
5.3.2.1.in-addr.arpa PTR e6.example.com.
5.3.2.1.in-addr.arpa PTR e7.example.com.
5.3.2.1.in-addr.arpa PTR e8.example.com.
5.3.2.1.in-addr.arpa PTR e9.example.com.
5.3.2.1.in-addr.arpa PTR e10.example.com.
5.3.2.1.in-addr.arpa PTR e5.example.com.
e6.example.com TXT "v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all"
e6.example.com A 1.2.3.8
e6.example.com MX 10 e6.example.com
e7.example.com TXT "v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all"
e7.example.com A 1.2.3.20
e8.example.com TXT "v=spf1 a include:inc.example.com ip4:1.2.3.4 mx -all"
e8.example.com A 1.2.3.4
inc.example.com TXT "v=spf1 a a a a a a a a"
inc.example.com A 1.2.3.10
e9.example.com TXT "v=spf1 a include:inc.example.com a ip4:1.2.3.4 -all"
e9.example.com A 1.2.3.21
e10.example.com TXT "v=spf1 a -all"
e10.example.com A 1.2.3.1
e10.example.com A 1.2.3.2
e10.example.com A 1.2.3.3
e10.example.com A 1.2.3.4
e10.example.com A 1.2.3.5
e10.example.com A 1.2.3.6
e10.example.com A 1.2.3.7
e10.example.com A 1.2.3.8
e10.example.com A 1.2.3.9
e10.example.com A 1.2.3.10
e10.example.com A 1.2.3.11
e10.example.com A 1.2.3.12
e11.example.com TXT "v=spf1 a:err.example.com a:err1.example.com a:err2.example.com ?all"
e12.example.com TXT "v=spf1 a:err.example.com a:err1.example.com ?all"
)";

TEST_F(CheckerTest, Rfc7208ProcessingLimits) {
  zone_.load(kLimitsZone);
  struct Case {
    const char* name;
    const char* ip;
    const char* sender;
    Result result;
  };
  const Case cases[] = {
      {"redirect-loop", "1.2.3.4", "foo@e1.example.com", Result::kPermError},
      {"include-loop", "1.2.3.4", "foo@e2.example.com", Result::kPermError},
      {"mx-limit", "1.2.3.5", "foo@e4.example.com", Result::kPermError},
      {"ptr-limit", "1.2.3.5", "foo@e5.example.com", Result::kNeutral},
      {"false-a-limit", "1.2.3.12", "foo@e10.example.com", Result::kPass},
      {"mech-at-limit", "1.2.3.4", "foo@e6.example.com", Result::kPass},
      {"mech-over-limit", "1.2.3.4", "foo@e7.example.com", Result::kPermError},
      {"include-at-limit", "1.2.3.4", "foo@e8.example.com", Result::kPass},
      {"include-over-limit", "1.2.3.4", "foo@e9.example.com", Result::kPermError},
      {"void-at-limit", "1.2.3.4", "foo@e12.example.com", Result::kNeutral},
      {"void-over-limit", "1.2.3.4", "foo@e11.example.com", Result::kPermError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const CheckResult r = mail_from(c.ip, c.sender);
    EXPECT_EQ(r.result, c.result) << r.comment;
  }
}

// A record with `terms` a: mechanisms (each name has an address), then ip4 matching the client.
std::string a_terms_record(int terms) {
  std::string record = "v=spf1";
  for (int i = 1; i <= terms; ++i) record += " a:h" + std::to_string(i) + ".example.org";
  return record + " ip4:192.0.2.1 -all";
}

TEST_F(CheckerTest, TenDnsTermsAllowedEleventhIsPermError) {
  for (int i = 1; i <= kMaxDnsTerms + 1; ++i) {
    zone_.add("h" + std::to_string(i) + ".example.org", RrType::kA, "198.51.100.1");
  }
  zone_.add("ten.example.org", RrType::kTxt, a_terms_record(kMaxDnsTerms));
  zone_.add("eleven.example.org", RrType::kTxt, a_terms_record(kMaxDnsTerms + 1));
  EXPECT_EQ(mail_from("192.0.2.1", "a@ten.example.org").result, Result::kPass);
  const CheckResult r = mail_from("192.0.2.1", "a@eleven.example.org");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_NE(r.comment.find("more than 10 DNS-querying terms"), std::string::npos) << r.comment;
  // The 11th term is refused, not asked.
  EXPECT_EQ(zone_.query_count("h11.example.org", RrType::kA), 0u);
}

TEST_F(CheckerTest, TermsAreCountedAcrossIncludes) {
  // libspf2 counts per include level; the RFC counts per check.
  zone_.load(R"(
top.example.org TXT "v=spf1 include:i1.example.org include:i2.example.org ip4:192.0.2.1 -all"
i1.example.org TXT "v=spf1 a:x.example.org a:x.example.org a:x.example.org a:x.example.org ?all"
i2.example.org TXT "v=spf1 a:x.example.org a:x.example.org a:x.example.org a:x.example.org ?all"
x.example.org A 198.51.100.1
over.example.org TXT "v=spf1 include:i1.example.org include:i3.example.org ip4:192.0.2.1 -all"
i3.example.org TXT "v=spf1 a:x.example.org a:x.example.org a:x.example.org a:x.example.org a:x.example.org ?all"
)");
  // 2 includes + 8 a = 10: fine. 2 includes + 9 a = 11: permerror.
  EXPECT_EQ(mail_from("192.0.2.1", "a@top.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "a@over.example.org").result, Result::kPermError);
}

TEST_F(CheckerTest, TwoVoidLookupsAllowedThirdIsPermError) {
  zone_.load(R"(
two.example.org TXT "v=spf1 a:nx1.example.org mx:nodata.example.org ip4:192.0.2.1 -all"
three.example.org TXT "v=spf1 a:nx1.example.org mx:nodata.example.org exists:nx2.example.org ip4:192.0.2.1 -all"
nodata.example.org A 198.51.100.1
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a@two.example.org").result, Result::kPass);
  const CheckResult r = mail_from("192.0.2.1", "a@three.example.org");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_NE(r.comment.find("void lookups"), std::string::npos) << r.comment;
}

TEST_F(CheckerTest, ExplanationLookupIsNotAVoidLookup) {
  // rfc7208-tests.yml exp-void: exp=nxdomain does not count.
  zone_.load(R"(
example.org TXT "v=spf1 a:nx1.example.org a:nx2.example.org -all exp=nxdomain.example.org"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "a@example.org").result, Result::kFail);
}

TEST_F(CheckerTest, TenMxNamesAllowedEleventhIsPermError) {
  std::string zone_text =
      "ten.example.org TXT \"v=spf1 mx -all\"\n"
      "eleven.example.org TXT \"v=spf1 mx -all\"\n";
  for (std::size_t i = 1; i <= kMaxMxNames + 1; ++i) {
    const std::string host = "mx" + std::to_string(i) + ".example.org";
    if (i <= kMaxMxNames)
      zone_text += "ten.example.org MX " + std::to_string(i) + " " + host + "\n";
    zone_text += "eleven.example.org MX " + std::to_string(i) + " " + host + "\n";
    zone_text += host + " A 198.51.100." + std::to_string(i) + "\n";
  }
  zone_.load(zone_text);
  EXPECT_EQ(mail_from("198.51.100.10", "a@ten.example.org").result, Result::kPass);
  // RFC 7208 §4.6.4: more than 10 MX names is permerror even when the first one matches.
  EXPECT_EQ(mail_from("198.51.100.1", "a@eleven.example.org").result, Result::kPermError);
}

TEST_F(CheckerTest, DeadlinePassedIsTempError) {
  zone_.load("example.org TXT \"v=spf1 +all\"");
  const CheckResult r = checker_.check(Request{"192.0.2.1", "mail.example.com", "a@example.org"},
                                       dns::Clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("deadline"), std::string::npos) << r.comment;
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(CheckerTest, CancelIsTempError) {
  zone_.load("example.org TXT \"v=spf1 +all\"");
  work::CancelToken cancel;
  cancel.cancel();
  const CheckResult r =
      checker_.check(Request{"192.0.2.1", "mail.example.com", "a@example.org"}, later(), &cancel);
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("cancel"), std::string::npos) << r.comment;
  EXPECT_EQ(zone_.query_count(), 0u);
  const work::CancelToken not_cancelled;
  EXPECT_EQ(
      checker_
          .check(Request{"192.0.2.1", "h.example.com", "a@example.org"}, later(), &not_cancelled)
          .result,
      Result::kPass);
}

TEST_F(CheckerTest, TemporaryFailureInAMechanismIsTempError) {
  zone_.load(R"(
example.org TXT "v=spf1 a:slow.example.org mx:down.example.org -all"
;ERROR,slow.example.org,A,TIMEOUT
mx.example.org TXT "v=spf1 mx -all"
mx.example.org MX 10 down.example.org
;ERROR,down.example.org,A,SERVFAIL
)");
  const CheckResult r = mail_from("192.0.2.1", "a@example.org");
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.comment.find("DNS timeout for slow.example.org A"), std::string::npos) << r.comment;
  EXPECT_EQ(mail_from("192.0.2.1", "a@mx.example.org").result, Result::kTempError);
}

TEST_F(CheckerTest, IncludeChainsShareTheResolverCache) {
  zone_.load(R"(
a.example.org TXT "v=spf1 include:_spf.example.net -all"
b.example.org TXT "v=spf1 include:_spf.example.net -all"
_spf.example.net TXT "v=spf1 ip4:192.0.2.0/24 -all"
)");
  EXPECT_EQ(mail_from("192.0.2.1", "x@a.example.org").result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "x@b.example.org").result, Result::kPass);
  // Each check asks the resolver (the cache lives behind it), once per name.
  EXPECT_EQ(zone_.query_count("_spf.example.net", RrType::kTxt), 2u);
  EXPECT_EQ(zone_.query_count("a.example.org", RrType::kTxt), 1u);
  EXPECT_EQ(zone_.query_count(), 4u);
}

TEST_F(CheckerTest, HostileInputNeverCrashes) {
  zone_.load("example.org TXT \"v=spf1 exists:%{l}.x.example.org -all\"");
  const std::string label300(300, 'a');
  const std::string label63(63, 'b');
  const std::string label64(64, 'b');
  struct Case {
    std::string sender;
    Result result;
  };
  const Case cases[] = {
      {std::string("a\0b@example.org", 15), Result::kNone},
      {std::string("a@example.org\0.evil", 19), Result::kNone},
      {"a@" + label300 + ".example.org", Result::kNone},
      {"a@" + label64 + ".example.org", Result::kNone},  // rfc7208 toolonglabel
      {"a@" + label63 + ".example.org", Result::kNone},  // checkable, no record
      {"a@A...example.org", Result::kNone},              // rfc7208 emptylabel
      {"a@", Result::kNone},
      {"@", Result::kNone},
      {"a@exa\xE9mple.org", Result::kNone},
      {"a\r\n@example.org", Result::kNone},
      {"a@[192.0.2.1]", Result::kNone},
      {"a@example.org@", Result::kNone},
      {"\xE9t\xE9@example.org", Result::kFail},    // 8-bit local-part: checked, no match
      {label300 + "@example.org", Result::kFail},  // %{l} label over 63: not queryable
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sender);
    const CheckResult r = mail_from("192.0.2.1", c.sender);
    EXPECT_EQ(r.result, c.result) << r.comment;
    EXPECT_EQ(r.comment.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
    EXPECT_EQ(r.checked.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
  }
  for (const std::string& name : {std::string(""), std::string("\0", 1), label300,
                                  std::string("\xFF\xFE"), std::string(5000, '.')}) {
    EXPECT_EQ(helo("192.0.2.1", name).result, Result::kNone);
    // A hostile HELO does not stop a MAIL FROM check; %{h} is simply unusable.
    EXPECT_EQ(mail_from("192.0.2.1", "x@example.org", name).result, Result::kFail);
  }
}

TEST_F(CheckerTest, SenderLengthLimit) {
  zone_.load("example.org TXT \"v=spf1 -all\"");
  const std::string domain = "@example.org";
  const std::string at_limit = std::string(kMaxSenderLength - domain.size(), 'x') + domain;
  const std::string past_limit = "x" + at_limit;
  EXPECT_EQ(mail_from("192.0.2.1", at_limit).result, Result::kFail);
  const CheckResult r = mail_from("192.0.2.1", past_limit);
  EXPECT_EQ(r.result, Result::kNone);
  EXPECT_NE(r.comment.find("longer than"), std::string::npos);
}

TEST_F(CheckerTest, DomainLengthLimit) {
  // 253 octets is the longest domain; one more is malformed (RFC 7208 §4.3): none.
  std::string domain;
  while (domain.size() + 64 < 253) domain += std::string(63, 'd') + ".";
  domain += std::string(253 - domain.size() - 4, 'e') + ".org";
  ASSERT_EQ(domain.size(), 253u);
  zone_.add(domain, RrType::kTxt, "v=spf1 -all");
  EXPECT_EQ(mail_from("192.0.2.1", "a@" + domain).result, Result::kFail);
  EXPECT_EQ(mail_from("192.0.2.1", "a@e." + domain).result, Result::kNone);
}

TEST_F(CheckerTest, UnparsableClientAddressIsTempError) {
  zone_.load("example.org TXT \"v=spf1 +all\"");
  const std::vector<std::string> bad = {"",
                                        "999.1.1.1",
                                        "192.0.2.1 ",
                                        "fe80::1%eth0",
                                        "[192.0.2.1]",
                                        "example.org",
                                        std::string("192.0.2.1\0", 10),
                                        std::string(200, '1')};
  for (const std::string& ip : bad) {
    SCOPED_TRACE(ip);
    const CheckResult r = mail_from(ip, "a@example.org");
    EXPECT_EQ(r.result, Result::kTempError);
    EXPECT_NE(r.comment.find("client address"), std::string::npos);
  }
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(CheckerTest, PraIdentityPrefersSpf2PraRecords) {
  // Seam for SenderID (issue #3): the PRA scope reads spf2.0/pra records as v=spf1.
  zone_.load(R"(
both.example.org TXT "v=spf1 -all"
both.example.org TXT "spf2.0/mfrom,pra ip4:192.0.2.1 -all"
spf1only.example.org TXT "v=spf1 ip4:192.0.2.1 -all"
)");
  const CheckResult pra = checker_.check(
      Request{"192.0.2.1", "mail.example.com", "a@both.example.org", Identity::kPra}, later());
  EXPECT_EQ(pra.result, Result::kPass);
  EXPECT_EQ(pra.identity, Identity::kPra);
  EXPECT_EQ(mail_from("192.0.2.1", "a@both.example.org").result, Result::kFail);
  EXPECT_EQ(
      checker_
          .check(Request{"192.0.2.1", "h.example.com", "a@spf1only.example.org", Identity::kPra},
                 later())
          .result,
      Result::kPass);
}

TEST_F(CheckerTest, RecordRulesLibspf2MissesAreApplied) {
  zone_.load(R"(
t2.example.com TXT "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all"
t5.example.com TXT "v=spf1 redirect=t5.example.com ~all"
t6.example.com TXT "v=spf1 ip4:1.2.3.4 redirect=t2.example.com"
e14.example.com TXT "v=spf1 exp=e13msg.example.com -all exp=e11msg.example.com"
t9.example.com TXT "v=spf1 a:foo-bar -all"
all0.example.com TXT "v=spf1 ip4:192.0.2.1/0 -all"
)");
  // rfc7208-tests modifier-charset-good, redirect-after-mechanisms1/2, exp-twice,
  // invalid-domain, cidr4-0.
  EXPECT_EQ(mail_from("1.2.3.4", "foo@t2.example.com").result, Result::kPass);
  EXPECT_EQ(mail_from("1.2.3.5", "foo@t5.example.com").result, Result::kSoftFail);
  EXPECT_EQ(mail_from("1.2.3.5", "foo@t6.example.com").result, Result::kFail);
  const CheckResult twice = mail_from("1.2.3.4", "foo@e14.example.com");
  EXPECT_EQ(twice.result, Result::kPermError);
  EXPECT_NE(twice.comment.find("exp= appears twice"), std::string::npos) << twice.comment;
  EXPECT_EQ(mail_from("1.2.3.4", "foo@t9.example.com").result, Result::kPermError);
  EXPECT_EQ(mail_from("203.0.113.7", "foo@all0.example.com").result, Result::kPass);
}

TEST_F(CheckerTest, ClientNameMacroIsNotATerm) {
  // %{p} makes PTR and A lookups, but only the exists term counts (RFC 7208 §4.6.4).
  std::string record = "v=spf1";
  for (int i = 1; i < kMaxDnsTerms; ++i) {
    record += " a:h" + std::to_string(i) + ".example.org";
    zone_.add("h" + std::to_string(i) + ".example.org", RrType::kA, "198.51.100.1");
  }
  zone_.add("example.org", RrType::kTxt, record + " exists:%{p}.ok.example.org -all");
  zone_.load(R"(
1.2.0.192.in-addr.arpa PTR other.example.net
1.2.0.192.in-addr.arpa PTR mail.example.net
other.example.net A 198.51.100.99
mail.example.net A 192.0.2.1
mail.example.net.ok.example.org A 127.0.0.2
)");
  const CheckResult r = mail_from("192.0.2.1", "a@example.org");
  EXPECT_EQ(r.result, Result::kPass) << r.comment;
  EXPECT_EQ(zone_.query_count("1.2.0.192.in-addr.arpa", RrType::kPtr), 1u);
  // An unvalidated client gets "unknown" (RFC 7208 §7.3).
  zone_.add("unknown.ok.example.org", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("192.0.2.2", "a@example.org").result, Result::kPass);
  // %{p2} of a two-label name is the whole name (libspf2 alone would drop its first octet).
  zone_.load(R"(
p2.example.org TXT "v=spf1 exists:%{p2}.ok.example.org -all"
3.2.0.192.in-addr.arpa PTR mailhost.example
mailhost.example A 192.0.2.3
mailhost.example.ok.example.org A 127.0.0.2
)");
  EXPECT_EQ(mail_from("192.0.2.3", "a@p2.example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count("3.2.0.192.in-addr.arpa", RrType::kPtr), 1u);
}

TEST_F(CheckerTest, ExplanationWithSpacesAndLocalPartMacro) {
  // rfc7208-tests dorky-sentinel: a local-part with a space, exp text with spaces.
  zone_.load(R"(
e8.example.com TXT "v=spf1 -all exp=exp4.example.com"
exp4.example.com TXT "%{l} in implementation"
)");
  const CheckResult r = mail_from("1.2.3.4", "Macro Error@e8.example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "Macro Error in implementation");
}

TEST_F(CheckerTest, ConcurrentChecksShareOneChecker) {
  // The milter calls one Checker from many threads; each check owns its libspf2 objects.
  zone_.load(R"(
example.org TXT "v=spf1 include:_spf.example.org mx -all"
_spf.example.org TXT "v=spf1 ip4:192.0.2.0/25 ~all"
example.org MX 10 mx.example.org
mx.example.org A 198.51.100.25
)");
  constexpr int kThreads = 4;
  constexpr int kChecks = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &wrong, t] {
      for (int i = 0; i < kChecks; ++i) {
        const bool inside = (i + t) % 3 != 0;
        const std::string ip = inside ? "192.0.2." + std::to_string(i) : "203.0.113.9";
        const CheckResult r = mail_from(ip, "user" + std::to_string(i) + "@example.org");
        if (r.result != (inside ? Result::kPass : Result::kFail)) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(CheckerTest, ExplanationLengthLimit) {
  zone_.load(R"(
example.org TXT "v=spf1 -all exp=exp.example.org"
exp.example.org TXT "%{l}%{l}"
)");
  const std::string half(kMaxExplanationLength / 2, 'a');
  EXPECT_EQ(mail_from("192.0.2.1", half + "@example.org").explanation, half + half);
  const CheckResult cut = mail_from("192.0.2.1", half + "b@example.org");
  EXPECT_EQ(cut.explanation.size(), kMaxExplanationLength);
  EXPECT_EQ(cut.explanation, half + "b" + half.substr(1));
}

TEST_F(CheckerTest, HeloLengthLimitForMacros) {
  // %{h1} is the HELO's last label; a HELO over kMaxHeloLength reads as "unknown".
  zone_.load(R"(
example.org TXT "v=spf1 exists:%{h1}.h.example.org -all"
tld.h.example.org A 127.0.0.2
)");
  std::string helo_name;
  while (helo_name.size() + 64 + 4 <= kMaxHeloLength) helo_name += std::string(63, 'x') + ".";
  helo_name += std::string(kMaxHeloLength - helo_name.size() - 4, 'y') + ".tld";
  ASSERT_EQ(helo_name.size(), kMaxHeloLength);
  EXPECT_EQ(mail_from("192.0.2.1", "a@example.org", helo_name).result, Result::kPass);
  EXPECT_EQ(mail_from("192.0.2.1", "a@example.org", "y" + helo_name).result, Result::kFail);
  EXPECT_EQ(zone_.query_count("unknown.h.example.org", RrType::kA), 1u);
}

TEST_F(CheckerTest, TenPtrNamesCheckedEleventhIgnored) {
  std::string zone_text = "example.org TXT \"v=spf1 ptr -all\"\n";
  for (std::size_t i = 1; i <= kMaxPtrNames + 1; ++i) {
    const std::string host =
        "h" + std::to_string(i) + (i >= kMaxPtrNames ? ".example.org" : ".example.net");
    zone_text += "1.2.0.192.in-addr.arpa PTR " + host + "\n";
    zone_text += host + " A 192.0.2.1\n";
  }
  zone_.load(zone_text);
  // h1..h9 are outside example.org; h10 (the 10th name) validates and matches.
  EXPECT_EQ(mail_from("192.0.2.1", "a@example.org").result, Result::kPass);
  EXPECT_EQ(zone_.query_count("h11.example.org", RrType::kA), 0u);
}

TEST(SpfTokens, EveryResultHasItsOwnToken) {
  EXPECT_EQ(to_token(Result::kNone), "none");
  EXPECT_EQ(to_token(Result::kNeutral), "neutral");
  EXPECT_EQ(to_token(Result::kPass), "pass");
  EXPECT_EQ(to_token(Result::kFail), "fail");
  EXPECT_EQ(to_token(Result::kSoftFail), "softfail");
  EXPECT_EQ(to_token(Result::kTempError), "temperror");
  EXPECT_EQ(to_token(Result::kPermError), "permerror");
  EXPECT_TRUE(is_authoritative(Result::kPass));
  EXPECT_TRUE(is_authoritative(Result::kFail));
  EXPECT_TRUE(is_authoritative(Result::kSoftFail));
  EXPECT_FALSE(is_authoritative(Result::kNone));
  EXPECT_FALSE(is_authoritative(Result::kNeutral));
  EXPECT_FALSE(is_authoritative(Result::kTempError));
  EXPECT_FALSE(is_authoritative(Result::kPermError));
  EXPECT_EQ(to_string(Identity::kMailFrom), "mailfrom");
  EXPECT_EQ(to_string(Identity::kHelo), "helo");
  EXPECT_EQ(to_string(Identity::kPra), "pra");
}

}  // namespace
}  // namespace authmilter::spf

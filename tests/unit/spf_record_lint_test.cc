// prepare_record(): RFC 7208 syntax rules libspf2 misses, and the rewrites it needs.
// Records from tests/data/spf-openspf/rfc7208-tests.yml where named.
#include "authmilter/spf/record_lint.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace authmilter::spf {
namespace {

std::string problem_of(const std::string& record) { return prepare_record(record).problem; }

TEST(RecordLint, ValidRecordsPass) {
  for (const std::string record : {
           "v=spf1",
           "v=spf1 -all",
           "v=spf1  a mx  ptr -all ",
           "v=spf1 +a:mail.example.org/24//64 mx:example.org//0 ~all",
           "v=spf1 a/24 mx//64 a/24//64",
           "v=spf1 include:_spf.example.net exists:%{i}._spf.%{d} ?all",
           "v=spf1 a:%{d} ptr:example.org. include:example.xn--zckzah",
           "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ip4:192.0.2.1 -all",
           "v=spf1 exp=explain._spf.%{d} -all",
           "v=spf1 redirect=_spf.example.org",
           "v=spf1 foo-bar.cow-far_out=%% -all",  // rfc7208 modifier-charset-good
           "v=spf1 unknown= -all",
           "v=spf1 exists:%{l1r-}.%{o2}.%{ir}.example.org",
       }) {
    EXPECT_EQ(problem_of(record), "") << record;
  }
}

TEST(RecordLint, SyntaxErrorsLibspf2Accepts) {
  struct Case {
    const char* record;
    const char* problem;
  };
  const Case cases[] = {
      {"v=spf1 -all exp=a.example.com exp=b.example.com", "exp= appears twice"},  // exp-twice
      {"v=spf1 redirect=a.example.com -all redirect=a.example.com",               // redirect-twice
       "redirect= appears twice"},
      {"v=spf1 exp= -all", "invalid domain-spec"},                  // exp-empty-domain
      {"v=spf1 exp=-all", "invalid domain-spec"},                   // exp-syntax-error
      {"v=spf1 ?all redirect=", "invalid domain-spec"},             // redirect-empty-domain
      {"v=spf1 redirect=-all ?all", "invalid domain-spec"},         // redirect-syntax-error
      {"v=spf1 -all exp=%{r}.example.com", "invalid domain-spec"},  // exp-only-macro-char
      {"v=spf1 a:foo-bar -all", "invalid domain-spec"},             // invalid-domain
      {"v=spf1 a:example.123 -all", "invalid domain-spec"},         // a-numeric-toplabel
      {"v=spf1 a:example.-com -all", "invalid domain-spec"},        // a-bad-toplabel
      {"v=spf1 a:%{q}.example.org -all", "invalid domain-spec"},
      {"v=spf1 -all foo=%abc", "invalid macro-string"},  // unknown-modifier-syntax
      {"v=spf1 1up=foo", "invalid modifier name"},       // invalid-modifier
      {"v=spf1 =all", "invalid modifier name"},          // empty-modifier-name
      {"v=spf1 ip4:1.2.3.4 redirect:t2.example.com", "unknown mechanism"},  // redirect-is-mod..
      {"v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", "unknown mechanism"},
      {"v=spf1 -all:foobar", "takes no argument"},
      {"v=spf1 -all/8", "takes no argument"},
      {"v=spf1 ptr/0 -all", "unexpected CIDR"},
      {"v=spf1 exists:mail.example.com/24", "invalid domain-spec"},
      {"v=spf1 exists", "missing domain-spec"},
      {"v=spf1 include", "missing domain-spec"},
      {"v=spf1 ip4:1.2.3.4/032 -all", "invalid CIDR length"},  // cidr4-032
      {"v=spf1 ip4:1.2.3.4/33 -all", "invalid CIDR length"},
      {"v=spf1 ip6:::1/129", "invalid CIDR length"},
      {"v=spf1 a/33 -all", "invalid CIDR length"},
      {"v=spf1 mx//129 -all", "invalid CIDR length"},
      {"v=spf1 a:example.org/ -all", "invalid domain-spec"},
      {"v=spf1 ip4", "missing network"},
      {"v=spf1 ip4:1.2.3.x/0", "invalid address"},
  };
  for (const Case& c : cases) {
    const std::string problem = problem_of(c.record);
    EXPECT_NE(problem.find(c.problem), std::string::npos) << c.record << " -> " << problem;
  }
}

TEST(RecordLint, UnknownModifiersAreDropped) {
  EXPECT_EQ(prepare_record("v=spf1 foo.bar=baz ip4:192.0.2.1 exp-text=hi -all").record,
            "v=spf1 ip4:192.0.2.1 -all");
}

TEST(RecordLint, RedirectMovesToTheEndOrGoesWithAll) {
  EXPECT_EQ(prepare_record("v=spf1 redirect=_spf.example.org ip4:192.0.2.1").record,
            "v=spf1 ip4:192.0.2.1 redirect=_spf.example.org");
  // rfc7208-tests redirect-after-mechanisms1: an "all" makes redirect= meaningless.
  EXPECT_EQ(prepare_record("v=spf1 redirect=t5.example.com ~all").record, "v=spf1 ~all");
  EXPECT_EQ(prepare_record("v=spf1 exp=e.example.org -all").record,
            "v=spf1 exp=e.example.org -all");
}

TEST(RecordLint, ZeroLengthCidrForIpMechanismsIsRewritten) {
  // libspf2 rejects /0; the two halves of the address space mean the same.
  EXPECT_EQ(prepare_record("v=spf1 -ip4:1.2.3.4/0").record,
            "v=spf1 -ip4:0.0.0.0/1 -ip4:128.0.0.0/1");
  EXPECT_EQ(prepare_record("v=spf1 ip6:::1.1.1.1/0").record, "v=spf1 ip6:::/1 ip6:8000::/1");
}

TEST(MacroTruncation, DigitsGoWhenTheyKeepEveryPart) {
  const MacroValue values = [](char letter) -> std::optional<std::string> {
    switch (letter) {
      case 'd':
        return std::string("example.org");
      case 'l':
        return std::string("strong-bad");
      case 'i':
        return std::string("192.0.2.1");
      default:
        return std::nullopt;
    }
  };
  EXPECT_EQ(fix_macros("a:%{d2}.x.example", values), "a:%{d}.x.example");
  EXPECT_EQ(fix_macros("a:%{d9r}.x", values), "a:%{dr}.x");
  EXPECT_EQ(fix_macros("a:%{d1}.x", values), "a:%{d1}.x");  // keeps fewer: fine
  EXPECT_EQ(fix_macros("%{l2-}", values), "%{l-}");
  EXPECT_EQ(fix_macros("%{l1-}", values), "%{l1-}");
  EXPECT_EQ(fix_macros("%{l2}", values), "%{l}");  // no '.': one part
  EXPECT_EQ(fix_macros("%{i4r}.%{i5}", values), "%{ir}.%{i}");
  EXPECT_EQ(fix_macros("%{i3}", values), "%{i3}");
  // Unknown values stay; "%%{d2}" is a literal '%' and the text "{d2}".
  EXPECT_EQ(fix_macros("%{p2}.%{d}.%%{d2}%_%-", values), "%{p2}.%{d}.%%{d2}%_%-");
  EXPECT_EQ(fix_macros("%{d0}", values), "%{d0}");
  EXPECT_EQ(fix_macros("%{d2", values), "%{d2");
  EXPECT_EQ(fix_macros("%{d99999999999999999999}", values), "%{d}");
  EXPECT_EQ(fix_macros("", values), "");
}

TEST(RecordLint, CidrLengthZeroOnAAndMxGetsAMarker) {
  // libspf2 rejects "/0"; the marker tells the DNS layer which families have length 0.
  EXPECT_EQ(prepare_record("v=spf1 a/0 -all").record,
            "v=spf1 a:%{d}.cidr0-4.authmilter.invalid -all");
  EXPECT_EQ(prepare_record("v=spf1 -mx:Example.org./24//0").record,
            "v=spf1 -mx:Example.org.cidr0-6.authmilter.invalid/24");
  EXPECT_EQ(prepare_record("v=spf1 ~a:%{h}/0//0").record,
            "v=spf1 ~a:%{h}.cidr0-46.authmilter.invalid");
  EXPECT_EQ(prepare_record("v=spf1 mx//0").record, "v=spf1 mx:%{d}.cidr0-6.authmilter.invalid");
  // Other lengths stay; "/00" is still a syntax error.
  EXPECT_EQ(prepare_record("v=spf1 a/24//64").record, "v=spf1 a/24//64");
  EXPECT_NE(problem_of("v=spf1 a/00"), "");
  EXPECT_NE(problem_of("v=spf1 mx:/0"), "");
}

TEST(RecordLint, ZeroCidrMarkerIsTakenOffAgain) {
  struct Case {
    std::string name;
    std::string rest;
    bool ip4;
    bool ip6;
  };
  const Case cases[] = {
      {"example.org.cidr0-4.authmilter.invalid", "example.org", true, false},
      {"Example.ORG.CIDR0-6.Authmilter.Invalid.", "Example.ORG", false, true},
      {"x.cidr0-46.authmilter.invalid", "x", true, true},
      {"cidr0-4.authmilter.invalid", "", true, false},
      {"example.org", "example.org", false, false},
      {"example.org.cidr0-5.authmilter.invalid", "example.org.cidr0-5.authmilter.invalid", false,
       false},
      {"authmilter.invalid", "authmilter.invalid", false, false},
      {"", "", false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string_view name = c.name;
    const ZeroCidr zero = take_zero_cidr_marker(name);
    EXPECT_EQ(name, c.rest);
    EXPECT_EQ(zero.ip4, c.ip4);
    EXPECT_EQ(zero.ip6, c.ip6);
  }
}

TEST(RecordLint, MechanismCountAtTheLimitAndOnePast) {
  std::string at = "v=spf1";
  for (std::size_t i = 1; i < kMaxMechanisms; ++i) at += " ip4:192.0.2.1";
  EXPECT_EQ(problem_of(at + " redirect=example.org"), "");  // redirect= counts too
  EXPECT_EQ(problem_of(at + " -all exp=e.example.org"), "");
  EXPECT_NE(problem_of(at + " a -all"), "");
  // ip4:.../0 becomes two mechanisms.
  EXPECT_NE(problem_of(at + " ip4:0.0.0.0/0"), "");
}

TEST(MacroDelimiters, CommaAndSlashAreExpandedHere) {
  const MacroValue values = [](char letter) -> std::optional<std::string> {
    switch (letter) {
      case 'l':
      case 'L':
        return std::string("a,b/c d%e");
      case 's':
        return std::string("x/y,z@example.org");
      case 'h':
        return std::string("caf\xc3\xa9,x");
      default:
        return std::nullopt;
    }
  };
  // Split on ',' (and '/'), reverse, keep parts, join with '.'; '%' and SP as macro-literals.
  EXPECT_EQ(fix_macros("x.%{l,/}.y", values), "x.a.b.c%_d%%e.y");
  EXPECT_EQ(fix_macros("%{l2r,/}", values), "b.a");
  EXPECT_EQ(fix_macros("%{l1,/ }", values), "%{l1,/ }");  // SP is no delimiter: left alone
  EXPECT_EQ(fix_macros("%{l,}", values), "%{l,}");        // "b/c d%e" keeps its '/': see below
  // Upper-case: URL-escaped after the split (RFC 7208 §7.3), written with "%%".
  EXPECT_EQ(fix_macros("%{L,/}", values), "a.b.c%%20d%%25e");
  // A '/' left in the value (libspf2 would read a CIDR length) or an 8-bit octet: left as it
  // is (libspf2 then reports the delimiter: a known deviation, see record_lint.h).
  EXPECT_EQ(fix_macros("%{s,}", values), "%{s,}");
  EXPECT_EQ(fix_macros("%{h,}", values), "%{h,}");
  // Unknown values and the other delimiters stay for libspf2.
  EXPECT_EQ(fix_macros("%{p,} %{l-} %{l.}", values), "%{p,} %{l-} %{l.}");
}

TEST(RecordLint, HostileRecordsDoNotCrash) {
  EXPECT_EQ(problem_of("v=spf1 " + std::string(5000, ' ')), "");
  // 2500 "%%": valid RFC 7208 syntax, but 2504 octets once compiled (kMaxLibspf2Block).
  EXPECT_NE(problem_of("v=spf1 a:" + std::string(5000, '%')).find("too long for libspf2"),
            std::string::npos);
  EXPECT_EQ(problem_of("v=spf1 a:" + std::string(500, '%')), "");  // 250 "%%": 254 octets
  EXPECT_NE(problem_of("v=spf1 a:" + std::string(4999, '%')), "");
  EXPECT_NE(problem_of("v=spf1 exists:%{"), "");
  EXPECT_NE(problem_of("v=spf1 exists:%{i"), "");
  EXPECT_NE(problem_of("v=spf1 a:%"), "");
  EXPECT_NE(problem_of("v=spf1 a:..."), "");
  EXPECT_NE(problem_of("v=spf1 ip4:/"), "");
  EXPECT_NE(problem_of("v=spf1 a:x./99999999999999999999"), "");
}

}  // namespace
}  // namespace authmilter::spf

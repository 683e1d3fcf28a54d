// prepare_record(): RFC 7208 syntax rules libspf2 misses, and the rewrites it needs.
// Records from shared/conformance/spf-openspf/rfc7208-tests.yml where named.
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
  EXPECT_EQ(fix_macro_truncation("a:%{d2}.x.example", values), "a:%{d}.x.example");
  EXPECT_EQ(fix_macro_truncation("a:%{d9r}.x", values), "a:%{dr}.x");
  EXPECT_EQ(fix_macro_truncation("a:%{d1}.x", values), "a:%{d1}.x");  // keeps fewer: fine
  EXPECT_EQ(fix_macro_truncation("%{l2-}", values), "%{l-}");
  EXPECT_EQ(fix_macro_truncation("%{l1-}", values), "%{l1-}");
  EXPECT_EQ(fix_macro_truncation("%{l2}", values), "%{l}");  // no '.': one part
  EXPECT_EQ(fix_macro_truncation("%{i4r}.%{i5}", values), "%{ir}.%{i}");
  EXPECT_EQ(fix_macro_truncation("%{i3}", values), "%{i3}");
  // Unknown values stay; "%%{d2}" is a literal '%' and the text "{d2}".
  EXPECT_EQ(fix_macro_truncation("%{p2}.%{d}.%%{d2}%_%-", values), "%{p2}.%{d}.%%{d2}%_%-");
  EXPECT_EQ(fix_macro_truncation("%{d0}", values), "%{d0}");
  EXPECT_EQ(fix_macro_truncation("%{d2", values), "%{d2");
  EXPECT_EQ(fix_macro_truncation("%{d99999999999999999999}", values), "%{d}");
  EXPECT_EQ(fix_macro_truncation("", values), "");
}

TEST(RecordLint, HostileRecordsDoNotCrash) {
  EXPECT_EQ(problem_of("v=spf1 " + std::string(5000, ' ')), "");
  EXPECT_EQ(problem_of("v=spf1 a:" + std::string(5000, '%')), "");  // 2500 "%%": valid
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

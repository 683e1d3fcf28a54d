// DMARC record syntax (RFC 7489 §6.3, §6.4) and §6.6.3 steps 2 and 6.
#include <gtest/gtest.h>

#include <string>

#include "authmilter/dmarc/record.h"

namespace authmilter::dmarc {
namespace {

bool ignored(const Record& r, const std::string& tag) {
  for (const std::string& t : r.ignored) {
    if (t == tag) return true;
  }
  return false;
}

TEST(DmarcRecordSelection, FirstTagMustBeVersion) {
  EXPECT_TRUE(is_dmarc_record("v=DMARC1; p=none"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
  EXPECT_TRUE(is_dmarc_record("V = DMARC1 ;p=none"));
  // RFC 9989: %s"DMARC1", "The tag value is case sensitive".
  EXPECT_FALSE(is_dmarc_record("v=dmarc1; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=Dmarc1; p=none"));
  EXPECT_TRUE(is_dmarc_record(" v=DMARC1\t;"));
  EXPECT_FALSE(is_dmarc_record("p=none; v=DMARC1"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC2; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC1x; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC1\\; p=reject\\;"));  // see dmarc_conformance_test
  EXPECT_FALSE(is_dmarc_record(""));
  EXPECT_FALSE(is_dmarc_record("v"));
  EXPECT_FALSE(is_dmarc_record(std::string("v=DMARC1\0; p=none", 17)));
}

TEST(DmarcRecord, AllTags) {
  const Record r = parse_record(
      "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=s; pct=42; ri=3600; rf=afrf; fo=0:d; "
      "rua=mailto:a@example.com!10m, https://example.com/dmarc; ruf=mailto:f@example.com");
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(r.p, Policy::kQuarantine);
  ASSERT_TRUE(r.sp.has_value());
  EXPECT_EQ(*r.sp, Policy::kReject);
  EXPECT_EQ(r.adkim, Alignment::kStrict);
  EXPECT_EQ(r.aspf, Alignment::kStrict);
  EXPECT_EQ(r.pct, 42);
  EXPECT_EQ(r.rua.size(), 2u);
  EXPECT_TRUE(r.ignored.empty());
  EXPECT_EQ(r.syntax_errors, 0);
  EXPECT_FALSE(r.p_none_for_rua);
  EXPECT_EQ(r.canonical_text(), "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=s; pct=42");
}

TEST(DmarcRecord, Defaults) {
  const Record r = parse_record("v=DMARC1; p=reject");
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_FALSE(r.sp.has_value());
  EXPECT_EQ(r.adkim, Alignment::kRelaxed);
  EXPECT_EQ(r.aspf, Alignment::kRelaxed);
  EXPECT_EQ(r.pct, 100);
  EXPECT_FALSE(r.np.has_value());
  EXPECT_EQ(r.psd, Psd::kUnspecified);
  EXPECT_FALSE(r.t.has_value());
  EXPECT_EQ(r.canonical_text(), "v=DMARC1; p=reject; adkim=r; aspf=r");
}

TEST(DmarcRecord, LenientSpacingCaseAndEmptySpecs) {
  const Record r = parse_record("V = DMARC1 ;\tP\t=\tReJect\t;; SP=None ; ADKIM = S ;;");
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(r.p, Policy::kReject);
  EXPECT_EQ(*r.sp, Policy::kNone);
  EXPECT_EQ(r.adkim, Alignment::kStrict);
  // p need not be second.
  const Record late = parse_record("v=DMARC1; sp=none; p=reject");
  ASSERT_TRUE(late.valid);
  EXPECT_EQ(late.p, Policy::kReject);
}

TEST(DmarcRecord, PolicyValuesAreWholeWords) {
  // libopendmarc accepts any prefix: "p=r" would be reject there.
  for (const char* bad : {"r", "rej", "n", "q", "rejectx", "none!", "", "bogus"}) {
    const Record r = parse_record(std::string("v=DMARC1; p=") + bad);
    EXPECT_FALSE(r.valid) << bad;
    EXPECT_FALSE(r.error.empty());
  }
}

TEST(DmarcRecord, VoidRecords) {
  EXPECT_EQ(parse_record("v=DMARC1").error, "no p= tag");
  EXPECT_EQ(parse_record("v=DMARC1; pct=100").error, "no p= tag");
  EXPECT_EQ(parse_record("v=DMARC1; p").error, "no p= tag");
  EXPECT_EQ(parse_record("v=DMARC1; p=bogus").error, "invalid p= value");
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; p=none").error, "repeated p= tag");
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; sp=bogus").error, "invalid sp= value");
  EXPECT_EQ(parse_record("v=DMARC1; p=reject; sp=none; sp=none").error, "repeated sp= tag");
  EXPECT_FALSE(parse_record("v=spf1 -all").valid);
  EXPECT_FALSE(parse_record("").valid);
}

TEST(DmarcRecord, BadPolicyWithValidRuaIsPNone) {
  // RFC 7489 §6.6.3 step 6.1.
  for (const char* text :
       {"v=DMARC1; rua=mailto:d@example.com", "v=DMARC1; p=bogus; rua=mailto:d@example.com",
        "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com",
        "v=DMARC1; p=reject; sp=invalid; rua=mailto:rua@example.com"}) {
    const Record r = parse_record(text);
    ASSERT_TRUE(r.valid) << text;
    EXPECT_TRUE(r.p_none_for_rua) << text;
    EXPECT_EQ(r.p, Policy::kNone) << text;
    EXPECT_FALSE(r.sp.has_value()) << text;
  }
  // Only a usable reporting URI counts.
  for (const char* text : {"v=DMARC1; rua=ftp://www.example.com", "v=DMARC1; rua=d@example.com",
                           "v=DMARC1; p=bogus; rua=mailto:", "v=DMARC1; rua=mailto:nobody"}) {
    EXPECT_FALSE(parse_record(text).valid) << text;
  }
}

TEST(DmarcRecord, BadOptionalTagsFallBackToDefaults) {
  // RFC 7489 §6.3: syntax errors in the remainder are discarded in favor of defaults;
  // libopendmarc would refuse every one of these records.
  struct Case {
    const char* tag;
    const char* text;
  };
  const Case cases[] = {
      {"adkim", "adkim=relaxed"},
      {"adkim", "adkim=x"},
      {"aspf", "aspf=strict"},
      {"pct", "pct=500"},
      {"pct", "pct=101"},
      {"pct", "pct=-1"},
      {"pct", "pct=1.5"},
      {"pct", "pct=f"},
      {"pct", "pct=0100"},
      {"pct", "pct="},
      {"psd", "psd=x"},
      {"psd", "psd=yes"},
      {"t", "t=x"},
      {"t", "t=yes"},
      {"t", "t=y; t=y"},
      {"fo", "fo=x"},
      {"fo", "fo=00"},
      {"fo", "fo=0::1"},
      {"rua", "rua=ftp://example.com"},
      {"ruf", "ruf=mail:x@example.com"},
      {"v", "v=DMARC1"},
      {"adkim", "adkim=s; adkim=s"},
  };
  for (const Case& c : cases) {
    const std::string text = std::string("v=DMARC1; p=reject; ") + c.text;
    const Record r = parse_record(text);
    ASSERT_TRUE(r.valid) << text << ": " << r.error;
    EXPECT_EQ(r.p, Policy::kReject) << text;
    EXPECT_EQ(r.adkim, Alignment::kRelaxed) << text;
    EXPECT_EQ(r.aspf, Alignment::kRelaxed) << text;
    EXPECT_EQ(r.pct, 100) << text;
    EXPECT_TRUE(ignored(r, c.tag)) << text;
  }
}

TEST(DmarcRecord, Rfc9989TagsNpPsdT) {
  const Record r = parse_record("v=DMARC1; p=none; sp=quarantine; np=reject; psd=n; t=y");
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(r.np, Policy::kReject);
  EXPECT_EQ(r.psd, Psd::kNo);
  EXPECT_EQ(r.t, true);
  EXPECT_EQ(r.canonical_text(),
            "v=DMARC1; p=none; sp=quarantine; np=reject; adkim=r; aspf=r; psd=n; t=y");
  EXPECT_EQ(parse_record("v=DMARC1; p=none; psd=Y; t=N").psd, Psd::kYes);
  EXPECT_EQ(parse_record("v=DMARC1; p=none; psd=Y; t=N").t, false);
  EXPECT_EQ(parse_record("v=DMARC1; p=none; psd=u").psd, Psd::kUnspecified);
  // RFC 9989 removed ri and rf: unknown tags, ignored without a word, whatever their value.
  const Record old = parse_record("v=DMARC1; p=reject; ri=bob; rf=000000");
  ASSERT_TRUE(old.valid);
  EXPECT_TRUE(old.ignored.empty());
}

TEST(DmarcRecord, InvalidNpIsLikeAnInvalidSp) {
  // RFC 9989 "DMARC Policy Discovery": an np that is not valid: p=none with a valid rua,
  // otherwise no DMARC processing.
  const Record without_rua = parse_record("v=DMARC1; p=reject; np=bogus");
  EXPECT_FALSE(without_rua.valid);
  EXPECT_EQ(without_rua.error, "invalid np= value");
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject; np=none; np=none").valid);
  const Record with_rua =
      parse_record("v=DMARC1; p=reject; np=bogus; rua=mailto:dmarc@example.com");
  ASSERT_TRUE(with_rua.valid);
  EXPECT_TRUE(with_rua.p_none_for_rua);
  EXPECT_EQ(with_rua.p, Policy::kNone);
  EXPECT_FALSE(with_rua.np.has_value());
  EXPECT_EQ(with_rua.rua, std::vector<std::string>{"mailto:dmarc@example.com"});
}

TEST(DmarcRecord, ValidOptionalValues) {
  for (const char* text : {"pct=0",
                           "pct=1",
                           "pct=100",
                           "pct=007",
                           "ri=0",
                           "ri=4294967295",
                           "rf=AFRF",
                           "rf=iodef",
                           "rf=afrf:iodef",
                           "fo=1",
                           "fo=0:1:d:s",
                           "fo=D",
                           "rua=mailto:a@example.com!10m",
                           "rua=http://example.com/pub/dmarc!30m",
                           "ruf=https://example.com/dmarc?report!1m",
                           "rua=mailto:a@example.com,mailto:b@example.org",
                           "newtag=whatever",
                           "np=reject",
                           "psd=n",
                           "t=y"}) {
    const std::string record = std::string("v=DMARC1; p=none; ") + text;
    const Record r = parse_record(record);
    ASSERT_TRUE(r.valid) << record;
    EXPECT_TRUE(r.ignored.empty()) << record << ": " << r.ignored.front();
  }
  EXPECT_EQ(parse_record("v=DMARC1; p=none; pct=0").pct, 0);
  EXPECT_EQ(parse_record("v=DMARC1; p=none; pct=007").pct, 7);
}

TEST(DmarcRecord, OneBadRuaUriKeepsTheGoodOnes) {
  const Record r = parse_record("v=DMARC1; p=bogus; rua=ftp://x.example, mailto:d@example.com");
  ASSERT_TRUE(r.valid);
  EXPECT_TRUE(r.p_none_for_rua);
  ASSERT_EQ(r.rua.size(), 1u);
  EXPECT_EQ(r.rua.front(), "mailto:d@example.com");
  EXPECT_TRUE(ignored(r, "rua"));
}

TEST(DmarcRecord, SyntaxErrorsAreCountedAndSkipped) {
  const Record r = parse_record("v=DMARC1;p=none;fo:0;sp-none;0;1:d:s;=x;9x=1;adkim=s");
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.syntax_errors, 6);
  EXPECT_EQ(r.adkim, Alignment::kStrict);
  EXPECT_FALSE(r.sp.has_value());
}

TEST(DmarcRecord, EightBitAndControlCharactersInvalidateTheirTag) {
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject\xff").valid);
  EXPECT_FALSE(parse_record(std::string("v=DMARC1; p=re\0ject", 19)).valid);
  const Record r = parse_record("v=DMARC1; p=reject; adkim=\x01s");
  ASSERT_TRUE(r.valid);
  EXPECT_TRUE(ignored(r, "adkim"));
  EXPECT_EQ(r.adkim, Alignment::kRelaxed);
}

TEST(DmarcRecord, LengthLimit) {
  const std::string head = "v=DMARC1; p=reject; rua=mailto:d@example.com; x=";
  std::string at_limit = head + std::string(kMaxRecordLength - head.size(), 'a');
  ASSERT_EQ(at_limit.size(), kMaxRecordLength);
  EXPECT_TRUE(parse_record(at_limit).valid);
  const Record past = parse_record(at_limit + "a");
  EXPECT_FALSE(past.valid);
  EXPECT_NE(past.error.find("longer than"), std::string::npos);
  EXPECT_TRUE(is_dmarc_record(at_limit + "a"));  // still counts for "multiple records"
}

TEST(DmarcRecord, ManyTagsNeverCrash) {
  std::string text = "v=DMARC1; p=none";
  for (int i = 0; i < 400; ++i) text += ";p=reject";
  ASSERT_LE(text.size(), kMaxRecordLength);
  EXPECT_FALSE(parse_record(text).valid);  // repeated p
  std::string semis = "v=DMARC1; p=none" + std::string(4000, ';');
  EXPECT_TRUE(parse_record(semis).valid);
}

}  // namespace
}  // namespace authmilter::dmarc

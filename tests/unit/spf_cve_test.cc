// Regression tests for the public libspf2 CVEs, run through spf::Checker over a ZoneResolver:
// the engine, DNS layer and libspf2 calls the daemon uses, with hostile records, exp= texts
// and identities built from each CVE's public description. Each test states the RFC 7208
// result it expects; under the ASan build (build-asan) a memory error in our code, or one in
// libspf2's heap buffers (its malloc/memcpy/sprintf calls are intercepted), fails the test, and
// a stack overflow inside libspf2 aborts it (Debian builds libspf2 with the stack protector).
//
// Debian 12 ships libspf2 1.2.10-7.2: its changelog names the CVE-2021-20314 fix and carries
// the upstream fixes for CVE-2021-33912 ("Sanity check for sprintf") and CVE-2021-33913
// ("Fixed 'reverse' macro modifier") without naming them; the CVE-2023-42118 underflow (fixed
// upstream after 1.2.11) is live in it, so our layer refuses such macro-strings before libspf2
// compiles them (record_lint.h, docs/CONFORMANCE.md "Records refused before libspf2").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/spf.h"

namespace authmilter::spf {
namespace {

using dns::RrType;

dns::Deadline later() { return dns::Clock::now() + std::chrono::seconds(30); }

std::string repeat(std::string_view text, std::size_t times) {
  std::string out;
  out.reserve(text.size() * times);
  for (std::size_t i = 0; i < times; ++i) out.append(text);
  return out;
}

// A TXT RR holds character-strings of at most 255 octets; a long text is several of them
// (RFC 7208 §3.3: joined without spaces).
std::vector<std::string> txt_strings(std::string_view text) {
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < text.size(); i += 255) strings.emplace_back(text.substr(i, 255));
  if (strings.empty()) strings.emplace_back();
  return strings;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  });
  return text;
}

class Libspf2CveTest : public ::testing::Test {
 protected:
  CheckResult mail_from(const std::string& sender, const std::string& ip = "192.0.2.1",
                        const std::string& helo = "mail.example.net") {
    return checker_.check(Request{ip, helo, sender, Identity::kMailFrom}, later());
  }
  // A new domain that fails everyone and explains itself with `text`; returns a sender there.
  std::string explain_with(std::string_view text) {
    const std::string domain = "d" + std::to_string(++domains_) + ".example.org";
    zone_.add_txt(domain, {"v=spf1 -all exp=exp." + domain});
    zone_.add_txt("exp." + domain, txt_strings(text));
    return "alice@" + domain;
  }
  // A new domain publishing `record`; returns its name.
  std::string publish(std::string_view record) {
    const std::string domain = "r" + std::to_string(++domains_) + ".example.org";
    zone_.add_txt(domain, txt_strings(record));
    return domain;
  }

  dns::ZoneResolver zone_;
  Checker checker_{zone_, CheckerOptions{"mx.example.net"}};
  int domains_ = 0;
};

// ---------------------------------------------------------------------------------------------
// CVE-2021-20314: "Stack buffer overflow in libspf2 versions below 1.2.11 when processing
// certain SPF macros ... via malicious crafted SPF explanation messages". SPF_record_compile_
// macro() compiles the exp= text into a stack buffer for 511 octets of data blocks; the room of
// a literal block was not reduced by its 4-octet header, so a literal of 508-511 octets wrote
// up to 4 octets past the buffer.
// RFC 7208 §6.2: the result stays fail; a text the implementation does not take (it MAY limit
// the explanation's length) means no explanation.
TEST_F(Libspf2CveTest, Cve2021_20314_ExplanationLiteralAtTheEndOfTheMacroBuffer) {
  for (std::size_t length : {250u, 255u, 256u, 300u, 503u, 504u, 505u, 506u, 507u, 508u, 509u, 510u,
                             511u, 512u, 513u, 600u, 4000u}) {
    SCOPED_TRACE(length);
    const CheckResult r = mail_from(explain_with(std::string(length, 'A')));
    EXPECT_EQ(r.result, Result::kFail) << r.comment;
    // libspf2 keeps at most 255 octets in one literal block (SPF_MAX_STR_LEN): longer literal
    // runs give no explanation; shorter ones are the explanation, whole.
    EXPECT_EQ(r.explanation, length <= 255 ? std::string(length, 'A') : "");
  }
  // The same sizes reached through spaces (our layer writes them as "%_", one octet each in
  // libspf2's block) and through "%-" (three octets each: "%20").
  for (const std::string& text : {repeat("a ", 254) + "abc", repeat("%-", 169) + "ab"}) {
    SCOPED_TRACE(text.size());
    const CheckResult r = mail_from(explain_with(text));
    EXPECT_EQ(r.result, Result::kFail) << r.comment;
    EXPECT_EQ(r.explanation, "");
  }
}

TEST_F(Libspf2CveTest, Cve2021_20314_LongExplanationsMadeOfSeveralBlocksStillWork) {
  // Literal runs under 256 octets separated by a macro: 412 octets of blocks, within
  // libspf2's buffer. RFC 7208 §6.2: the expanded text is the explanation.
  const std::string sender = explain_with(std::string(200, 'A') + "%{o}" + std::string(200, 'B'));
  const CheckResult r = mail_from(sender);
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(r.explanation, std::string(200, 'A') + r.domain + std::string(200, 'B'));
}

// ---------------------------------------------------------------------------------------------
// CVE-2021-33912: "a four-byte heap-based buffer overflow ... with a crafted SPF DNS record,
// because of incorrect sprintf usage in SPF_record_expand_data". URL-escaping an upper-case
// macro (RFC 7208 §7.3) printed each escaped octet through a signed char, so an 8-bit octet
// became "%ffffffe9" (9 octets and a NUL) in a buffer sized for 3 per octet. The octets come
// from the sender: an 8-bit local-part (%{L}, %{S}), an 8-bit HELO (%{H}), an 8-bit PTR name
// (%{P}); the macro from the sender's own record or exp= text.
// RFC 7208 §7.3: upper-case macro letters are URL-escaped (RFC 3986 §2.1: "%" HEXDIG HEXDIG per
// octet); libspf2 writes lower-case hex digits, which DNS and these comparisons ignore.
TEST_F(Libspf2CveTest, Cve2021_33912_EveryHighOctetIsEscapedInTheExplanation) {
  const std::string sender = explain_with("%{L}");
  std::string local;
  std::string escaped;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int octet = 0x80; octet <= 0xff; ++octet) {
    local.push_back(static_cast<char>(octet));
    escaped += '%';
    escaped += kHex[octet >> 4];
    escaped += kHex[octet & 0xf];
  }
  const CheckResult r = mail_from(local + sender.substr(sender.find('@')));
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(lower(r.explanation), lower(escaped));
}

TEST_F(Libspf2CveTest, Cve2021_33912_EscapedHighOctetsInQueriedNames) {
  // "été" in UTF-8 as the local-part: each octet escaped (names compare case-insensitively).
  const std::string local_part = publish("v=spf1 exists:%{L}.lp.example.net -all");
  zone_.add("%C3%A9t%C3%A9.lp.example.net", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("\xC3\xA9t\xC3\xA9@" + local_part).result, Result::kPass);
  EXPECT_EQ(mail_from("ete@" + local_part).result, Result::kFail);

  // A Latin-1 HELO.
  const std::string helo = publish("v=spf1 exists:%{H}.helo.example.net -all");
  zone_.add("h%E9lo.example.net.helo.example.net", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("ete@" + helo, "192.0.2.1", "h\xE9lo.example.net").result, Result::kPass);
  EXPECT_EQ(mail_from("ete@" + helo, "192.0.2.1", "helo.example.net").result, Result::kFail);

  // The client's validated name (%{p}, RFC 7208 §7.3), from the client's own PTR record.
  const std::string ptr = publish("v=spf1 exists:%{P}.ptr.example.net -all");
  zone_.add("2.2.0.192.in-addr.arpa", RrType::kPtr, "\xFFmx.example.com");
  zone_.add("\xFFmx.example.com", RrType::kA, "192.0.2.2");
  zone_.add("%FFmx.example.com.ptr.example.net", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("ete@" + ptr, "192.0.2.2").result, Result::kPass);
  EXPECT_EQ(mail_from("ete@" + ptr, "192.0.2.3").result, Result::kFail);
}

TEST_F(Libspf2CveTest, Cve2021_33912_SenderHeloAndClientNameInTheExplanation) {
  const std::string sender = explain_with("%{S} from %{H} at %{P}");
  const std::string domain = sender.substr(sender.find('@') + 1);
  zone_.add("2.2.0.192.in-addr.arpa", RrType::kPtr, "mx\xE9.example.com");
  zone_.add("mx\xE9.example.com", RrType::kA, "192.0.2.2");
  const CheckResult r = mail_from("\xE9@" + domain, "192.0.2.2", "\xFE.example.net");
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(lower(r.explanation), "%e9%40" + domain + " from %fe.example.net at mx%e9.example.com");
}

// ---------------------------------------------------------------------------------------------
// CVE-2021-33913: "a heap-based buffer overflow ... because of SPF_record_expand_data ... The
// amount of overflowed data depends on the relationship between the length of an entire domain
// name and the length of its leading component." The "r" (reverse) transformer reused the
// value's length variable for each label, so the reversed value was then cut (digit
// transformer) and URL-escaped (upper-case letter) as if it were as long as its first label:
// a buffer for one label, the whole name written into it.
// RFC 7208 §7.3: split at the delimiters, reverse, keep the rightmost N parts, URL-escape.
TEST_F(Libspf2CveTest, Cve2021_33913_ReversedLongNameWithShortFirstLabel) {
  const std::string middle(60, 'm');
  // %{DR}: the whole name reversed and URL-escaped (nothing to escape).
  const std::string whole = "a." + middle + ".example.org";
  zone_.add_txt(whole, {"v=spf1 exists:%{DR}.rev.example.net -all"});
  zone_.add("org.example." + middle + ".a.rev.example.net", RrType::kA, "127.0.0.2");
  {
    const CheckResult w = mail_from("x@" + whole);
    EXPECT_EQ(w.result, Result::kPass) << w.comment;
  }

  // %{d1r}: the rightmost part of the reversed name is the first label.
  const std::string first = "c." + middle + ".example.org";
  zone_.add_txt(first, {"v=spf1 exists:%{d1r}.one.example.net -all"});
  zone_.add("c.one.example.net", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("x@" + first).result, Result::kPass);
  EXPECT_EQ(zone_.query_count("c.one.example.net", RrType::kA), 1u);

  // %{L2R-}: a long local-part split at '-', reversed, the two rightmost parts, escaped.
  const std::string local = "e." + middle + ".example.org";
  zone_.add_txt(local, {"v=spf1 exists:%{L2R-}.lp.example.net -all"});
  zone_.add("q%2Bz.x.lp.example.net", RrType::kA, "127.0.0.2");
  EXPECT_EQ(mail_from("x-q+z-" + std::string(50, 'w') + "@" + local).result, Result::kPass);
  EXPECT_EQ(mail_from("y-q+z-" + std::string(50, 'w') + "@" + local).result, Result::kFail);
}

TEST_F(Libspf2CveTest, Cve2021_33913_ReverseTransformersInTheExplanation) {
  const std::string middle(60, 'n');
  const std::string domain = "b." + middle + ".example.org";
  zone_.add_txt(domain, {"v=spf1 -all exp=exp.example.org"});
  zone_.add_txt("exp.example.org", {"%{DR} %{d1r} %{d2r} %{l1r-} %{LR+}"});
  const CheckResult r = mail_from("x-y+z@" + domain);
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(lower(r.explanation), "org.example." + middle + ".b b " + middle + ".b x z.x-y");
}

// ---------------------------------------------------------------------------------------------
// CVE-2023-42118 (ZDI-23-1472): "When parsing SPF macros, the process does not properly
// validate user-supplied data, which can result in an integer underflow before writing to
// memory." libspf2's compiler starts a literal block after every macro with the room
// "available - 4" computed in a size_t; a macro ending 508-511 octets into the 511-octet block
// (127 "%{d}" do it) makes that room wrap to SIZE_MAX, and the literal after it is copied past
// the buffer unchecked: past a 519-octet stack buffer for an exp= text (even one octet), past a
// 4096-octet one for a record term. Debian 12's 1.2.10-7.2 predates the upstream fix and
// aborts ("stack smashing detected"). Our layer refuses every macro-string whose compiled
// blocks would reach 508 octets (record_lint.h, kMaxLibspf2Block).
TEST_F(Libspf2CveTest, Cve2023_42118_MacrosFillingTheExplanationBuffer) {
  // RFC 7208 §6.2 (the explanation MAY be limited): fail, without an explanation.
  std::vector<std::string> texts;
  for (std::size_t tail : {1u, 2u, 200u, 3000u}) {
    texts.push_back(repeat("%{d}", 127) + std::string(tail, 'x'));
  }
  // A literal in front moves the macros; each prefix here ends the last macro at octet 508.
  for (std::size_t prefix = 1; prefix <= 12; ++prefix) {
    const std::size_t literal_block = (4 + prefix + 3) / 4 * 4;
    texts.push_back(std::string(prefix, 'p') + repeat("%{l}", (508 - literal_block) / 4) + "tail");
  }
  texts.push_back(repeat("%{i}%%", 42) + "%{v}" + "zz");    // "%%" literals between macros
  texts.push_back(repeat("%{d}", 127) + "%_" + "is bad");   // a space after the macros
  texts.push_back(repeat("%{d}", 127) + "%{h}" + "after");  // one macro too many
  for (const std::string& text : texts) {
    SCOPED_TRACE(text.substr(0, 40) + "... (" + std::to_string(text.size()) + " octets)");
    const CheckResult r = mail_from(explain_with(text));
    EXPECT_EQ(r.result, Result::kFail) << r.comment;
    EXPECT_EQ(r.explanation, "");
  }
}

TEST_F(Libspf2CveTest, Cve2023_42118_MacrosMadeLongByOurRewritesInTheExplanation) {
  // Our layer expands macros with the ',' delimiter itself (libspf2 does not know it): here a
  // 4-octet macro block becomes a 20-octet literal block, after which 122 macros end at octet
  // 508, and the "x" would be written past libspf2's buffer. Checked after the rewrite.
  const std::string sender = explain_with("%{l,}" + repeat("%{d}", 122) + "x");
  const CheckResult r = mail_from("abcdef,ghijkl" + sender.substr(sender.find('@')));
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(r.explanation, "");
}

TEST_F(Libspf2CveTest, Cve2023_42118_ExplanationsBelowTheLimitStillWork) {
  // 126 macros and a 3-octet literal: 504 + 8 octets, more than the buffer holds: no
  // explanation. 30 macros and a literal: 128 octets, explained.
  EXPECT_EQ(mail_from(explain_with(repeat("%{d}", 126) + "abc")).explanation, "");
  const CheckResult r = mail_from(explain_with(repeat("%{d}", 30) + " end"));
  EXPECT_EQ(r.result, Result::kFail) << r.comment;
  EXPECT_EQ(r.explanation, repeat(r.domain, 30) + " end");
}

TEST_F(Libspf2CveTest, Cve2023_42118_MacrosFillingARecordTerm) {
  // The record terms libspf2 compiles into 511-octet blocks: domain-specs of mechanisms (after
  // their CIDR block) and the values of redirect= and exp=. RFC 7208 §4.6: a record that
  // cannot be evaluated is permerror (what a fixed libspf2 returns too: SPF_E_BIG_STRING).
  const std::string filler = repeat("%{d}", 127) + std::string(5000, 'A') + ".example";
  const std::vector<std::string> records = {
      "v=spf1 exists:" + filler + " -all",
      "v=spf1 include:" + filler + " -all",
      "v=spf1 a:" + repeat("%{d}", 126) + std::string(5000, 'A') + ".example/24 -all",
      "v=spf1 mx:" + repeat("%{d}", 126) + std::string(5000, 'A') + ".example//64 -all",
      "v=spf1 ip4:192.0.2.1 redirect=" + filler,
      "v=spf1 -all exp=" + filler,
      "v=spf1 ptr:xxx" + repeat("%{o}", 125) + std::string(4000, 'B') + ".example -all",
  };
  for (const std::string& record : records) {
    SCOPED_TRACE(record.substr(0, 40));
    const CheckResult r = mail_from("alice@" + publish(record));
    EXPECT_EQ(r.result, Result::kPermError) << r.comment;
    EXPECT_NE(r.comment.find("too long for libspf2"), std::string::npos) << r.comment;
  }
}

TEST_F(Libspf2CveTest, Cve2023_42118_RecordTermsMadeLongByOurRewrites) {
  // As in the explanation: 500 octets as published, 516 once our layer has expanded "%{l,}".
  // RFC 7208 §4.6: permerror.
  const std::string domain = publish("v=spf1 exists:%{l,}" + repeat("%{d}", 122) + "x.to -all");
  const CheckResult r = mail_from("abcdef,ghijkl@" + domain);
  EXPECT_EQ(r.result, Result::kPermError) << r.comment;
  EXPECT_NE(r.comment.find("too long for libspf2"), std::string::npos) << r.comment;
}

TEST_F(Libspf2CveTest, Cve2023_42118_RecordTermsBelowTheLimitStillWork) {
  // 30 macros in one domain-spec: 380 octets of blocks. RFC 7208 §4.8: the expansion is cut
  // from the left to 253 octets, and that name exists.
  const std::string domain = publish("v=spf1 exists:" + repeat("%{d}.", 30) + "x.example.net -all");
  std::string expanded = repeat(domain + ".", 30) + "x.example.net";
  while (expanded.size() > 253) expanded.erase(0, expanded.find('.') + 1);
  zone_.add(expanded, RrType::kA, "127.0.0.2");
  const CheckResult r = mail_from("alice@" + domain);
  EXPECT_EQ(r.result, Result::kPass) << r.comment;
}

// ---------------------------------------------------------------------------------------------
// The capacity rule itself (record_lint.h): libspf2_block_size() at the limit and one past.
TEST(Libspf2BlockSize, CountsBlocksAsLibspf2CompilesThem) {
  EXPECT_EQ(libspf2_block_size(""), 0u);
  EXPECT_EQ(libspf2_block_size("a"), 8u);     // 4-octet header + 1, aligned
  EXPECT_EQ(libspf2_block_size("abcd"), 8u);  // 4 + 4
  EXPECT_EQ(libspf2_block_size("abcde"), 12u);
  EXPECT_EQ(libspf2_block_size("%{d}"), 4u);
  EXPECT_EQ(libspf2_block_size("%{d}x%{i}"), 16u);
  EXPECT_EQ(libspf2_block_size("%%%_"), 8u);   // one octet each
  EXPECT_EQ(libspf2_block_size("%-%-"), 12u);  // "%20%20": 4 + 6
  EXPECT_EQ(libspf2_block_size("x%"), 8u);     // a lone '%' is copied
  EXPECT_EQ(libspf2_block_size("%{d"), 4u);    // libspf2 rejects it anyway
}

TEST(Libspf2Capacity, TermsAtTheLimitPassAndOnePastAreRefused) {
  struct Case {
    std::string record;
    bool fits;
  };
  const std::string label496(496, 'a');
  const Case cases[] = {
      {"v=spf1 exists:" + label496 + ".org -all", true},              // 4 + 500
      {"v=spf1 exists:" + label496 + "a.org -all", false},            // 4 + 501 -> 508
      {"v=spf1 a:" + std::string(492, 'a') + ".org/24 -all", true},   // 4 + (4 + 496)
      {"v=spf1 a:" + std::string(493, 'a') + ".org/24 -all", false},  // 4 + 504
      {"v=spf1 exists:" + repeat("%{d}", 126) + " -all", true},       // 504
      {"v=spf1 exists:" + repeat("%{d}", 127) + " -all", false},  // 508: the CVE-2023-42118 spot
      {"v=spf1 -all exp=" + repeat("%{d}", 126), true},
      {"v=spf1 -all exp=" + repeat("%{d}", 127), false},
      {"v=spf1 redirect=" + repeat("%{d}", 127), false},
      {"v=spf1 ip4:192.0.2.1/32 ip6:2001:db8::/32 ptr -all", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.record.substr(0, 60));
    const std::string problem = check_libspf2_capacity(c.record);
    EXPECT_EQ(problem.empty(), c.fits) << problem;
    EXPECT_EQ(prepare_record(c.record).problem.empty(), c.fits);
    if (!c.fits) {
      EXPECT_NE(problem.find("too long for libspf2"), std::string::npos);
    }
  }
}

TEST(Libspf2Capacity, UpperCaseReverseTransformerIsWrittenLowerCase) {
  // RFC 7208 §7.1 "r" is case-insensitive (RFC 5234 §2.3); libspf2 accepts only "r".
  const MacroValue unknown = [](char) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_EQ(fix_macros("%{dR}.%{L2R-}.%{ir}.%{d1R}x", unknown), "%{dr}.%{L2r-}.%{ir}.%{d1r}x");
  EXPECT_EQ(fix_macros("%{dRx}", unknown), "%{dRx}");  // malformed: libspf2 reports it
  const MacroValue known = [](char) -> std::optional<std::string> { return "a.b"; };
  EXPECT_EQ(fix_macros("%{d9R}", known), "%{dr}");  // all parts kept: digits go too
}

}  // namespace
}  // namespace authmilter::spf

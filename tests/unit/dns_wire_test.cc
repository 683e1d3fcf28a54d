// Tests for the DNS wire-format parser and encoder (authmilter/dns/wire.h): crafted packets,
// hostile ones included, written out byte by byte where the layout matters.
#include "authmilter/dns/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace authmilter::dns::wire {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Section = ResponseBuilder::Section;

constexpr std::uint16_t kResponse = kFlagQr | kFlagRd | kFlagRa;

// 12-octet header.
Bytes header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an,
             std::uint16_t ns = 0, std::uint16_t ar = 0) {
  Bytes out;
  for (std::uint16_t v : {id, flags, qd, an, ns, ar}) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
  }
  return out;
}

void append(Bytes& out, std::initializer_list<int> bytes) {
  for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
}

void append_text(Bytes& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

// Header + question "example.org" (offset 12) of `type`, class IN.
Bytes with_question(std::uint16_t flags, std::uint16_t an, std::uint16_t type, std::uint16_t ns = 0,
                    std::uint16_t id = 0x1234) {
  Bytes out = header(id, flags, 1, an, ns);
  append(out, {7});
  append_text(out, "example");
  append(out, {3});
  append_text(out, "org");
  append(out, {0, type >> 8, type & 0xff, 0, 1});
  return out;
}

// RR header with owner = pointer to the question name.
void rr_header(Bytes& out, std::uint16_t type, std::uint32_t ttl, std::uint16_t rdlength) {
  append(out, {0xc0, 12, type >> 8, type & 0xff, 0, 1, static_cast<int>(ttl >> 24),
               static_cast<int>((ttl >> 16) & 0xff), static_cast<int>((ttl >> 8) & 0xff),
               static_cast<int>(ttl & 0xff), rdlength >> 8, rdlength & 0xff});
}

std::string ipv4(const std::string& raw) {
  return std::to_string(static_cast<unsigned char>(raw[0])) + "." +
         std::to_string(static_cast<unsigned char>(raw[1])) + "." +
         std::to_string(static_cast<unsigned char>(raw[2])) + "." +
         std::to_string(static_cast<unsigned char>(raw[3]));
}

TEST(DnsWire, ParsesAnARecordWithCompressedOwner) {
  Bytes p = with_question(kResponse, 1, 1);
  rr_header(p, 1, 300, 4);
  append(p, {192, 0, 2, 1});
  Answer a = parse_response(p, "example.org", RrType::kA, 0x1234);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(ipv4(a.records[0].data), "192.0.2.1");
  EXPECT_EQ(a.records[0].ttl, 300u);
  EXPECT_EQ(a.ttl, 300u);
  EXPECT_FALSE(a.authenticated);
}

TEST(DnsWire, QuestionMatchesCaseInsensitivelyAndIgnoresTrailingDot) {
  Bytes p = with_question(kResponse, 1, 1);
  rr_header(p, 1, 300, 4);
  append(p, {192, 0, 2, 1});
  EXPECT_EQ(parse_response(p, "EXAMPLE.Org.", RrType::kA).status, Status::kNoError);
}

TEST(DnsWire, TxtKeepsStringsApartAndConcatenated) {
  Bytes p = with_question(kResponse, 1, 16);
  rr_header(p, 16, 60, 1 + 7 + 1 + 7 + 1);
  append(p, {7});
  append_text(p, "v=spf1 ");
  append(p, {7});
  append_text(p, "mx -all");
  append(p, {0});  // an empty character-string is legal
  Answer a = parse_response(p, "example.org", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].data, "v=spf1 mx -all");
  EXPECT_EQ(a.records[0].strings, (std::vector<std::string>{"v=spf1 ", "mx -all", ""}));
}

TEST(DnsWire, TxtKeepsEightBitAndNulBytesInData) {
  Bytes p = with_question(kResponse, 1, 16);
  rr_header(p, 16, 60, 4);
  append(p, {3, 0xff, 0x00, 'a'});
  Answer a = parse_response(p, "example.org", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(a.records[0].data, std::string("\xff\0a", 3));
}

TEST(DnsWire, MxWithExchangeCompressedIntoTheQuestion) {
  Bytes p = with_question(kResponse, 1, 15);
  rr_header(p, 15, 3600, 2 + 3 + 2);
  append(p, {0, 10, 2, 'm', 'x', 0xc0, 12});  // "mx" + pointer to example.org
  Answer a = parse_response(p, "example.org", RrType::kMx);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(a.records[0].preference, 10);
  EXPECT_EQ(a.records[0].data, "mx.example.org");
}

TEST(DnsWire, NullMxExchangeIsTheEmptyName) {
  Bytes p = with_question(kResponse, 1, 15);
  rr_header(p, 15, 3600, 3);
  append(p, {0, 0, 0});  // RFC 7505: preference 0, exchange "."
  Answer a = parse_response(p, "example.org", RrType::kMx);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(a.records[0].data, "");
}

TEST(DnsWire, NameInRdataMustFillTheRdataExactly) {
  Bytes p = with_question(kResponse, 1, 12);
  rr_header(p, 12, 60, 3);
  append(p, {0xc0, 12, 0});  // a pointer, then a stray octet
  EXPECT_EQ(parse_response(p, "example.org", RrType::kPtr).status, Status::kError);
}

TEST(DnsWire, FollowsCnameChainInTheAnswer) {
  ResponseBuilder b(0x1234, kResponse);
  b.question("www.example.org", 1)
      .name_record(Section::kAnswer, "www.example.org", 5, 600, "web.example.net")
      .name_record(Section::kAnswer, "WEB.example.NET", 5, 30, "host.example.com")
      .a(Section::kAnswer, "host.example.com", 300, "192.0.2.7")
      .a(Section::kAnswer, "unrelated.example.com", 300, "192.0.2.66");
  Answer a = parse_response(b.finish(), "www.example.org", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(ipv4(a.records[0].data), "192.0.2.7");
  EXPECT_EQ(a.ttl, 30u);  // the chain is only as good as its shortest-lived link
}

TEST(DnsWire, CnameQueryReturnsTheCnameItself) {
  ResponseBuilder b(1, kResponse);
  b.question("alias.example.org", 5)
      .name_record(Section::kAnswer, "alias.example.org", 5, 60, "Target.Example.org");
  Answer a = parse_response(b.finish(), "alias.example.org", RrType::kCname);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(a.records[0].data, "Target.Example.org");  // case preserved
}

Bytes cname_chain(std::size_t links) {
  ResponseBuilder b(1, kResponse);
  b.question("c0.example.org", 16);
  for (std::size_t i = 0; i < links; ++i) {
    b.name_record(Section::kAnswer, "c" + std::to_string(i) + ".example.org", 5, 60,
                  "c" + std::to_string(i + 1) + ".example.org");
  }
  b.txt(Section::kAnswer, "c" + std::to_string(links) + ".example.org", 60, {"end"});
  return b.finish();
}

TEST(DnsWire, CnameChainAtTheLimitAndOnePast) {
  Answer at = parse_response(cname_chain(kMaxCnameChain), "c0.example.org", RrType::kTxt);
  ASSERT_EQ(at.status, Status::kNoError) << at.detail;
  EXPECT_EQ(at.records[0].data, "end");
  EXPECT_EQ(parse_response(cname_chain(kMaxCnameChain + 1), "c0.example.org", RrType::kTxt).status,
            Status::kError);
}

TEST(DnsWire, CnameLoopIsAnError) {
  ResponseBuilder b(1, kResponse);
  b.question("a.example.org", 1)
      .name_record(Section::kAnswer, "a.example.org", 5, 60, "b.example.org")
      .name_record(Section::kAnswer, "b.example.org", 5, 60, "a.example.org");
  Answer a = parse_response(b.finish(), "a.example.org", RrType::kA);
  EXPECT_EQ(a.status, Status::kError);
  // Named as a loop (it ends up in A-R comments), not as an over-long chain.
  EXPECT_EQ(a.detail, "CNAME loop (2 CNAMEs in the reply)");
}

TEST(DnsWire, CnameLoopIsFoundWhateverTheCase) {
  ResponseBuilder b(1, kResponse);
  b.question("a.example.org", 16)
      .name_record(Section::kAnswer, "a.example.org", 5, 60, "B.example.org")
      .name_record(Section::kAnswer, "b.example.org", 5, 60, "c.example.org")
      .name_record(Section::kAnswer, "c.example.org", 5, 60, "A.EXAMPLE.ORG");
  Answer a = parse_response(b.finish(), "a.example.org", RrType::kTxt);
  EXPECT_EQ(a.status, Status::kError);
  EXPECT_EQ(a.detail, "CNAME loop (3 CNAMEs in the reply)");
}

TEST(DnsWire, CnameWithoutTargetRecordsIsNoData) {
  ResponseBuilder b(1, kFlagQr);
  b.question("a.example.org", 16).name_record(Section::kAnswer, "a.example.org", 5, 60, "b.test");
  EXPECT_EQ(parse_response(b.finish(), "a.example.org", RrType::kTxt).status, Status::kNoData);
}

TEST(DnsWire, NxDomainNegativeTtlIsMinOfSoaTtlAndMinimum) {
  {
    ResponseBuilder b(1, kResponse | static_cast<std::uint16_t>(Rcode::kNxDomain));
    b.question("nx.example.org", 16).soa(Section::kAuthority, "example.org", 900, 60);
    Answer a = parse_response(b.finish(), "nx.example.org", RrType::kTxt);
    EXPECT_EQ(a.status, Status::kNxDomain);
    EXPECT_EQ(a.ttl, 60u);
    EXPECT_TRUE(a.records.empty());
  }
  {
    ResponseBuilder b(1, kResponse | static_cast<std::uint16_t>(Rcode::kNxDomain));
    b.question("nx.example.org", 16).soa(Section::kAuthority, "example.org", 30, 3600);
    EXPECT_EQ(parse_response(b.finish(), "nx.example.org", RrType::kTxt).ttl, 30u);
  }
}

TEST(DnsWire, NoDataWithAndWithoutSoa) {
  ResponseBuilder with(1, kResponse);
  with.question("example.org", 28).soa(Section::kAuthority, "example.org", 300, 120);
  Answer a = parse_response(with.finish(), "example.org", RrType::kAaaa);
  EXPECT_EQ(a.status, Status::kNoData);
  EXPECT_EQ(a.ttl, 120u);
  ResponseBuilder without(1, kResponse);
  without.question("example.org", 28);
  Answer b = parse_response(without.finish(), "example.org", RrType::kAaaa);
  EXPECT_EQ(b.status, Status::kNoData);
  EXPECT_EQ(b.ttl, 0u);  // RFC 2308 §5: not cacheable
}

TEST(DnsWire, NoDataWhenOnlyOtherTypesAnswer) {
  ResponseBuilder b(1, kResponse);
  b.question("example.org", 16).a(Section::kAnswer, "example.org", 60, "192.0.2.1");
  EXPECT_EQ(parse_response(b.finish(), "example.org", RrType::kTxt).status, Status::kNoData);
}

TEST(DnsWire, RcodeMapping) {
  const std::pair<Rcode, Status> cases[] = {
      {Rcode::kServFail, Status::kServFail},   {Rcode::kRefused, Status::kError},
      {Rcode::kFormErr, Status::kError},       {Rcode::kNotImp, Status::kError},
      {static_cast<Rcode>(9), Status::kError},
  };
  for (const auto& [rcode, status] : cases) {
    ResponseBuilder b(1, kResponse | static_cast<std::uint16_t>(rcode));
    b.question("example.org", 1);
    EXPECT_EQ(parse_response(b.finish(), "example.org", RrType::kA).status, status)
        << static_cast<int>(rcode);
  }
}

TEST(DnsWire, AdBitIsReported) {
  ResponseBuilder b(1, kResponse | kFlagAd);
  b.question("example.org", 1).a(Section::kAnswer, "example.org", 60, "192.0.2.1");
  EXPECT_TRUE(parse_response(b.finish(), "example.org", RrType::kA).authenticated);
}

TEST(DnsWire, RejectsWrongIdQuestionTypeAndClass) {
  ResponseBuilder b(0x1234, kResponse);
  b.question("example.org", 1).a(Section::kAnswer, "example.org", 60, "192.0.2.1");
  const Bytes p = b.finish();
  EXPECT_EQ(parse_response(p, "example.org", RrType::kA, 0x1234).status, Status::kNoError);
  EXPECT_EQ(parse_response(p, "example.org", RrType::kA, 0x1235).status, Status::kError);
  EXPECT_EQ(parse_response(p, "example.com", RrType::kA).status, Status::kError);
  EXPECT_EQ(parse_response(p, "xexample.org", RrType::kA).status, Status::kError);
  EXPECT_EQ(parse_response(p, "example.org", RrType::kAaaa).status, Status::kError);
  ResponseBuilder chaos(0x1234, kResponse);
  chaos.question("example.org", 1, 3);
  EXPECT_EQ(parse_response(chaos.finish(), "example.org", RrType::kA).status, Status::kError);
}

TEST(DnsWire, RejectsQueriesAndOddQuestionCounts) {
  Bytes query = encode_query(1, "example.org", 1);
  EXPECT_EQ(parse_response(query, "example.org", RrType::kA).status, Status::kError);
  EXPECT_EQ(parse_response(header(1, kResponse, 0, 0), "example.org", RrType::kA).status,
            Status::kError);
  ResponseBuilder two(1, kResponse);
  two.question("example.org", 1).question("example.org", 1);
  EXPECT_EQ(parse_response(two.finish(), "example.org", RrType::kA).status, Status::kError);
  ResponseBuilder notify(1, kResponse | (4 << 11));
  notify.question("example.org", 1);
  EXPECT_EQ(parse_response(notify.finish(), "example.org", RrType::kA).status, Status::kError);
}

TEST(DnsWire, TruncatedFlagIsAnError) {
  ResponseBuilder b(1, kResponse | kFlagTc);
  b.question("example.org", 16).txt(Section::kAnswer, "example.org", 60, {"v=spf1 -all"});
  Answer a = parse_response(b.finish(), "example.org", RrType::kTxt);
  EXPECT_EQ(a.status, Status::kError);
  EXPECT_NE(a.detail.find("truncated"), std::string::npos);
}

TEST(DnsWire, EveryPrefixOfAValidReplyIsRejectedCleanly) {
  ResponseBuilder b(1, kResponse);
  b.question("example.org", 16)
      .name_record(Section::kAnswer, "example.org", 5, 60, "t.example.org")
      .txt(Section::kAnswer, "t.example.org", 60, {"abc", "def"})
      .soa(Section::kAuthority, "example.org", 60, 60);
  const Bytes full = b.finish();
  ASSERT_EQ(parse_response(full, "example.org", RrType::kTxt).status, Status::kNoError);
  for (std::size_t n = 0; n < full.size(); ++n) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<long>(n));
    EXPECT_EQ(parse_response(prefix, "example.org", RrType::kTxt).status, Status::kError) << n;
  }
}

TEST(DnsWire, AbsurdRecordCountsAreRejected) {
  Bytes p = with_question(kResponse, 0xffff, 1);
  rr_header(p, 1, 60, 4);
  append(p, {192, 0, 2, 1});
  Answer a = parse_response(p, "example.org", RrType::kA);
  EXPECT_EQ(a.status, Status::kError);
  EXPECT_NE(a.detail.find("counts"), std::string::npos);
}

TEST(DnsWire, AddressRecordsOfWrongLengthAreRejected) {
  Bytes p = with_question(kResponse, 1, 1);
  rr_header(p, 1, 60, 5);
  append(p, {192, 0, 2, 1, 9});
  EXPECT_EQ(parse_response(p, "example.org", RrType::kA).status, Status::kError);
  Bytes q = with_question(kResponse, 1, 28);
  rr_header(q, 28, 60, 4);
  append(q, {192, 0, 2, 1});
  EXPECT_EQ(parse_response(q, "example.org", RrType::kAaaa).status, Status::kError);
}

TEST(DnsWire, TxtStringRunningPastItsRdataIsRejected) {
  Bytes p = with_question(kResponse, 1, 16);
  rr_header(p, 16, 60, 3);
  append(p, {5, 'a', 'b'});
  append(p, {'c', 'd', 'e'});  // present in the packet, but outside the rdata
  EXPECT_EQ(parse_response(p, "example.org", RrType::kTxt).status, Status::kError);
}

Bytes txt_of_length(std::size_t length) {
  std::vector<std::string> strings;
  for (std::size_t left = length; left > 0;) {
    const std::size_t piece = std::min<std::size_t>(left, 255);
    strings.emplace_back(piece, 'k');
    left -= piece;
  }
  ResponseBuilder b(1, kResponse);
  b.question("example.org", 16).txt(Section::kAnswer, "example.org", 60, strings);
  return b.finish();
}

TEST(DnsWire, HugeTxtAtTheLimitAndOnePast) {
  Answer at = parse_response(txt_of_length(kMaxTxtLength), "example.org", RrType::kTxt);
  ASSERT_EQ(at.status, Status::kNoError) << at.detail;
  EXPECT_EQ(at.records[0].data.size(), kMaxTxtLength);
  Answer past = parse_response(txt_of_length(kMaxTxtLength + 1), "example.org", RrType::kTxt);
  EXPECT_EQ(past.status, Status::kError);
  EXPECT_NE(past.detail.find("TXT"), std::string::npos);
}

TEST(DnsWire, TtlWithTopBitSetCountsAsZero) {
  Bytes p = with_question(kResponse, 1, 1);
  rr_header(p, 1, 0x80000010u, 4);
  append(p, {192, 0, 2, 1});
  Answer a = parse_response(p, "example.org", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.ttl, 0u);
}

TEST(DnsWire, DuplicateRecordsAreDropped) {
  ResponseBuilder b(1, kResponse);
  b.question("example.org", 16)
      .txt(Section::kAnswer, "example.org", 60, {"v=spf1 -all"})
      .txt(Section::kAnswer, "EXAMPLE.org", 60, {"v=spf1 -all"})
      .txt(Section::kAnswer, "example.org", 60, {"v=spf1 ", "-all"});  // other rdata
  Answer a = parse_response(b.finish(), "example.org", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError);
  EXPECT_EQ(a.records.size(), 2u);
}

TEST(DnsWire, RecordsOfOtherClassesAreIgnored) {
  ResponseBuilder b(1, kResponse);
  const std::uint8_t addr[] = {192, 0, 2, 9};
  b.question("example.org", 1).record(Section::kAnswer, "example.org", 1, 60, addr, 3);
  EXPECT_EQ(parse_response(b.finish(), "example.org", RrType::kA).status, Status::kNoData);
}

// --- names ---

TEST(DnsWireName, PointerLoopsAndForwardPointersAreRejected) {
  std::string name;
  {
    Bytes p = header(0, 0, 0, 0);
    append(p, {0xc0, 12});  // points at itself
    std::size_t off = 12;
    EXPECT_FALSE(read_name(p, off, name));
  }
  {
    Bytes p = header(0, 0, 0, 0);
    append(p, {0xc0, 14, 0});  // points forward
    std::size_t off = 12;
    EXPECT_FALSE(read_name(p, off, name));
  }
  {
    // "a" + pointer back to "a": a loop through a label.
    Bytes p = header(0, 0, 0, 0);
    append(p, {1, 'a', 0xc0, 12});
    std::size_t off = 12;
    EXPECT_FALSE(read_name(p, off, name));
    off = 14;
    EXPECT_FALSE(read_name(p, off, name));
  }
  {
    Bytes p = header(0, 0, 0, 0);
    append(p, {0xc0});  // pointer cut in half
    std::size_t off = 12;
    EXPECT_FALSE(read_name(p, off, name));
  }
}

TEST(DnsWireName, PointerHopsAtTheLimitAndOnePast) {
  // A root label at 12, then a chain of pointers, each to the previous one.
  Bytes p = header(0, 0, 0, 0);
  append(p, {0});
  for (std::size_t i = 0; i <= kMaxPointerHops; ++i) {
    const std::size_t target = i == 0 ? 12 : 13 + 2 * (i - 1);
    append(p, {0xc0 | static_cast<int>(target >> 8), static_cast<int>(target & 0xff)});
  }
  std::string name;
  std::size_t at_limit = 13 + 2 * (kMaxPointerHops - 1);
  EXPECT_TRUE(read_name(p, at_limit, name));
  EXPECT_EQ(name, "");
  EXPECT_EQ(at_limit, 13 + 2 * kMaxPointerHops);
  std::size_t past = 13 + 2 * kMaxPointerHops;
  EXPECT_FALSE(read_name(p, past, name));
}

TEST(DnsWireName, LabelAtSixtyThreeAndPast) {
  std::string name;
  Bytes ok = header(0, 0, 0, 0);
  append(ok, {63});
  ok.insert(ok.end(), 63, 'x');
  append(ok, {0});
  std::size_t off = 12;
  ASSERT_TRUE(read_name(ok, off, name));
  EXPECT_EQ(name, std::string(63, 'x'));
  EXPECT_EQ(off, ok.size());
  Bytes bad = header(0, 0, 0, 0);
  append(bad, {64});  // 0x40: an extended label type, not a length
  bad.insert(bad.end(), 64, 'x');
  append(bad, {0});
  off = 12;
  EXPECT_FALSE(read_name(bad, off, name));
}

Bytes name_of_wire_length(std::size_t wire_length) {
  // Labels of 63 octets, then one shorter label, then the root octet.
  Bytes p = header(0, 0, 0, 0);
  std::size_t left = wire_length - 1;
  while (left > 0) {
    const std::size_t label = std::min<std::size_t>(left - 1, 63);
    p.push_back(static_cast<std::uint8_t>(label));
    p.insert(p.end(), label, 'n');
    left -= label + 1;
  }
  p.push_back(0);
  return p;
}

TEST(DnsWireName, NameAt255OctetsAndPast) {
  std::string name;
  Bytes ok = name_of_wire_length(kMaxNameWireLength);
  std::size_t off = 12;
  EXPECT_TRUE(read_name(ok, off, name));
  EXPECT_EQ(name.size(), kMaxNameWireLength - 2);  // no leading length, no root octet
  Bytes bad = name_of_wire_length(kMaxNameWireLength + 1);
  off = 12;
  EXPECT_FALSE(read_name(bad, off, name));
}

TEST(DnsWireName, NulAndDotInsideLabelsAreRejected) {
  std::string name;
  Bytes nul = header(0, 0, 0, 0);
  append(nul, {3, 'a', 0, 'b', 0});
  std::size_t off = 12;
  EXPECT_FALSE(read_name(nul, off, name));
  Bytes dot = header(0, 0, 0, 0);
  append(dot, {3, 'a', '.', 'b', 0});
  off = 12;
  EXPECT_FALSE(read_name(dot, off, name));
}

TEST(DnsWireName, AppendNameLimits) {
  Bytes out;
  append_name(out, "Example.ORG.");
  EXPECT_EQ(out, (Bytes{7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'O', 'R', 'G', 0}));
  out.clear();
  append_name(out, "");
  EXPECT_EQ(out, Bytes{0});
  EXPECT_THROW(append_name(out, "a..b"), std::invalid_argument);
  EXPECT_THROW(append_name(out, ".a"), std::invalid_argument);
  EXPECT_NO_THROW(append_name(out, std::string(63, 'a') + ".b"));
  EXPECT_THROW(append_name(out, std::string(64, 'a') + ".b"), std::invalid_argument);
  const std::string label(63, 'l');
  const std::string at_limit = label + "." + label + "." + label + "." + std::string(61, 'l');
  EXPECT_NO_THROW(append_name(out, at_limit));
  EXPECT_THROW(append_name(out, at_limit + "l"), std::invalid_argument);
}

// --- encoder round trips and queries ---

TEST(DnsWireEncode, ResponseRoundTripsEveryType) {
  Answer txt;
  txt.status = Status::kNoError;
  txt.authenticated = true;
  Record t;
  t.type = RrType::kTxt;
  t.ttl = 77;
  t.strings = {"v=DKIM1; k=rsa; ", "p=AAAA"};
  t.data = "v=DKIM1; k=rsa; p=AAAA";
  txt.records.push_back(t);
  Answer got = parse_response(encode_response(9, "sel._domainkey.example.org", RrType::kTxt, txt),
                              "sel._domainkey.example.org", RrType::kTxt, 9);
  ASSERT_EQ(got.status, Status::kNoError) << got.detail;
  EXPECT_TRUE(got.authenticated);
  EXPECT_EQ(got.records[0].strings, t.strings);
  EXPECT_EQ(got.records[0].ttl, 77u);

  Answer mx;
  mx.status = Status::kNoError;
  Record m;
  m.type = RrType::kMx;
  m.preference = 20;
  m.data = "mx2.example.org";
  mx.records.push_back(m);
  got = parse_response(encode_response(1, "example.org", RrType::kMx, mx), "example.org",
                       RrType::kMx);
  ASSERT_EQ(got.status, Status::kNoError);
  EXPECT_EQ(got.records[0].preference, 20);
  EXPECT_EQ(got.records[0].data, "mx2.example.org");

  Answer aaaa;
  aaaa.status = Status::kNoError;
  Record six;
  six.type = RrType::kAaaa;
  six.data = std::string(15, '\0') + "\x01";
  aaaa.records.push_back(six);
  got = parse_response(encode_response(1, "example.org", RrType::kAaaa, aaaa), "example.org",
                       RrType::kAaaa);
  ASSERT_EQ(got.status, Status::kNoError);
  EXPECT_EQ(got.records[0].data, six.data);

  Answer long_txt;
  long_txt.status = Status::kNoError;
  Record l;
  l.type = RrType::kTxt;
  l.data = std::string(600, 'z');  // no strings: cut at 255
  long_txt.records.push_back(l);
  got = parse_response(encode_response(1, "example.org", RrType::kTxt, long_txt), "example.org",
                       RrType::kTxt);
  ASSERT_EQ(got.status, Status::kNoError);
  EXPECT_EQ(got.records[0].data, l.data);
  EXPECT_EQ(got.records[0].strings.size(), 3u);
}

TEST(DnsWireEncode, NegativeAndFailureAnswers) {
  Answer nx;
  nx.status = Status::kNxDomain;
  nx.ttl = 45;
  Answer got = parse_response(encode_response(1, "nx.example.org", RrType::kA, nx),
                              "nx.example.org", RrType::kA);
  EXPECT_EQ(got.status, Status::kNxDomain);
  EXPECT_EQ(got.ttl, 45u);
  Answer timeout = Answer::failure(Status::kTimeout, "x");
  EXPECT_EQ(
      parse_response(encode_response(1, "a.org", RrType::kA, timeout), "a.org", RrType::kA).status,
      Status::kServFail);
}

TEST(DnsWireEncode, BadRecordsThrow) {
  Record a;
  a.type = RrType::kA;
  a.data = "abc";
  EXPECT_THROW(encode_rdata(a), std::invalid_argument);
  Record t;
  t.type = RrType::kTxt;
  t.strings = {std::string(256, 'x')};
  EXPECT_THROW(encode_rdata(t), std::invalid_argument);
}

TEST(DnsWireQuery, RoundTripWithEdns) {
  const Bytes q = encode_query(0xbeef, "Example.org", 16, kFlagRd | kFlagAd, 1232);
  auto parsed = parse_query(q);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, 0xbeef);
  EXPECT_EQ(parsed->name, "Example.org");
  EXPECT_EQ(parsed->type, 16);
  EXPECT_EQ(parsed->qclass, kClassIn);
  EXPECT_TRUE(parsed->flags & kFlagAd);
  ASSERT_TRUE(parsed->edns_udp_size.has_value());
  EXPECT_EQ(*parsed->edns_udp_size, 1232);
  EXPECT_FALSE(parse_query(encode_query(1, "a.org", 1)).value().edns_udp_size.has_value());
}

TEST(DnsWireQuery, GarbageIsNotAQuery) {
  EXPECT_FALSE(parse_query(Bytes{}).has_value());
  EXPECT_FALSE(parse_query(Bytes(11, 0)).has_value());
  EXPECT_FALSE(parse_query(header(1, kFlagQr, 1, 0)).has_value());  // a response
  Bytes q = encode_query(1, "a.org", 1);
  q.pop_back();
  EXPECT_FALSE(parse_query(q).has_value());
}

// Random corruption of valid replies: nothing may crash or read out of bounds (ASan run).
TEST(DnsWire, RandomMutationsNeverCrash) {
  ResponseBuilder b(7, kResponse | kFlagAd);
  b.question("example.org", 15)
      .name_record(Section::kAnswer, "example.org", 5, 60, "m.example.org")
      .mx(Section::kAnswer, "m.example.org", 60, 5, "mx.example.org")
      .txt(Section::kAnswer, "m.example.org", 60, {"x", "y"})
      .soa(Section::kAuthority, "example.org", 60, 60)
      .a(Section::kAdditional, "mx.example.org", 60, "192.0.2.1");
  const Bytes base = b.finish();
  std::mt19937 rng(20240607);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes p = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % p.size();
      switch (rng() % 3) {
        case 0:
          p[at] = static_cast<std::uint8_t>(rng());
          break;
        case 1:
          p.resize(at);
          break;
        default:
          p[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
          break;
      }
      if (p.empty()) break;
    }
    for (RrType type : {RrType::kMx, RrType::kTxt, RrType::kCname}) {
      Answer a = parse_response(p, "example.org", type);
      if (a.status == Status::kNoError) {
        ++accepted;
        EXPECT_FALSE(a.records.empty());
      }
    }
    (void)parse_query(p);
  }
  EXPECT_GT(accepted, 0u);  // some mutations are harmless (TTL bits, say)
}

}  // namespace
}  // namespace authmilter::dns::wire

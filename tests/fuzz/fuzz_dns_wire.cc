// Fuzz target: the DNS wire parser (dns/wire.h, RFC 1035 §4, RFC 2308 §5, RFC 2181).
//
// Input: one DNS message, as c-ares would hand a reply over. The question it is checked
//   against is the message's own first question when it can be read (so the fuzzer reaches
//   the answer section), else "example.org" TXT.
// Invariants: parse_response() never crashes or over-reads (ASan); kNoError comes with at least
//   one record of the asked type; names in records hold no NUL; an answer that parsed
//   re-encodes (encode_response) into a reply that parses back to the same status, records
//   and AD bit, so what the resolver caches and what libopendkim is handed agree.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "authmilter/dns/wire.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;

bool known_type(std::uint16_t type) {
  switch (static_cast<dns::RrType>(type)) {
    case dns::RrType::kA:
    case dns::RrType::kNs:
    case dns::RrType::kCname:
    case dns::RrType::kSoa:
    case dns::RrType::kPtr:
    case dns::RrType::kMx:
    case dns::RrType::kTxt:
    case dns::RrType::kAaaa:
    case dns::RrType::kSpf:
      return true;
  }
  return false;
}

bool same_records(const dns::Answer& a, const dns::Answer& b) {
  if (a.records.size() != b.records.size()) return false;
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    const dns::Record& x = a.records[i];
    const dns::Record& y = b.records[i];
    if (x.type != y.type || x.data != y.data || x.strings != y.strings ||
        x.preference != y.preference) {
      return false;
    }
  }
  return true;
}

// A TXT RR with RDLENGTH 0 (no character-string at all, which RFC 1035 §3.3.14 does not
// foresee) parses as an empty record and re-encodes as one empty string: the same text, but
// then a duplicate of a real empty-string RR, which RFC 2181 §5 deduplication drops. Such
// answers are compared by their texts only.
bool has_stringless_txt(const dns::Answer& answer) {
  for (const auto& record : answer.records) {
    if ((record.type == dns::RrType::kTxt || record.type == dns::RrType::kSpf) &&
        record.strings.empty()) {
      return true;
    }
  }
  return false;
}

bool same_texts(const dns::Answer& a, const dns::Answer& b) {
  std::set<std::string> x;
  std::set<std::string> y;
  for (const auto& record : a.records) x.insert(record.data);
  for (const auto& record : b.records) y.insert(record.data);
  return x == y;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> packet(data, size);

  std::string name = "example.org";
  dns::RrType type = dns::RrType::kTxt;
  dns::wire::Header header;
  if (dns::wire::parse_header(packet, header)) {
    std::size_t offset = dns::wire::kHeaderSize;
    std::string question;
    if (dns::wire::read_name(packet, offset, question)) {
      FUZZ_CHECK(offset <= size);
      FUZZ_CHECK(question.find('\0') == std::string::npos);
      if (!question.empty()) name = question;
      if (offset + 2 <= size) {
        const auto qtype = static_cast<std::uint16_t>((data[offset] << 8) | data[offset + 1]);
        if (known_type(qtype)) type = static_cast<dns::RrType>(qtype);
      }
    }
  }
  (void)dns::wire::parse_query(packet);

  const dns::Answer answer = dns::wire::parse_response(packet, name, type);
  if (answer.status == dns::Status::kNoError) FUZZ_CHECK(answer.has_records());
  for (const auto& record : answer.records) {
    FUZZ_CHECK(record.type == type);
    if (type == dns::RrType::kA) FUZZ_CHECK(record.data.size() == 4);
    if (type == dns::RrType::kAaaa) FUZZ_CHECK(record.data.size() == 16);
    if (type == dns::RrType::kTxt || type == dns::RrType::kSpf) {
      FUZZ_CHECK(record.data.size() <= dns::wire::kMaxTxtLength);
      std::string joined;
      for (const auto& s : record.strings) joined += s;
      FUZZ_CHECK(joined == record.data);
    }
    if (type == dns::RrType::kMx || type == dns::RrType::kPtr || type == dns::RrType::kCname ||
        type == dns::RrType::kNs) {
      FUZZ_CHECK(record.data.find('\0') == std::string::npos);
    }
  }

  const bool definite = answer.status == dns::Status::kNoError ||
                        answer.status == dns::Status::kNoData ||
                        answer.status == dns::Status::kNxDomain;
  if (definite) {
    std::vector<std::uint8_t> again;
    try {
      again = dns::wire::encode_response(header.id, name, type, answer);
    } catch (const std::length_error&) {
      return 0;  // uncompressed names can outgrow 64 KiB where the original used pointers
    }
    const dns::Answer round = dns::wire::parse_response(again, name, type, header.id);
    FUZZ_CHECK(round.status == answer.status);
    FUZZ_CHECK(has_stringless_txt(answer) ? same_texts(round, answer)
                                          : same_records(round, answer));
    FUZZ_CHECK(round.authenticated == answer.authenticated);
  }
  return 0;
}

// Fuzz target: DMARC policy records (dmarc/record.h, RFC 7489 §6.3, §6.4, §6.6.3) and the
// domain normalisation every DMARC comparison goes through (dmarc/domain.h).
//
// Input: one TXT record's text (any bytes); also taken as a domain name.
// Invariants: a record longer than kMaxRecordLength is void; a valid record's pct is 0..100;
//   the canonical text handed to libopendmarc parses back to the same policy (p, sp, adkim,
//   aspf, pct); a valid record is a DMARC record (is_dmarc_record). normalize_domain() gives
//   at most util::kMaxDomainNameLength octets of lower-case ASCII without a trailing dot,
//   labels of at most util::kMaxLabelLength, and is idempotent.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/dmarc/domain.h"
#include "authmilter/dmarc/record.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const std::string_view input = fuzz::as_text(data, size);

  const bool is_record = dmarc::is_dmarc_record(input);
  const dmarc::Record record = dmarc::parse_record(input);
  if (input.size() > dmarc::kMaxRecordLength) FUZZ_CHECK(!record.valid);
  if (!record.valid) {
    FUZZ_CHECK(!record.error.empty());
  } else {
    FUZZ_CHECK(is_record);
    FUZZ_CHECK(record.pct >= 0 && record.pct <= 100);
    const std::string canonical = record.canonical_text();
    FUZZ_CHECK(!fuzz::has_control(canonical));
    const dmarc::Record again = dmarc::parse_record(canonical);
    FUZZ_CHECK(again.valid);
    FUZZ_CHECK(again.p == record.p);
    FUZZ_CHECK(again.sp.value_or(again.p) == record.sp.value_or(record.p));
    FUZZ_CHECK(again.adkim == record.adkim);
    FUZZ_CHECK(again.aspf == record.aspf);
    FUZZ_CHECK(again.pct == record.pct);
  }

  if (const std::optional<std::string> domain = dmarc::normalize_domain(input)) {
    FUZZ_CHECK(!domain->empty());
    FUZZ_CHECK(domain->size() <= util::kMaxDomainNameLength);
    FUZZ_CHECK(domain->back() != '.');
    std::size_t label = 0;
    for (char c : *domain) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u > 0x20 && u < 0x7f && !(c >= 'A' && c <= 'Z'));
      label = c == '.' ? 0 : label + 1;
      FUZZ_CHECK(label <= util::kMaxLabelLength);
    }
    FUZZ_CHECK(dmarc::normalize_domain(*domain) == domain);
  }
  return 0;
}

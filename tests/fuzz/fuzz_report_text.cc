// Fuzz target: the DMARC report module's text handling (report/): rua mailto: URIs from DNS
// (delivery.h), sanitize() of hostile record fields (record.h), the stores' list encoding
// (store.h), the ReportStore spec parser, XML escaping (aggregate.h).
//
// Input: the whole input as a rua URI, a record field, a store spec and XML text; split at
//   0x1e and 0x1f as a list for the store encoding.
// Invariants: a parsed mailbox is at most kMaxAddressLength printable ASCII octets without
//   space, '<', '>', ',', a leading '-', its domain lower-case and the text after the last
//   '@'; sanitize() gives at most kMaxFieldBytes octets of UTF-8 without controls and is
//   idempotent; decode_items(encode_items(x)) == x; a store spec's describe() never names a
//   user or password (no '@' before the path); xml_escape() leaves no '<', '>', '"' or '\'' and
//   every '&' starts an entity.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/report/aggregate.h"
#include "authmilter/report/delivery.h"
#include "authmilter/report/record.h"
#include "authmilter/report/store.h"
#include "authmilter/util/utf8.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const std::string_view input = fuzz::as_text(data, size);

  if (const auto box = report::parse_mailto(input)) {
    FUZZ_CHECK(box->address.size() <= report::kMaxAddressLength);
    FUZZ_CHECK(fuzz::printable(box->address));
    for (char c : box->address) FUZZ_CHECK(c != ' ' && c != '<' && c != '>' && c != ',');
    FUZZ_CHECK(box->address.front() != '-');
    const std::size_t at = box->address.rfind('@');
    FUZZ_CHECK(at != std::string::npos && box->address.substr(at + 1) == box->domain);
    for (char c : box->domain) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }

  const std::string clean = report::sanitize(input);
  FUZZ_CHECK(clean.size() <= report::kMaxFieldBytes);
  FUZZ_CHECK(!fuzz::has_control(clean));
  for (std::size_t pos = 0; pos < clean.size();) {
    const std::size_t n = util::utf8_sequence_length(clean, pos);
    FUZZ_CHECK(n > 0);
    pos += n;
  }
  FUZZ_CHECK(report::sanitize(clean) == clean);

  std::vector<std::vector<std::string>> items;
  for (std::string_view record : fuzz::split(input, fuzz::kRecordSeparator)) {
    std::vector<std::string> fields;
    for (std::string_view unit : fuzz::split(record, fuzz::kUnitSeparator)) {
      fields.emplace_back(unit);
    }
    items.push_back(std::move(fields));
  }
  // (A single empty field encodes as the empty text, which is the empty list.)
  if (!(items.size() == 1 && items[0].size() == 1 && items[0][0].empty())) {
    FUZZ_CHECK(report::decode_items(report::encode_items(items)) == items);
  }

  if (const auto spec = report::parse_store_spec(input)) {
    const std::string text = spec->describe();
    if (spec->kind == report::StoreKind::kPostgresql) {
      const std::string_view authority = std::string_view(text).substr(13);  // "postgresql://"
      FUZZ_CHECK(authority.substr(0, authority.find('/')).find('@') == std::string::npos);
    }
  }

  const std::string escaped = report::xml_escape(input);
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    FUZZ_CHECK(c != '<' && c != '>' && c != '"' && c != '\'');
    if (c == '&') FUZZ_CHECK(escaped.find(';', i) != std::string::npos);
  }
  return 0;
}

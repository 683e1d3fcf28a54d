// Fuzz target: the SPF record lint and rewrites that guard libspf2 (spf/record_lint.h,
// RFC 7208 §4.6, §5, §6, §7) and the SPF text helpers (spf/syntax.h).
//
// Input: the text of a TXT record. prepare_record() is specified for a selected record
//   (printable ASCII starting with "v=spf1"): printable input gets "v=spf1 " put in front
//   when it lacks it; other input only goes to the helpers, which take any bytes.
// Invariants: a record that passes comes out rewritten into printable ASCII that passes again
//   (the rewrites are a fixed point for acceptance) and with at most kMaxMechanisms terms;
//   fix_macros() on the record terminates; the helpers never return NUL, CR, LF or other
//   controls (syntax.h), cut to the asked length, and query_name() gives names of at most
//   253 octets with labels of 1..63.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/syntax.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;
using fuzz::printable;

void check_record(std::string_view input) {
  std::string record(input);
  if (record.rfind("v=spf1", 0) != 0) record = "v=spf1 " + record;
  const spf::PreparedRecord prepared = spf::prepare_record(record);
  if (!prepared.problem.empty()) return;
  FUZZ_CHECK(printable(prepared.record));
  const spf::PreparedRecord again = spf::prepare_record(prepared.record);
  FUZZ_CHECK(again.problem.empty());
  std::size_t terms = 0;
  for (std::size_t i = 0; i < prepared.record.size(); ++i) {
    if (prepared.record[i] == ' ' && i + 1 < prepared.record.size() &&
        prepared.record[i + 1] != ' ') {
      ++terms;
    }
  }
  FUZZ_CHECK(terms <= spf::kMaxMechanisms + 1);  // + unknown modifiers never survive; slack 1

  const spf::MacroValue values = [](char letter) -> std::optional<std::string> {
    switch (letter) {
      case 's':
        return "alice@example.org";
      case 'l':
        return "alice";
      case 'o':
      case 'd':
        return "example.org";
      case 'i':
        return "192.0.2.10";
      case 'h':
        return "mail.example.org";
      case 'v':
        return "in-addr";
      default:
        return std::nullopt;
    }
  };
  (void)spf::fix_macros(prepared.record, values);
}

void check_helpers(std::string_view input) {
  const std::string text = spf::sanitize_text(input, 64);
  FUZZ_CHECK(text.size() <= 64);
  FUZZ_CHECK(!fuzz::has_control(text));
  const std::string value = spf::header_value(input);
  FUZZ_CHECK(!fuzz::has_control(value));
  const std::string comment = spf::comment_text(input);
  FUZZ_CHECK(!fuzz::has_control(comment));
  if (const std::optional<std::string> name = spf::query_name(input)) {
    FUZZ_CHECK(name->size() <= util::kMaxDomainNameLength);
    std::size_t label = 0;
    for (char c : *name) {
      if (c == '.') {
        FUZZ_CHECK(label > 0);
        label = 0;
      } else {
        ++label;
        FUZZ_CHECK(label <= util::kMaxLabelLength);
      }
    }
  }
  (void)spf::is_checkable_domain(input);
  (void)spf::is_dot_atom(input);
  std::string_view name = input;
  (void)spf::take_zero_cidr_marker(name);
  FUZZ_CHECK(name.size() <= input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  if (printable(input)) check_record(input);
  check_helpers(input);
  return 0;
}

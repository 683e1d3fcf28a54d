// Fuzz target: the Purported Responsible Address (mail/pra.h, RFC 4407 §2) and DMARC's From:
// domain (dmarc/dmarc.h, RFC 7489 §6.6.1), both read from a message's header fields.
//
// Input: header fields as in a message: "Name: value" lines separated by LF (CRLF works too);
//   a line starting with SP or HTAB continues the field before it (the fold is kept, as the
//   MTA passes it on); a line without a colon is a field with an empty value.
// Invariants: an ok PRA points at a field of the input whose name is the one its source names,
//   has a mailbox with a non-empty domain; a !ok result says why. An ok From: domain is
//   non-empty, lower-case, without a trailing dot.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/mail/pra.h"
#include "fuzz_support.h"

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_wsp_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  std::vector<mail::HeaderField> headers;
  for (std::string_view line : fuzz::split(fuzz::as_text(data, size), '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !headers.empty()) {
      headers.back().raw_value += "\r\n";
      headers.back().raw_value += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      headers.push_back({std::string(line), ""});
      continue;
    }
    headers.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
  }

  const mail::Pra pra = mail::extract_pra(headers);
  if (pra.ok) {
    FUZZ_CHECK(pra.source.has_value());
    FUZZ_CHECK(pra.index < headers.size());
    FUZZ_CHECK(iequals(trim_wsp_right(headers[pra.index].name), mail::to_field_name(*pra.source)));
    FUZZ_CHECK(!pra.mailbox.domain.empty());
    FUZZ_CHECK(pra.mailbox.domain.front() != '[');  // a domain name, not a literal
  } else {
    FUZZ_CHECK(!pra.error.empty());
  }
  if (pra.index != static_cast<std::size_t>(-1)) FUZZ_CHECK(pra.index < headers.size());

  const dmarc::FromDomain from = dmarc::from_domain_in(headers);
  if (from.ok) {
    FUZZ_CHECK(!from.domain.empty());
    FUZZ_CHECK(from.domain.back() != '.');
    for (char c : from.domain) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    FUZZ_CHECK(from.problem == dmarc::FromProblem::kNone);
  } else {
    FUZZ_CHECK(from.problem != dmarc::FromProblem::kNone);
  }
  return 0;
}

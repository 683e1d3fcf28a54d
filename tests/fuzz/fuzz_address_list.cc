// Fuzz target: RFC 5322 §3.4 address lists (mail/address_list.h) and the address and header
// helpers around them (mail/address.h, mail/header.h).
//
// Input: one header value, as an MTA hands it over (folds as CRLF or LF + WSP, any bytes).
// Invariants: at most kMaxMailboxes mailboxes; a value longer than kMaxAddressListLength is
//   refused; a parsed mailbox's domain is lower-case without a trailing dot; unfold() and
//   sanitize_for_header() never return a line break or NUL (they are what stops header
//   injection); sanitize_for_header() leaves only well-formed UTF-8; domain_of() is lower-case.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "authmilter/mail/address.h"
#include "authmilter/mail/address_list.h"
#include "authmilter/mail/header.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const std::string_view input = fuzz::as_text(data, size);

  const mail::AddressList list = mail::parse_address_list(input);
  FUZZ_CHECK(list.mailboxes.size() <= mail::kMaxMailboxes);
  if (input.size() > mail::kMaxAddressListLength) FUZZ_CHECK(!list.ok);
  if (!list.ok) FUZZ_CHECK(!list.error.empty());
  if (list.ok) {
    for (const auto& mailbox : list.mailboxes) {
      for (char c : mailbox.domain) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
      FUZZ_CHECK(mailbox.domain.empty() || mailbox.domain.back() != '.');
    }
  }

  const std::string unfolded = mail::unfold(input);
  FUZZ_CHECK(unfolded.find_first_of("\r\n") == std::string::npos);
  const std::string safe = mail::sanitize_for_header(input);
  FUZZ_CHECK(!fuzz::has_line_break_or_nul(safe));
  FUZZ_CHECK(safe.size() <= input.size());
  for (std::size_t i = 0; i < safe.size();) {
    const std::size_t n = mail::utf8_sequence_length(safe, i);
    FUZZ_CHECK(n > 0);  // nothing but well-formed UTF-8 is left
    i += n;
  }

  const std::string envelope = mail::envelope_address(input);
  const std::string domain = mail::domain_of(envelope);
  // domain_of() removes one trailing dot: "a@b.." gives "b." (an invalid name either way).
  for (char c : domain) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  (void)mail::local_part_of(envelope);
  return 0;
}

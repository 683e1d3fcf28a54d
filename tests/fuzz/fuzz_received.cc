// Fuzz target: Received: fields and the walk to the first untrusted hop (mail/received.h,
// RFC 5321 §4.4, RFC 5322 §3.6.7), which TrustedRelays relies on.
//
// Input: Received: values, top first, separated by 0x1e; each as the milter passes it
//   (folds kept). The connecting client is 192.0.2.1; 192.0.2.0/24 and 10.0.0.0/8 are the
//   trusted relays. Every value is also parsed alone and read as an IP address.
// Invariants: a parsed hop has a canonical IP (normalize_ip() of it is itself); error texts
//   hold no control characters; a selected hop names a field of the input, is neither trusted
//   nor loopback, and has a canonical IP; at most kMaxReceivedHops fields are walked.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/received.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;

bool trusted(std::string_view ip) {
  return ip.rfind("192.0.2.", 0) == 0 || ip.rfind("10.", 0) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> values =
      fuzz::split(fuzz::as_text(data, size), fuzz::kRecordSeparator);
  for (std::string_view value : values) {
    const mail::ReceivedHop hop = mail::parse_received(value);
    if (hop.ok) {
      FUZZ_CHECK(!hop.ip.empty());
      FUZZ_CHECK(mail::normalize_ip(hop.ip) == hop.ip);
    } else {
      FUZZ_CHECK(!hop.error.empty());
    }
    FUZZ_CHECK(!fuzz::has_control(hop.error));
    if (const std::optional<std::string> ip = mail::normalize_ip(value)) {
      FUZZ_CHECK(mail::normalize_ip(*ip) == ip);
    }
  }

  const mail::HopSelection selection =
      mail::select_first_untrusted_hop(values, "192.0.2.1", trusted);
  if (selection.ok) {
    FUZZ_CHECK(selection.received_index < values.size());
    FUZZ_CHECK(selection.received_index < mail::kMaxReceivedHops);
    FUZZ_CHECK(!trusted(selection.ip));
    FUZZ_CHECK(!mail::is_loopback_ip(selection.ip));
    FUZZ_CHECK(mail::normalize_ip(selection.ip) == selection.ip);
  } else {
    FUZZ_CHECK(!selection.error.empty());
  }
  FUZZ_CHECK(!fuzz::has_control(selection.error));
  return 0;
}

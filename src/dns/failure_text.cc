// failure_text(): one wording for DNS failures in every A-R comment (SPF, SenderID, DMARC).
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"

namespace authmilter::dns {
namespace {

// A detail that is only an rcode's name ("REFUSED", "FORMERR", "NOTIMP") says it all.
bool is_rcode_name(std::string_view detail) {
  if (detail.empty() || detail.size() > 10) return false;
  for (char c : detail) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

std::string failure_text(const Answer& answer, std::string_view name, RrType type) {
  std::string what;
  switch (answer.status) {
    case Status::kTimeout:
      what = "timeout";
      break;
    case Status::kServFail:
      what = "SERVFAIL";
      break;
    case Status::kError:
      what = is_rcode_name(answer.detail) ? answer.detail : "error";
      break;
    case Status::kNoError:
    case Status::kNoData:
    case Status::kNxDomain:
      what = to_string(answer.status);
      break;
  }
  std::string text =
      "DNS " + what + " for " + std::string(name) + " " + std::string(to_string(type));
  if (!answer.detail.empty() && answer.detail != what) text += ": " + answer.detail;
  return text;
}

}  // namespace authmilter::dns

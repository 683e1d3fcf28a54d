#include "authmilter/dns/resolver.h"
#include "authmilter/util/ascii.h"

#include <algorithm>

namespace authmilter::dns {

std::string_view to_string(RrType type) {
  switch (type) {
    case RrType::kA:
      return "A";
    case RrType::kNs:
      return "NS";
    case RrType::kCname:
      return "CNAME";
    case RrType::kSoa:
      return "SOA";
    case RrType::kPtr:
      return "PTR";
    case RrType::kMx:
      return "MX";
    case RrType::kTxt:
      return "TXT";
    case RrType::kAaaa:
      return "AAAA";
    case RrType::kSpf:
      return "SPF";
  }
  return "TYPE?";
}

std::string_view to_string(Status status) {
  switch (status) {
    case Status::kNoError:
      return "NOERROR";
    case Status::kNoData:
      return "NODATA";
    case Status::kNxDomain:
      return "NXDOMAIN";
    case Status::kServFail:
      return "SERVFAIL";
    case Status::kTimeout:
      return "TIMEOUT";
    case Status::kError:
      return "ERROR";
  }
  return "ERROR";
}

Answer Answer::failure(Status status, std::string detail) {
  Answer answer;
  answer.status = status;
  answer.detail = std::move(detail);
  return answer;
}

Answer Resolver::await(const PendingAnswer& pending, Deadline deadline,
                       const std::atomic<bool>* cancel) {
  if (!pending.valid()) return Answer::failure(Status::kError, "no lookup");
  // Wait in slices so a cancelled message (client gone, milter abort) stops waiting promptly.
  constexpr auto kSlice = std::chrono::milliseconds(20);
  while (true) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return Answer::failure(Status::kTimeout, "cancelled");
    }
    auto now = Clock::now();
    if (now >= deadline) {
      if (pending.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        return pending.get();
      }
      return Answer::failure(Status::kTimeout, "message deadline reached");
    }
    auto until = cancel != nullptr ? std::min(deadline, now + kSlice) : deadline;
    if (pending.wait_until(until) == std::future_status::ready) return pending.get();
  }
}

std::string normalize_name(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return util::lowercase_ascii(name);
}

PendingAnswer ready_answer(Answer answer) {
  std::promise<Answer> promise;
  promise.set_value(std::move(answer));
  return promise.get_future().share();
}

}  // namespace authmilter::dns

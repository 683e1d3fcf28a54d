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
                       const work::CancelToken* cancel) {
  if (!pending.valid()) return Answer::failure(Status::kError, "no lookup");
  if (!pending.wait_until(deadline, cancel)) {
    if (cancel != nullptr && cancel->cancelled()) {
      return Answer::failure(Status::kTimeout, "cancelled");
    }
    return Answer::failure(Status::kTimeout, "message deadline reached");
  }
  try {
    return pending.get();
  } catch (const work::NotRun& e) {  // the resolver went away without answering
    return Answer::failure(Status::kError, e.what());
  }
}

std::string normalize_name(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return util::lowercase_ascii(name);
}

PendingAnswer ready_answer(Answer answer) { return work::make_ready_future(std::move(answer)); }

PendingAnswer Resolver::peek(std::string_view, RrType) { return {}; }

PendingAnswer ReadyOnlyResolver::start(std::string_view name, RrType type) {
  PendingAnswer pending = inner_.peek(name, type);
  if (pending.valid() && pending.ready()) return pending;
  missed_ = true;
  return ready_answer(Answer::failure(Status::kError, "answer not ready"));
}

}  // namespace authmilter::dns

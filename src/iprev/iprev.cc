#include "authmilter/iprev/iprev.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <vector>

namespace authmilter::iprev {
namespace {

// The client address as raw bytes: 4 for IPv4 (also for an IPv4-mapped IPv6 address), 16 for
// IPv6; empty when `ip` is not an address.
std::string address_bytes(std::string_view ip) {
  const std::string text(ip);
  std::array<unsigned char, 16> raw{};
  if (inet_pton(AF_INET, text.c_str(), raw.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(raw.data()), 4);
  }
  if (inet_pton(AF_INET6, text.c_str(), raw.data()) == 1) {
    static constexpr std::array<unsigned char, 12> kMappedPrefix{0, 0, 0, 0, 0,    0,
                                                                 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(raw.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0) {
      return std::string(reinterpret_cast<const char*>(raw.data() + 12), 4);
    }
    return std::string(reinterpret_cast<const char*>(raw.data()), 16);
  }
  return {};
}

std::string reverse_of(const std::string& bytes) {
  std::string name;
  if (bytes.size() == 4) {
    for (std::size_t i = 4; i-- > 0;) {
      name += std::to_string(static_cast<unsigned char>(bytes[i]));
      name += '.';
    }
    return name + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = bytes.size(); i-- > 0;) {
    const auto octet = static_cast<unsigned char>(bytes[i]);
    name += kHex[octet & 0x0f];
    name += '.';
    name += kHex[octet >> 4];
    name += '.';
  }
  return name + "ip6.arpa";
}

// `r` by reference: callers build `comment` from r's own fields (r.ip), and the order in which
// arguments are evaluated is unspecified, so a by-value `r` could be moved from first (clang
// does: the comment then lacked the IP).
IprevResult with(IprevResult&& r, Result result, std::string comment) {
  r.result = result;
  r.comment = std::move(comment);
  return std::move(r);
}

}  // namespace

std::string_view to_token(Result result) {
  switch (result) {
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "permerror";
}

std::optional<std::string> reverse_name(std::string_view ip) {
  const std::string bytes = address_bytes(ip);
  if (bytes.empty()) return std::nullopt;
  return reverse_of(bytes);
}

IprevResult evaluate(std::string_view ip, dns::Resolver& resolver, dns::Deadline deadline,
                     const work::CancelToken* cancel) {
  IprevResult r;
  r.ip = std::string(ip);
  const std::string bytes = address_bytes(ip);
  if (bytes.empty()) return with(std::move(r), Result::kPermError, "client address unknown");
  const std::string reverse = reverse_of(bytes);
  // A message already gone or late asks nothing (a cached answer would still come back).
  if ((cancel != nullptr && cancel->cancelled()) || dns::Clock::now() >= deadline) {
    return with(std::move(r), Result::kTempError, "check did not finish before MessageTimeout");
  }

  const dns::Answer ptr = resolver.lookup(reverse, dns::RrType::kPtr, deadline, cancel);
  if (ptr.is_temporary_failure()) {
    return with(std::move(r), Result::kTempError,
                dns::failure_text(ptr, reverse, dns::RrType::kPtr));
  }
  if (!ptr.has_records()) {
    return with(std::move(r), Result::kPermError, "no PTR record for " + r.ip);
  }

  // Every forward lookup is started before the first wait: they run side by side.
  const dns::RrType forward_type = bytes.size() == 4 ? dns::RrType::kA : dns::RrType::kAaaa;
  std::vector<std::string> names;
  std::vector<dns::PendingAnswer> forward;
  for (const dns::Record& record : ptr.records) {
    if (names.size() == kMaxPtrNames) break;
    if (record.data.empty()) continue;
    names.push_back(record.data);
    forward.push_back(resolver.start(record.data, forward_type));
  }
  r.ptr_names = names.size();
  if (names.empty()) return with(std::move(r), Result::kPermError, "no PTR record for " + r.ip);
  r.ptr_name = names.front();

  std::string temporary;  // the first forward lookup that failed temporarily
  for (std::size_t i = 0; i < names.size(); ++i) {
    const dns::Answer answer = dns::Resolver::await(forward[i], deadline, cancel);
    if (answer.has_records()) {
      for (const dns::Record& address : answer.records) {
        if (address.data == bytes) {
          r.ptr_name = names[i];
          return with(std::move(r), Result::kPass, names[i]);
        }
      }
    } else if (answer.is_temporary_failure() && temporary.empty()) {
      temporary = dns::failure_text(answer, names[i], forward_type);
    }
  }
  if (!temporary.empty()) return with(std::move(r), Result::kTempError, temporary);
  const std::string which =
      names.size() == 1 ? names.front()
                        : names.front() + " and " + std::to_string(names.size() - 1) + " more";
  return with(std::move(r), Result::kFail, which + " does not resolve to " + r.ip);
}

}  // namespace authmilter::iprev

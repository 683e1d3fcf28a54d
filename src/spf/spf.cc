#include "authmilter/spf/spf.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/syntax.h"
#include "authmilter/util/ascii.h"
#include "dns_layer.h"
#include "libspf2.h"
#include "record_split.h"

namespace authmilter::spf {
namespace {

// libspf2 prints warnings and debug output to stdout/stderr by default; a daemon reports
// through CheckResult instead. (Errors stay: libspf2 aborts after them whatever we do.)
void quiet_libspf2() {
  static std::once_flag once;
  std::call_once(once, [] {
    SPF_warning_handler = nullptr;
    SPF_info_handler = nullptr;
    SPF_debug_handler = nullptr;
  });
}

struct ClientAddress {
  int family = AF_UNSPEC;
  in_addr v4{};
  in6_addr v6{};
};

std::optional<ClientAddress> parse_client_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN ||
      text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string copy(text);
  ClientAddress address;
  if (inet_pton(AF_INET, copy.c_str(), &address.v4) == 1) {
    address.family = AF_INET;
    return address;
  }
  if (inet_pton(AF_INET6, copy.c_str(), &address.v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&address.v6)) {
      // RFC 4291 §2.5.5.2: an IPv4 client seen through an IPv6 socket is an IPv4 client, and
      // its records are A records (RFC 7208 §5).
      std::memcpy(&address.v4, &address.v6.s6_addr[12], sizeof address.v4);
      address.family = AF_INET;
    } else {
      address.family = AF_INET6;
    }
    return address;
  }
  return std::nullopt;
}

std::string ip_text(const ClientAddress& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  const void* source =
      address.family == AF_INET ? static_cast<const void*>(&address.v4) : &address.v6;
  if (inet_ntop(address.family, source, buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

Result map_result(SPF_result_t result) {
  switch (result) {
    case SPF_RESULT_PASS:
      return Result::kPass;
    case SPF_RESULT_FAIL:
      return Result::kFail;
    case SPF_RESULT_SOFTFAIL:
      return Result::kSoftFail;
    case SPF_RESULT_NEUTRAL:
      return Result::kNeutral;
    case SPF_RESULT_NONE:
      return Result::kNone;
    case SPF_RESULT_TEMPERROR:
      return Result::kTempError;
    case SPF_RESULT_PERMERROR:
      return Result::kPermError;
    case SPF_RESULT_INVALID:
      break;
  }
  return Result::kTempError;  // libspf2 never finished: our fault, not the sender's
}

// The identity the check evaluates (RFC 7208 §2.3, §2.4, §4.3).
struct Target {
  std::string local;
  std::string domain;  // without trailing dot, case as given
};

// Fills `out` with a "none" result and returns nullopt when the identity cannot be checked.
std::optional<Target> choose_target(const Request& request, CheckResult& out) {
  const bool use_helo = request.identity == Identity::kHelo ||
                        (request.identity == Identity::kMailFrom && request.sender.empty());
  if (use_helo) {
    // RFC 7208 §2.3 (HELO: the name itself) and §2.4 (null reverse-path: postmaster@HELO).
    out.checked = request.identity == Identity::kHelo
                      ? sanitize_text(request.helo, kMaxHeloLength)
                      : "postmaster@" + sanitize_text(request.helo, kMaxHeloLength);
    if (!is_checkable_domain(request.helo)) {
      out.comment = request.helo.empty() ? "no HELO name to check"
                                         : "HELO name is not a fully qualified domain name";
      return std::nullopt;
    }
    return Target{"postmaster", std::string(strip_trailing_dot(request.helo))};
  }
  const std::string_view sender = request.sender;
  out.checked = sanitize_text(sender, kMaxSenderLength);
  if (sender.size() > kMaxSenderLength) {
    out.comment = "sender address longer than " + std::to_string(kMaxSenderLength) + " octets";
    return std::nullopt;
  }
  if (has_control(sender)) {
    out.comment = "sender address contains control characters";
    return std::nullopt;
  }
  const std::size_t at = sender.rfind('@');
  Target target;
  // RFC 7208 §4.3: a sender without local-part is checked as postmaster@domain.
  target.local =
      at == std::string_view::npos || at == 0 ? "postmaster" : std::string(sender.substr(0, at));
  const std::string_view domain = at == std::string_view::npos ? sender : sender.substr(at + 1);
  if (!is_checkable_domain(domain)) {
    out.comment = "sender domain is not a valid domain name";
    return std::nullopt;
  }
  target.domain = std::string(strip_trailing_dot(domain));
  return target;
}

Scope scope_of(Identity identity) {
  switch (identity) {
    case Identity::kHelo:
      return Scope::kHelo;
    case Identity::kPra:
      return Scope::kPra;
    case Identity::kMailFrom:
      break;
  }
  return Scope::kMailFrom;
}

// What libspf2 produced, before our limits and deadline are applied.
struct Evaluation {
  SPF_result_t result = SPF_RESULT_INVALID;
  SPF_errcode_t err = SPF_E_SUCCESS;
  std::string explanation;
};

std::string comment_for(const CheckResult& out, const std::string& ip, const LookupContext& ctx,
                        const Evaluation& evaluation) {
  const std::string who = "domain of " + out.checked;
  switch (out.result) {
    case Result::kPass:
      return who + " designates " + ip + " as permitted sender";
    case Result::kFail:
      return who + " does not designate " + ip + " as permitted sender";
    case Result::kSoftFail:
      return "transitioning " + who + " does not designate " + ip + " as permitted sender";
    case Result::kNeutral:
      return ip + " is neither permitted nor denied by " + who;
    case Result::kNone:
      return who + " does not provide an SPF record";
    case Result::kTempError: {
      std::string why = !ctx.stop_detail.empty()   ? ctx.stop_detail
                        : !ctx.temp_detail.empty() ? ctx.temp_detail
                                                   : std::string(SPF_strerror(evaluation.err));
      return "temporary error evaluating " + who + ": " + why;
    }
    case Result::kPermError: {
      std::string why = is_permanent(ctx.stop) ? ctx.stop_detail
                        : !ctx.problem.empty() ? ctx.problem
                                               : std::string(SPF_strerror(evaluation.err));
      return "permanent error evaluating " + who + ": " + why;
    }
  }
  return {};
}

}  // namespace

std::string_view to_token(Result result) {
  switch (result) {
    case Result::kNone:
      return "none";
    case Result::kNeutral:
      return "neutral";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kSoftFail:
      return "softfail";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "temperror";
}

bool is_authoritative(Result result) {
  return result == Result::kPass || result == Result::kFail || result == Result::kSoftFail;
}

std::string_view to_string(Identity identity) {
  switch (identity) {
    case Identity::kMailFrom:
      return "mailfrom";
    case Identity::kHelo:
      return "helo";
    case Identity::kPra:
      return "pra";
  }
  return "mailfrom";
}

Checker::Checker(dns::Resolver& resolver, CheckerOptions options)
    : resolver_(resolver), options_(std::move(options)) {
  quiet_libspf2();
}

CheckResult Checker::check_via(dns::Resolver& resolver, const Request& request,
                               dns::Deadline deadline, const work::CancelToken* cancel) const {
  CheckResult out;
  out.identity = request.identity;
  try {
    const std::optional<ClientAddress> address = parse_client_ip(request.client_ip);
    if (!address) {
      // Our own input (from the MTA), not the sender's fault: retry later, log loudly.
      out.result = Result::kTempError;
      out.checked =
          request.identity == Identity::kHelo ? sanitize_text(request.helo, kMaxHeloLength)
          : request.sender.empty() ? "postmaster@" + sanitize_text(request.helo, kMaxHeloLength)
                                   : sanitize_text(request.sender, kMaxSenderLength);
      out.comment = "internal error: unparsable client address \"" +
                    sanitize_text(request.client_ip, INET6_ADDRSTRLEN) + "\"";
      return out;
    }
    const std::optional<Target> target = choose_target(request, out);
    if (!target) {
      out.result = Result::kNone;
      return out;
    }
    // The mailbox %{s} stands for; for the HELO identity the result names the domain itself.
    const std::string mailbox = target->local + "@" + target->domain;
    out.checked = request.identity == Identity::kHelo ? target->domain : mailbox;
    out.domain = util::lowercase_ascii(target->domain);
    const std::string ip = ip_text(*address);

    LookupContext ctx(resolver, deadline, cancel, scope_of(request.identity),
                      address->family == AF_INET6);
    DnsLayer layer(ctx);
    ServerPtr server(SPF_server_new_dns(layer.get(), 0));
    if (!server) throw std::bad_alloc();
    SPF_server_set_rec_dom(server.get(),
                           options_.receiver.empty() ? "localhost" : options_.receiver.c_str());
    // The DNS layer enforces RFC 7208's limits for the whole check; libspf2's own count
    // (per include level) also counts the redirects that join a split record's parts.
    SPF_server_set_max_dns_mech(server.get(), kMaxDnsTerms + static_cast<int>(kMaxMechanisms));
    SPF_server_set_max_dns_mx(server.get(), static_cast<int>(kMaxMxNames));
    SPF_server_set_max_dns_ptr(server.get(), static_cast<int>(kMaxPtrNames));
    {
      // No built-in "please see openspf.org" text: an explanation is only what exp= gave.
      SPF_response_t* errors = nullptr;
      SPF_server_set_explanation(server.get(), "", &errors);
      if (errors != nullptr) SPF_response_free(errors);
    }

    RequestPtr spf_request(SPF_request_new(server.get()));
    if (!spf_request) throw std::bad_alloc();
    if (address->family == AF_INET) {
      SPF_request_set_ipv4(spf_request.get(), address->v4);
    } else {
      SPF_request_set_ipv6(spf_request.get(), address->v6);
    }
    // %{s} %{l} %{o}: the identity as checked (RFC 7208 §7.3).
    if (SPF_request_set_env_from(spf_request.get(), mailbox.c_str()) != 0) {
      throw std::bad_alloc();
    }
    // %{h}: the HELO as given; libspf2 errors out on an unset macro, so a missing or
    // unusable HELO reads as "unknown" (the word RFC 7208 §7.3 uses for %{p}).
    const bool helo_usable = !request.helo.empty() && request.helo.size() <= kMaxHeloLength &&
                             request.helo.find('\0') == std::string::npos;
    SPF_request_set_helo_dom(spf_request.get(), helo_usable ? request.helo.c_str() : "unknown");
    spf_request->cur_dom = target->domain.c_str();  // libspf2 does not own cur_dom
    ctx.request = spf_request.get();

    ResponsePtr response(SPF_response_new(spf_request.get()));
    if (!response) throw std::bad_alloc();
    Evaluation evaluation;
    // Not SPF_request_query_mailfrom(): it passes every loopback client unconditionally.
    SPF_record_t* raw_record = nullptr;
    const SPF_errcode_t err =
        SPF_server_get_record(server.get(), spf_request.get(), response.get(), &raw_record);
    RecordPtr record(raw_record);
    if (err != SPF_E_SUCCESS) {
      evaluation.result = response->result;
      evaluation.err = err;
    } else {
      response->spf_record_exp = record.get();
      SPF_record_interpret(record.get(), spf_request.get(), response.get(), 0);
      response->spf_record_exp = nullptr;  // a redirect may have pointed it at a freed record
      evaluation.result = response->result;
      evaluation.err = response->err;
      if (response->result == SPF_RESULT_FAIL && response->explanation != nullptr) {
        evaluation.explanation = response->explanation;
      }
    }

    out.result = map_result(evaluation.result);
    if (is_permanent(ctx.stop)) {
      out.result = Result::kPermError;  // RFC 7208 §4.6.4: exceeding a limit is permerror
    } else if (ctx.stop != Stop::kNone) {
      out.result = Result::kTempError;  // deadline, cancel, internal error
    }
    if (out.result == Result::kFail) {
      out.explanation = sanitize_text(evaluation.explanation, kMaxExplanationLength);
    }
    out.comment = comment_for(out, ip, ctx, evaluation);
  } catch (const std::exception& e) {
    out.result = Result::kTempError;
    out.explanation.clear();
    out.comment = std::string("internal error: ") + e.what();
  }
  out.comment = sanitize_text(out.comment, kMaxHeaderValueLength * 2);
  return out;
}

std::string received_spf_value(const CheckResult& result, const Request& request,
                               std::string_view receiver) {
  std::string out(to_token(result.result));
  if (!result.comment.empty()) {
    out += " (";
    if (!receiver.empty()) out += comment_text(receiver) + ": ";
    out += comment_text(result.comment) + ")";
  }
  std::vector<std::pair<std::string_view, std::string>> pairs;
  if (!request.client_ip.empty()) pairs.emplace_back("client-ip", request.client_ip);
  // The envelope sender; for <> the mailbox RFC 7208 §2.4 checks in its place.
  std::string envelope_from = request.sender;
  if (envelope_from.empty() && !result.checked.empty()) {
    envelope_from = result.checked.find('@') == std::string::npos ? "postmaster@" + result.checked
                                                                  : result.checked;
  }
  if (!envelope_from.empty()) pairs.emplace_back("envelope-from", envelope_from);
  if (!request.helo.empty()) pairs.emplace_back("helo", request.helo);
  if (!receiver.empty()) pairs.emplace_back("receiver", std::string(receiver));
  pairs.emplace_back("identity", std::string(to_string(result.identity)));
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    out += i == 0 ? " " : "; ";
    out += pairs[i].first;
    out += '=';
    out += header_value(pairs[i].second);
  }
  return out;
}

}  // namespace authmilter::spf

#include "key_lookup.h"

#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "authmilter/dns/wire.h"
#include "authmilter/util/domain_name.h"

namespace authmilter::dkim::detail {
namespace {

thread_local LookupContext* t_context = nullptr;

// libopendkim's own default (DEFTIMEOUT) when a hook runs outside any verifier.
constexpr auto kFallbackTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxCharacterString = 255;

struct Query {
  std::string name;  // as libopendkim asked
  std::string key;   // normalized
  unsigned char* buf = nullptr;
  std::size_t buflen = 0;
  dns::PendingAnswer pending;
};

dns::Answer failure(dns::Status status, std::string detail) {
  return dns::Answer::failure(status, std::move(detail));
}

// The same answer in a form the wire encoder takes: character-strings of at most 255
// octets (RFC 1035 §3.3; libopendkim joins them again), and with `trim` at most two records
// of at most kMaxKeyRecordText characters each.
dns::Answer wire_ready(const dns::Answer& answer, bool trim) {
  dns::Answer out = answer;
  if (trim && out.records.size() > 2) out.records.resize(2);
  for (auto& record : out.records) {
    std::string text;
    if (record.strings.empty()) {
      text = record.data;
    } else {
      for (const auto& piece : record.strings) text += piece;
    }
    if (trim && text.size() > kMaxKeyRecordText) text.resize(kMaxKeyRecordText);
    record.strings.clear();
    for (std::size_t pos = 0; pos < text.size(); pos += kMaxCharacterString) {
      record.strings.push_back(text.substr(pos, kMaxCharacterString));
    }
    if (record.strings.empty()) record.strings.emplace_back();
    record.data = std::move(text);
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> encode(const Query& query, const dns::Answer& answer) {
  for (bool trim : {false, true}) {
    try {
      auto wire =
          dns::wire::encode_response(0, query.name, dns::RrType::kTxt, wire_ready(answer, trim));
      if (wire.size() <= query.buflen) return wire;
    } catch (const std::exception&) {
      // Unencodable name or record: try the trimmed form, then give up.
    }
  }
  return std::nullopt;
}

int query_start(void* service, int type, unsigned char* question, unsigned char* buf,
                std::size_t buflen, void** handle) noexcept {
  try {
    if (service == nullptr || question == nullptr || buf == nullptr || handle == nullptr) {
      return -1;
    }
    auto query = std::make_unique<Query>();
    query->name = reinterpret_cast<const char*>(question);
    query->key = dns::normalize_name(query->name);
    query->buf = buf;
    query->buflen = buflen;
    LookupContext* context = t_context;
    if (type != static_cast<int>(dns::RrType::kTxt)) {
      query->pending = dns::ready_answer(failure(dns::Status::kError, "unexpected query type"));
    } else if (!valid_key_name(query->key)) {
      query->pending =
          dns::ready_answer(failure(dns::Status::kNxDomain, "key name is not a domain name"));
    } else if (context != nullptr && context->started.count(query->key) != 0) {
      query->pending = context->started.at(query->key);
    } else {
      query->pending =
          static_cast<HookService*>(service)->resolver->start(query->key, dns::RrType::kTxt);
      if (context != nullptr) context->started.emplace(query->key, query->pending);
    }
    *handle = query.release();
    return 0;
  } catch (...) {
    return -1;
  }
}

int query_cancel(void* /*service*/, void* handle) noexcept {
  delete static_cast<Query*>(handle);
  return 0;
}

int query_waitreply(void* /*service*/, void* handle, struct timeval* timeout, std::size_t* bytes,
                    int* error, int* dnssec) noexcept {
  try {
    auto* query = static_cast<Query*>(handle);
    if (query == nullptr) return DKIM_DNS_INVALID;
    if (error != nullptr) *error = 0;
    if (dnssec != nullptr) *dnssec = DKIM_DNSSEC_UNKNOWN;
    LookupContext* context = t_context;
    dns::Deadline deadline;
    if (context != nullptr) {
      // The message deadline rules; libopendkim's own timeout (10 s from the start of this
      // wait) would let a slow key lookup outlive the milter's reply budget.
      deadline = context->deadline;
    } else {
      auto wait = timeout != nullptr ? std::chrono::seconds(timeout->tv_sec) +
                                           std::chrono::microseconds(timeout->tv_usec)
                                     : std::chrono::microseconds(kFallbackTimeout);
      deadline = dns::Clock::now() + wait;
    }
    dns::Answer answer =
        dns::Resolver::await(query->pending, deadline, context ? context->cancel : nullptr);
    std::optional<std::vector<std::uint8_t>> wire;
    if (!answer.is_temporary_failure()) {
      wire = encode(*query, answer);
      if (!wire) answer = failure(dns::Status::kError, "key reply could not be passed on");
    }
    if (context != nullptr) {
      context->answers[query->key] = KeyAnswer{answer.status, answer.authenticated, answer.detail};
    }
    if (answer.status == dns::Status::kTimeout) return DKIM_DNS_EXPIRED;
    if (answer.is_temporary_failure()) return DKIM_DNS_ERROR;
    std::memcpy(query->buf, wire->data(), wire->size());
    if (bytes != nullptr) *bytes = wire->size();
    if (dnssec != nullptr && answer.authenticated) *dnssec = DKIM_DNSSEC_SECURE;
    return DKIM_DNS_SUCCESS;
  } catch (...) {
    return DKIM_DNS_ERROR;
  }
}

int no_init(void** /*service*/) noexcept { return 0; }
void no_close(void* /*service*/) noexcept {}
int no_setting(void* /*service*/, const char* /*value*/) noexcept { return 0; }

}  // namespace

ScopedContext::ScopedContext(LookupContext* context) : previous_(t_context) { t_context = context; }

ScopedContext::~ScopedContext() { t_context = previous_; }

void install_hooks(DKIM_LIB* lib, HookService* service) {
  (void)dkim_dns_set_query_service(lib, service);
  dkim_dns_set_query_start(lib, query_start);
  dkim_dns_set_query_cancel(lib, query_cancel);
  dkim_dns_set_query_waitreply(lib, query_waitreply);
  dkim_dns_set_init(lib, no_init);
  dkim_dns_set_close(lib, no_close);
  dkim_dns_set_nslist(lib, no_setting);
  dkim_dns_set_config(lib, no_setting);
  dkim_dns_set_trustanchor(lib, no_setting);
}

std::string key_name(std::string_view selector, std::string_view domain) {
  std::string name(selector);
  name += "._domainkey.";
  name += domain;
  return dns::normalize_name(name);
}

bool valid_key_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // one root dot at most
  if (!util::fits_domain_name_limits(name)) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace authmilter::dkim::detail

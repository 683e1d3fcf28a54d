// authmilter::dkim key lookups (internal) — libopendkim's DNS query hooks over dns::Resolver.
//
// What: dkim_dns_set_query_start/_waitreply/_cancel hooks. start() joins the lookup the
//   verifier already started at end of headers (or starts one), waitreply() waits for it
//   with Resolver::await (message deadline, cancel token) and hands libopendkim a wire-format
//   reply built by dns::wire::encode_response, with the AD bit turned into
//   DKIM_DNSSEC_SECURE. Temporary failures are reported as DKIM_DNS_ERROR / _EXPIRED rather
//   than as a SERVFAIL reply, because libopendkim reads an empty SERVFAIL reply as "no key"
//   (permerror) where RFC 6376 §6.1.2 wants TEMPFAIL.
// Context: the hooks get only the library-wide service handle, never the message, so the
//   verifier publishes its LookupContext in a thread-local pointer while libopendkim runs on
//   its thread (ScopedContext); libopendkim calls the hooks synchronously.
// Limits: a reply larger than libopendkim's buffer (8 KiB) is cut to two records of at most
//   kMaxKeyRecordText characters, which keeps its verdicts (libopendkim reads 1 KiB of one
//   record and refuses several).
// Security: key names come from hostile s= and d= tags; names that are not LDH-plus-
//   underscore labels (valid_key_name) are answered NXDOMAIN without a query.
#pragma once

#include <sys/types.h>
// clang-format off
#include <stdbool.h>
#include <opendkim/dkim.h>
// clang-format on

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "authmilter/dns/resolver.h"

namespace authmilter::dkim::detail {

inline constexpr std::size_t kMaxKeyRecordText = 2048;

struct KeyAnswer {
  dns::Status status = dns::Status::kError;
  bool authenticated = false;
  std::string detail;
};

struct LookupContext {
  dns::Deadline deadline;
  const work::CancelToken* cancel = nullptr;
  std::map<std::string, dns::PendingAnswer> started;  // normalized key name -> lookup
  std::map<std::string, KeyAnswer> answers;           // normalized key name -> outcome
};

// Publishes `context` to the hooks on this thread for the lifetime of the object.
class ScopedContext {
 public:
  explicit ScopedContext(LookupContext* context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  LookupContext* previous_;
};

// The DNS service handle libopendkim passes to the hooks.
struct HookService {
  dns::Resolver* resolver = nullptr;
};

// Installs the query hooks (and no-op init/close/nslist/config/trustanchor hooks, so
// libopendkim never treats `service` as a libresolv state).
void install_hooks(DKIM_LIB* lib, HookService* service);

// "<selector>._domainkey.<domain>" in normalized form (lower case, no trailing dot).
std::string key_name(std::string_view selector, std::string_view domain);
// Labels of 1..63 letters, digits, '-' or '_', at most 253 characters in all, optionally
// followed by one root dot.
bool valid_key_name(std::string_view name);

}  // namespace authmilter::dkim::detail

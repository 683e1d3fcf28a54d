// authmilter::dmarc::detail — the one place that talks to libopendmarc (internal header).
//
// What: hands a record that record.h accepted to libopendmarc in its canonical form
//   (opendmarc_policy_store_dmarc, with the From: domain and, when the record came from the
//   organizational domain, that domain), and reads back what libopendmarc makes of it: the
//   requested policy for a failing message (opendmarc_get_policy_to_enforce with no SPF or
//   DKIM outcome stored, i.e. sp when the record is the organizational domain's and has sp,
//   else p: RFC 7489 §6.3 "sp"), whether sp was used, and adkim/aspf/pct.
// Not delegated, and why (see also record.h, org_domain.h): alignment. libopendmarc's
//   opendmarc_policy_check_alignment() compares reversed names by prefix, so d=com aligns
//   with example.com in relaxed mode, d=mail.example.com aligns with example.com in *strict*
//   mode once a PSL is loaded, and siblings (a.example.com, b.example.com) never align
//   without one. We align with libpsl's organizational domains (RFC 7489 §3.1) instead.
//   Neither its DNS (a process-global test hook, no deadline) nor its PSL is used.
// Thread-safety: opendmarc_policy_library_init() is "not thread safe so only call once on
//   startup"; Library::instance() is a function-local static (initialised exactly once, C++11
//   §6.7). Everything else works on a per-call DMARC_POLICY_T, which nothing else touches
//   (the only library global read afterwards is the PSL hash, never loaded, mutex-guarded).
#pragma once

#include <optional>
#include <string>

#include "authmilter/dmarc/record.h"

namespace authmilter::dmarc::detail {

struct RequestedPolicy {
  Policy p = Policy::kNone;
  std::optional<Policy> sp;
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  int pct = 100;
  Policy to_enforce = Policy::kNone;  // the policy a failing message is subject to
  bool sp_used = false;
};

// `org_domain`: empty unless the record was found at the organizational domain and that
// differs from `from_domain`. std::nullopt (and `error`) when libopendmarc refuses the record.
std::optional<RequestedPolicy> requested_policy(const Record& record,
                                                const std::string& from_domain,
                                                const std::string& org_domain, std::string* error);

}  // namespace authmilter::dmarc::detail

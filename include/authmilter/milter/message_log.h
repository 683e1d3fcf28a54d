// authmilter::milter — the per-message log line (key=value fields, or one JSON object with
// LogFormat json: log/log.h).
//
// What: one line per message with the queue id first, the envelope, the trust decision, each
//   check's result (spf, spf_helo, sender_id, dkim, dmarc, own_domain), forged A-R headers
//   removed, BATV, a large body served at low CPU priority, the verdict and the time taken. A new
//   check adds its fields here (counts with log::append_number, so they are JSON numbers).
// Security: every value comes from the client or the message; log::append_field escapes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "authmilter/policy/policy.h"
#include "authmilter/policy/results.h"

namespace authmilter::milter {

struct Outcome;

struct MessageFacts {
  std::string_view queue_id;   // empty: NOQUEUE
  std::string_view client_ip;  // the connecting client
  std::string_view judged_ip;  // behind a trusted relay: the hop judged; empty otherwise
  std::string_view helo;
  std::string_view mail_from;  // address, "" for <>
  std::size_t recipients = 0;
  bool headers_truncated = false;
  // The body was served at the lowest CPU priority (milter/thread_priority.h).
  bool body_low_priority = false;
  config::LogFormat format = config::LogFormat::kText;  // LogFormat
};

std::string message_summary(const MessageFacts& facts, const Outcome& outcome);

}  // namespace authmilter::milter

// authmilter::milter — counting one message into the daemon's metrics (MetricsListen).
//
// What: authmilter_messages_total{verdict,trust} +1, authmilter_results_total{method,result}
//   +1 per result the message got (spf, spf_helo, sender-id, one per DKIM signature or
//   dkim=none, dmarc, arc, iprev), and the latency histograms (MAIL FROM to verdict; end-of-message
//   wait). docs/metrics.md lists the series. A new check adds its method here.
// Labels are RFC result tokens and our verdict/trust words: never text from mail.
#pragma once

#include <chrono>

#include "authmilter/metrics/metrics.h"

namespace authmilter::milter {

struct Outcome;

void count_message(metrics::MessageMetrics& metrics, const Outcome& outcome,
                   std::chrono::nanoseconds eom_wait);

}  // namespace authmilter::milter

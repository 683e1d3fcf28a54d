#include "authmilter/milter/message_metrics.h"

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

void count_message(metrics::MessageMetrics& metrics, const Outcome& outcome,
                   std::chrono::nanoseconds eom_wait) {
  metrics.messages.add({config::to_string(outcome.verdict.action), to_string(outcome.trust)});
  metrics.message_duration.observe(outcome.elapsed);
  metrics.eom_wait.observe(eom_wait);
  if (!outcome.judged) return;
  const policy::Results& results = outcome.results;
  if (results.spf_mail_from) {
    metrics.results.add({"spf", spf::to_token(results.spf_mail_from->result)});
  }
  if (results.spf_helo) metrics.results.add({"spf_helo", spf::to_token(results.spf_helo->result)});
  if (results.sender_id) {
    metrics.results.add({"sender-id", spf::to_token(results.sender_id->check.result)});
  }
  if (results.dkim_checked) {
    if (results.dkim.empty()) metrics.results.add({"dkim", "none"});
    for (const auto& signature : results.dkim) {
      metrics.results.add({"dkim", dkim::to_token(signature.result)});
    }
  }
  if (results.dmarc) metrics.results.add({"dmarc", dmarc::to_token(results.dmarc->result)});
  if (results.arc) metrics.results.add({"arc", dkim::to_token(results.arc->result)});
  if (results.iprev) metrics.results.add({"iprev", iprev::to_token(results.iprev->result)});
}

}  // namespace authmilter::milter

#include "authmilter/milter/message_log.h"

#include "authmilter/log/log.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {
namespace {

std::string dkim_summary(const std::vector<dkim::SignatureResult>& signatures) {
  if (signatures.empty()) return "none";
  std::string out;
  for (const auto& sig : signatures) {
    if (!out.empty()) out += ',';
    out += std::string(dkim::to_token(sig.result)) + ":" + sig.domain;
  }
  return out;
}

void append_results(log::Line& line, const policy::Results& results) {
  if (const auto& ip = results.iprev) {
    log::append_field(line, "iprev", iprev::to_token(ip->result));
    if (!ip->ptr_name.empty()) log::append_field(line, "ptr", ip->ptr_name);
  }
  if (results.spf_mail_from) {
    log::append_field(line, "spf", spf::to_token(results.spf_mail_from->result));
  }
  if (results.spf_helo) {
    log::append_field(line, "spf_helo", spf::to_token(results.spf_helo->result));
  }
  if (const auto& sid = results.sender_id) {
    log::append_field(line, "sender_id", spf::to_token(sid->check.result));
    log::append_field(line, "pra", sid->pra);
    log::append_field(line, "sender_id_why", sid->why);
  }
  if (results.dkim_checked) {
    log::append_field(line, "dkim", dkim_summary(results.dkim));
    if (results.dkim_skipped > 0) {
      log::append_number(line, "dkim_skipped", static_cast<std::int64_t>(results.dkim_skipped));
    }
  }
  if (const auto& dm = results.dmarc) {
    log::append_field(line, "dmarc", dmarc::to_token(dm->result));
    log::append_field(line, "header_from", dm->from_domain);
    if (!dm->policy_domain.empty()) {
      log::append_field(line, "dmarc_dis", dmarc::to_token(dm->disposition));
      log::append_field(line, "dmarc_policy_domain", dm->policy_domain);
    }
    if (!dm->org_domain.empty()) log::append_field(line, "dmarc_org_domain", dm->org_domain);
  }
  if (const auto& arc = results.arc) {
    log::append_field(line, "arc", dkim::to_token(arc->result));
    if (arc->instances > 0) log::append_field(line, "arc_sets", std::to_string(arc->instances));
    std::string sealers;
    for (const auto& set : arc->sets) sealers += (sealers.empty() ? "" : ",") + set.sealer;
    if (!sealers.empty()) log::append_field(line, "arc_sealers", sealers);
    if (arc->oldest_pass > 0) {
      log::append_field(line, "arc_oldest_pass", std::to_string(arc->oldest_pass));
    }
    if (arc->result == dkim::ArcResult::kFail || arc->result == dkim::ArcResult::kTempError) {
      log::append_field(line, "arc_why", arc->comment);
    }
  }
  if (const auto& override = results.dmarc_override) {
    log::append_field(line, "dmarc_override", override->type);
    log::append_field(line, "override_by", override->sealer);
  }
  if (const auto& own = results.own_domain) {
    log::append_field(line, "own_domain", own->domain);
    log::append_field(line, "own_domain_sender",
                      own->spoof       ? std::string("unapproved")
                      : own->temporary ? std::string("unknown")
                                       : own->approved_by);
  }
  if (results.internal_error) log::append_field(line, "error", results.internal_error_detail);
}

}  // namespace

std::string message_summary(const MessageFacts& facts, const Outcome& outcome) {
  log::Line line;
  log::append_field(line, "queue", facts.queue_id.empty() ? "NOQUEUE" : facts.queue_id);
  log::append_field(line, "client", facts.client_ip);
  if (!facts.judged_ip.empty() && outcome.judged)
    log::append_field(line, "judged", facts.judged_ip);
  log::append_field(line, "helo", facts.helo);
  log::append_field(line, "from", "<" + std::string(facts.mail_from) + ">");
  log::append_number(line, "rcpts", static_cast<std::int64_t>(facts.recipients));
  log::append_field(line, "trust", to_string(outcome.trust));
  if (outcome.judged) append_results(line, outcome.results);
  if (!outcome.remove_ar.empty()) {
    log::append_number(line, "removed_ar", static_cast<std::int64_t>(outcome.remove_ar.size()));
  }
  if (facts.headers_truncated) log::append_field(line, "headers", "truncated");
  if (!outcome.new_mail_from.empty()) log::append_field(line, "batv", "tagged");
  if (!outcome.untagged_recipients.empty()) {
    log::append_number(line, "batv_valid",
                       static_cast<std::int64_t>(outcome.untagged_recipients.size()));
  }
  if (outcome.batv_refused > 0) {
    log::append_number(line, "batv_refused", static_cast<std::int64_t>(outcome.batv_refused));
  }
  if (outcome.arc_set)
    log::append_field(line, "arc_sealed", std::to_string(outcome.arc_set->instance));
  if (facts.body_low_priority) log::append_field(line, "body_priority", "low");
  log::append_field(line, "verdict", config::to_string(outcome.verdict.action));
  if (!outcome.verdict.check.empty()) log::append_field(line, "by", outcome.verdict.check);
  log::append_number(line, "ms", static_cast<std::int64_t>(outcome.elapsed.count()));
  return line.render(facts.format == config::LogFormat::kJson ? log::Format::kJson
                                                              : log::Format::kText);
}

}  // namespace authmilter::milter

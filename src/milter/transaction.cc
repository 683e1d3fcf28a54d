#include "authmilter/milter/transaction.h"

#include <algorithm>
#include <ctime>

#include "authmilter/log/log.h"
#include "authmilter/mail/address.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/header.h"
#include "authmilter/mail/received.h"
#include "authmilter/milter/dkim_handler.h"
#include "authmilter/milter/dmarc_handler.h"
#include "authmilter/milter/own_domain_handler.h"
#include "authmilter/milter/sender_id_handler.h"
#include "authmilter/milter/spf_handler.h"
#include "authmilter/milter/trusted_results_handler.h"

namespace authmilter::milter {
namespace {

constexpr std::string_view kAuthResultsHeader = "Authentication-Results";

mail::MethodResult spf_method(const spf::CheckResult& spf, const std::string& helo,
                              const std::string& relay_note) {
  mail::MethodResult method;
  method.method = "spf";
  method.result = std::string(spf::to_token(spf.result));
  method.comment = relay_note.empty()    ? spf.comment
                   : spf.comment.empty() ? relay_note
                                         : relay_note + "; " + spf.comment;
  if (spf.identity == spf::Identity::kHelo) {
    // RFC 8601 §2.7.2: smtp.helo is the HELO name itself (the SPF check used postmaster@).
    method.properties.emplace_back("smtp.helo", helo);
  } else {
    method.properties.emplace_back("smtp.mailfrom", spf.checked);
  }
  return method;
}

// RFC 8601 §2.7.2 / IANA: method "sender-id", ptype header, property naming the PRA field.
mail::MethodResult sender_id_method(const policy::SenderIdResult& sid) {
  mail::MethodResult method;
  method.method = "sender-id";
  method.result = std::string(spf::to_token(sid.check.result));
  method.comment = sid.check.comment;
  if (sid.source) {
    method.properties.emplace_back(std::string(mail::to_ptype_property(*sid.source)), sid.pra);
  }
  return method;
}

// RFC 8601 §2.7.1: one dkim resinfo per signature, or dkim=none without signatures.
void add_dkim_methods(const policy::Results& results, std::vector<mail::MethodResult>& methods) {
  if (results.dkim.empty()) {
    methods.push_back({"dkim", "none", "", "", {}});
    return;
  }
  for (const dkim::SignatureResult& sig : results.dkim) {
    mail::MethodResult method;
    method.method = "dkim";
    method.result = std::string(dkim::to_token(sig.result));
    method.comment = sig.comment;
    // DESIGN §3: a key vouched for by a validating resolver (AD bit) is noted.
    if (sig.dnssec)
      method.comment += method.comment.empty() ? "key DNSSEC-signed" : "; key DNSSEC-signed";
    method.properties.emplace_back("header.d", sig.domain);
    if (!sig.identity.empty()) method.properties.emplace_back("header.i", sig.identity);
    method.properties.emplace_back("header.s", sig.selector);
    if (!sig.algorithm.empty()) method.properties.emplace_back("header.a", sig.algorithm);
    if (!sig.b_prefix.empty()) method.properties.emplace_back("header.b", sig.b_prefix);
    methods.push_back(std::move(method));
  }
}

// RFC 7489 §11.2 / RFC 8601: dmarc=<result> (p= sp= pct= dis=) header.from=<domain>.
mail::MethodResult dmarc_method(const dmarc::DmarcResult& dm) {
  mail::MethodResult method;
  method.method = "dmarc";
  method.result = std::string(dmarc::to_token(dm.result));
  if (!dm.policy_domain.empty()) {
    method.comment =
        "p=" + std::string(dmarc::to_token(dm.p)) + " sp=" + std::string(dmarc::to_token(dm.sp)) +
        " pct=" + std::to_string(dm.pct) + " dis=" + std::string(dmarc::to_token(dm.disposition));
    if (dm.sampled_out) method.comment += " sampled out";
  } else if (!dm.comment.empty()) {
    method.comment = dm.comment;
  }
  if (!dm.from_domain.empty()) method.properties.emplace_back("header.from", dm.from_domain);
  if (!dm.policy_domain.empty() && dm.result == dmarc::Result::kFail) {
    method.properties.emplace_back("policy.dmarc", std::string(dmarc::to_token(dm.disposition)));
  }
  return method;
}

std::string dkim_summary(const std::vector<dkim::SignatureResult>& signatures) {
  if (signatures.empty()) return "none";
  std::string out;
  for (const auto& sig : signatures) {
    if (!out.empty()) out += ',';
    out += std::string(dkim::to_token(sig.result)) + ":" + sig.domain;
  }
  return out;
}

}  // namespace

std::string_view to_string(Trust trust) {
  switch (trust) {
    case Trust::kUntrusted:
      return "untrusted";
    case Trust::kInternal:
      return "internal";
    case Trust::kAuthenticated:
      return "authenticated";
  }
  return "untrusted";
}

Transaction::Transaction(const Services& services, const Session& session, std::string mail_from,
                         bool authenticated)
    : services_(services),
      session_(session),
      mail_from_(std::move(mail_from)),
      client_ip_(session.client_ip),
      client_helo_(session.helo),
      started_(std::chrono::steady_clock::now()),
      deadline_(started_ + services.config.message_timeout) {
  if (session.internal) {
    trust_ = Trust::kInternal;
  } else if (authenticated) {
    trust_ = Trust::kAuthenticated;
  }
  if (trust_ != Trust::kUntrusted) return;  // our own clients are not judged as inbound
  handlers_.push_back(std::make_unique<SpfHandler>());
  handlers_.push_back(std::make_unique<SenderIdHandler>());
  if (services.dkim != nullptr) handlers_.push_back(std::make_unique<DkimHandler>());
  // After SPF and DKIM: a trusted upstream's results replace theirs.
  if (session.trusted_relay && !services.config.trusted_authserv_ids.empty()) {
    handlers_.push_back(std::make_unique<TrustedResultsHandler>());
  }
  // After DKIM: an aligned DKIM pass approves a message claiming our domain.
  handlers_.push_back(std::make_unique<OwnDomainHandler>());
  // Last: at end of message DMARC reads what SPF and DKIM stored.
  if (services.dmarc != nullptr) handlers_.push_back(std::make_unique<DmarcHandler>());
  for (auto& handler : handlers_) handler->on_envfrom(*this);
}

Transaction::~Transaction() {
  cancelled_.store(true);
  // Join background work while the members it reads (the cancel flag) still exist: the
  // handlers' futures, then the last shared copies of results in Pending.
  handlers_.clear();
  pending_ = Pending{};
}

std::optional<policy::Verdict> Transaction::add_recipient(std::string_view argument) {
  std::string recipient = mail::envelope_address(argument);
  const mail::BatvKey* key = services_.batv;
  // BATV inbound (draft-levine-smtp-batv §4): a bounce to one of our addresses must carry
  // the tag we put on the MAIL FROM of the message it bounces, or we never sent that message.
  if (key != nullptr && trust_ == Trust::kUntrusted && mail_from_.empty() &&
      is_own_domain(mail::domain_of(recipient), services_.config.own_domains)) {
    const mail::BatvCheck check = mail::batv_verify(recipient, *key, std::time(nullptr));
    if (check.status == mail::BatvStatus::kValid) {
      untagged_recipients_.emplace_back(std::string(argument), "<" + check.original + ">");
      recipients_.push_back(check.original);
      return std::nullopt;
    }
    ++batv_refused_;
    policy::Verdict verdict = policy::batv_verdict(services_.config, recipient, check.status);
    std::string line;
    log::append_field(line, "queue", queue_id_.empty() ? "NOQUEUE" : queue_id_);
    log::append_field(line, "client", session_.client_ip);
    log::append_field(line, "rcpt", recipient);
    log::append_field(line, "batv", mail::to_string(check.status));
    log::append_field(line, "verdict", config::to_string(verdict.action));
    rcpt_log_.push_back(std::move(line));
    if (verdict.action == config::Action::kReject || verdict.action == config::Action::kTempfail) {
      return verdict;
    }
    batv_deferred_ = verdict;  // mark or quarantine: applies to the message at its end
  }
  recipients_.push_back(std::move(recipient));
  return std::nullopt;
}

void Transaction::add_header(std::string_view name, std::string_view given,
                             bool leading_space_kept) {
  const std::string raw = leading_space_kept ? std::string(given) : " " + std::string(given);
  std::string_view value = given;
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  if (mail::iequals_ascii(name, kAuthResultsHeader)) {
    ++ar_headers_seen_;
    // Internal clients' headers are left alone: our own A-R from a first pass must survive
    // a content filter's re-injection.
    if (trust_ != Trust::kInternal) {
      auto id = mail::authserv_id_of(value);
      if (id && mail::same_authserv_id(*id, services_.config.authserv_id)) {
        forged_ar_.push_back(ar_headers_seen_);
      }
    }
  }
  if (trust_ != Trust::kUntrusted) return;
  const std::size_t size = name.size() + value.size() + 4;
  if (headers_truncated_ || header_bytes_ + size > services_.config.max_header_bytes) {
    headers_truncated_ = true;
    return;
  }
  header_bytes_ += size;
  headers_.push_back({std::string(name), std::string(value)});
  for (auto& handler : handlers_) handler->on_header(*this, name, value, raw);
}

void Transaction::end_of_headers() {
  if (trust_ == Trust::kUntrusted && session_.trusted_relay) find_untrusted_hop();
  for (auto& handler : handlers_) handler->on_eoh(*this);
}

void Transaction::find_untrusted_hop() {
  std::vector<std::string_view> received;
  for (const Header& header : headers_) {
    if (mail::iequals_ascii(header.name, "Received")) received.push_back(header.value);
  }
  // Postfix and Sendmail hide their own Received: from milters; an MTA that shows it names
  // the connecting relay there, which the walk treats as trusted and steps over.
  const config::CidrList& relays = services_.config.trusted_relays;
  const mail::HopSelection hop = mail::select_first_untrusted_hop(
      received, session_.client_ip, [&](std::string_view ip) { return relays.contains(ip); });
  if (hop.ok) {
    client_ip_ = hop.ip;
    client_helo_ = hop.helo;
    relay_note_ = "via trusted relay " + session_.client_ip + ", judged " + hop.ip;
  } else {
    relay_note_ =
        "Received chain not usable (" + hop.error + "), judged relay " + session_.client_ip;
  }
}

void Transaction::add_body(std::string_view chunk) {
  for (auto& handler : handlers_) handler->on_body(*this, chunk);
}

Outcome Transaction::finish() {
  Outcome outcome;
  outcome.trust = trust_;
  outcome.judged = trust_ == Trust::kUntrusted;
  outcome.remove_ar = forged_ar_;
  outcome.untagged_recipients = untagged_recipients_;
  // BATV outbound: our own senders' MAIL FROM in OwnDomains gets a fresh tag.
  if (services_.batv != nullptr && trust_ != Trust::kUntrusted && !mail_from_.empty() &&
      is_own_domain(mail::domain_of(mail_from_), services_.config.own_domains)) {
    outcome.new_mail_from =
        "<" + mail::batv_sign(mail_from_, *services_.batv, std::time(nullptr)) + ">";
  }
  std::sort(outcome.remove_ar.rbegin(), outcome.remove_ar.rend());  // delete from the end

  if (outcome.judged) {
    for (auto& handler : handlers_) {
      try {
        handler->on_eom(*this);
      } catch (const std::exception& e) {
        results_.internal_error = true;
        results_.internal_error_detail = e.what();
      }
    }
    outcome.results = results_;
    outcome.verdict = policy::decide(results_, services_.config, client_ip_);
    if (batv_deferred_ &&
        policy::severity(batv_deferred_->action) > policy::severity(outcome.verdict.action)) {
      outcome.verdict = *batv_deferred_;
    }
    outcome.add_mark = outcome.verdict.action == config::Action::kMark;

    std::vector<mail::MethodResult> methods;
    if (results_.spf_mail_from)
      methods.push_back(spf_method(*results_.spf_mail_from, client_helo_, relay_note_));
    if (results_.spf_helo)
      methods.push_back(spf_method(*results_.spf_helo, client_helo_, relay_note_));
    if (results_.sender_id) methods.push_back(sender_id_method(*results_.sender_id));
    if (services_.dkim != nullptr) add_dkim_methods(results_, methods);
    if (results_.dmarc) methods.push_back(dmarc_method(*results_.dmarc));
    if (const auto& own = results_.own_domain; own && own->spoof && !methods.empty()) {
      // RFC 8601 has no method for this local policy: a comment on the last entry (dmarc
      // when it ran), so a reader sees why the message was acted on.
      std::string& comment = methods.back().comment;
      comment = (comment.empty() ? "" : comment + "; ") + own->field + " claims our domain " +
                own->domain + " but the sender is not approved";
    }
    outcome.auth_results =
        mail::format_authentication_results(services_.config.authserv_id, methods);
    if (services_.config.add_received_spf) {
      if (const spf::CheckResult* spf = results_.spf_envelope()) {
        spf::Request request{client_ip_, client_helo_, mail_from_, spf->identity};
        outcome.received_spf = spf::received_spf_value(*spf, request, services_.config.authserv_id);
      }
    }
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);

  std::string& line = outcome.summary;
  log::append_field(line, "queue", queue_id_.empty() ? "NOQUEUE" : queue_id_);
  log::append_field(line, "client", session_.client_ip);
  if (session_.trusted_relay && outcome.judged) log::append_field(line, "judged", client_ip_);
  log::append_field(line, "helo", session_.helo);
  log::append_field(line, "from", "<" + mail_from_ + ">");
  log::append_field(line, "rcpts", std::to_string(recipients_.size()));
  log::append_field(line, "trust", to_string(trust_));
  if (outcome.judged) {
    if (results_.spf_mail_from) {
      log::append_field(line, "spf", spf::to_token(results_.spf_mail_from->result));
    }
    if (results_.spf_helo) {
      log::append_field(line, "spf_helo", spf::to_token(results_.spf_helo->result));
    }
    if (const auto& sid = results_.sender_id) {
      log::append_field(line, "sender_id", spf::to_token(sid->check.result));
      log::append_field(line, "pra", sid->pra);
      log::append_field(line, "sender_id_why", sid->why);
    }
    if (services_.dkim != nullptr) {
      log::append_field(line, "dkim", dkim_summary(results_.dkim));
      if (results_.dkim_skipped > 0) {
        log::append_field(line, "dkim_skipped", std::to_string(results_.dkim_skipped));
      }
    }
    if (const auto& dm = results_.dmarc) {
      log::append_field(line, "dmarc", dmarc::to_token(dm->result));
      log::append_field(line, "header_from", dm->from_domain);
      if (!dm->policy_domain.empty()) {
        log::append_field(line, "dmarc_dis", dmarc::to_token(dm->disposition));
      }
    }
    if (const auto& own = results_.own_domain) {
      log::append_field(line, "own_domain", own->domain);
      log::append_field(line, "own_domain_sender",
                        own->spoof       ? std::string("unapproved")
                        : own->temporary ? std::string("unknown")
                                         : own->approved_by);
    }
    if (results_.internal_error) log::append_field(line, "error", results_.internal_error_detail);
  }
  if (!outcome.remove_ar.empty()) {
    log::append_field(line, "removed_ar", std::to_string(outcome.remove_ar.size()));
  }
  if (headers_truncated_) log::append_field(line, "headers", "truncated");
  if (!outcome.new_mail_from.empty()) log::append_field(line, "batv", "tagged");
  if (!untagged_recipients_.empty()) {
    log::append_field(line, "batv_valid", std::to_string(untagged_recipients_.size()));
  }
  if (batv_refused_ > 0) log::append_field(line, "batv_refused", std::to_string(batv_refused_));
  log::append_field(line, "verdict", config::to_string(outcome.verdict.action));
  if (!outcome.verdict.check.empty()) log::append_field(line, "by", outcome.verdict.check);
  log::append_field(line, "ms", std::to_string(outcome.elapsed.count()));
  return outcome;
}

}  // namespace authmilter::milter

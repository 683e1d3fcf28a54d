#include "authmilter/milter/transaction.h"

#include "authmilter/mail/address.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/milter/message_log.h"
#include "authmilter/milter/relay_hop.h"
#include "authmilter/policy/auth_results_render.h"

namespace authmilter::milter {

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
      forged_ar_(services.config.authserv_id),
      started_(std::chrono::steady_clock::now()),
      deadline_(started_ + services.config.message_timeout),
      body_(services.pool, services.body_offload, [this](std::string_view chunk) {
        for (auto& handler : handlers_) handler->on_body(*this, chunk);
      }) {
  if (session.internal) {
    trust_ = Trust::kInternal;
  } else if (authenticated) {
    trust_ = Trust::kAuthenticated;
  }
  // Ordered once per process; a bad table throws here, on the first message and in tests.
  static const std::vector<const HandlerSpec*> order = ordered_handlers(handler_table());
  for (const HandlerSpec* spec : order) {
    if (spec->wanted(services, session, trust_)) handlers_.push_back(spec->make());
  }
  for (auto& handler : handlers_) handler->on_envfrom(*this);
}

Transaction::~Transaction() {
  // Checks still queued for this message are dropped, running ones stop their DNS waits at
  // once; they own what they use, so nothing here waits for them.
  cancel_->cancel();
}

std::optional<policy::Verdict> Transaction::add_recipient(std::string_view argument) {
  std::string recipient = mail::envelope_address(argument);
  for (auto& handler : handlers_) {
    if (std::optional<policy::Verdict> refused = handler->on_rcpt(*this, argument, recipient)) {
      return refused;
    }
  }
  recipients_.push_back(std::move(recipient));
  return std::nullopt;
}

void Transaction::add_header(std::string_view name, std::string_view given,
                             bool leading_space_kept) {
  mail::HeaderField field{std::string(name),
                          leading_space_kept ? std::string(given) : " " + std::string(given)};
  // Internal clients' headers are left alone: our own A-R from a first pass must survive a
  // content filter's re-injection.
  if (trust_ != Trust::kInternal) forged_ar_.add(field);
  if (trust_ != Trust::kUntrusted) return;  // not judged: nothing keeps or reads headers
  const std::size_t size = field.name.size() + field.value().size() + 4;
  if (headers_truncated_ || header_bytes_ + size > services_.config.max_header_bytes) {
    headers_truncated_ = true;
    return;
  }
  header_bytes_ += size;
  headers_.push_back(std::move(field));
  for (auto& handler : handlers_) handler->on_header(*this, headers_.back());
}

void Transaction::end_of_headers() {
  if (trust_ == Trust::kUntrusted) {
    if (session_.trusted_relay) {
      JudgedClient judged = judged_client_behind_relay(headers_, session_.client_ip, session_.helo,
                                                       services_.config.trusted_relays);
      client_ip_ = std::move(judged.ip);
      client_helo_ = std::move(judged.helo);
      relay_note_ = std::move(judged.note);
    }
    pending_.from = dmarc::from_domain_in(headers_);
    pending_.pra = mail::extract_pra(headers_);
  }
  for (auto& handler : handlers_) handler->on_eoh(*this);
}

void Transaction::add_body(std::string_view chunk) { body_.add(chunk); }

// RFC 9990 aggregate reports: what DMARC judged goes to the writer thread's queue, which
// never blocks (report/recorder.h).
void Transaction::record_for_report() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const report::Envelope envelope{client_ip_, mail_from_,
                                  recipients_.empty() ? std::string_view() : recipients_.front(),
                                  std::chrono::duration_cast<std::chrono::seconds>(now).count()};
  if (auto record = report::make_record(results_, envelope, services_.config)) {
    services_.recorder->submit(std::move(*record));
  }
}

// One step of end of message: a check that throws is an internal error of the message (the
// policy's OnInternalError), and the other steps still run.
template <typename Step>
void Transaction::note_failure(Step&& step) {
  try {
    step();
  } catch (const std::exception& e) {
    results_.internal_error = true;
    results_.internal_error_detail = e.what();
  }
}

Outcome Transaction::finish() {
  Outcome outcome;
  outcome.trust = trust_;
  outcome.judged = trust_ == Trust::kUntrusted;
  outcome.remove_ar = forged_ar_.to_remove();
  outcome.client_ip = client_ip_;
  outcome.relay_note = relay_note_;
  for (auto& handler : handlers_) note_failure([&] { handler->on_eom_start(*this); });
  note_failure([&] { body_.drain(); });  // the body checks have seen every chunk
  for (auto& handler : handlers_) note_failure([&] { handler->on_eom(*this); });
  if (const auto& batv = results_.batv) {
    outcome.new_mail_from = batv->tagged_mail_from;
    outcome.untagged_recipients = batv->untagged_recipients;
    outcome.batv_refused = batv->refused;
  }
  if (outcome.judged) {
    outcome.results = results_;
    outcome.verdict = policy::decide(results_, services_.config, client_ip_);
    outcome.add_mark = outcome.verdict.action == config::Action::kMark;
    const policy::RenderContext context{client_helo_, relay_note_, client_ip_};
    outcome.auth_results = mail::format_authentication_results(
        services_.config.authserv_id, policy::render_methods(results_, context));
    for (auto& handler : handlers_) handler->on_outcome(*this, outcome);
    if (services_.config.add_received_spf) {
      outcome.received_spf = policy::render_received_spf(results_, client_ip_, client_helo_,
                                                         mail_from_, services_.config.authserv_id);
    }
  }
  if (outcome.judged && services_.recorder != nullptr) record_for_report();
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  const MessageFacts facts{queue_id_,
                           session_.client_ip,
                           session_.trusted_relay ? std::string_view(client_ip_) : "",
                           session_.helo,
                           mail_from_,
                           recipients_.size(),
                           headers_truncated_,
                           body_low_priority_,
                           services_.config.log_format};
  outcome.summary = message_summary(facts, outcome);
  return outcome;
}

}  // namespace authmilter::milter

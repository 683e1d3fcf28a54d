// authmilter::milter::Transaction — one message's way through the checks (DESIGN §1).
//
// What: the per-connection facts (Session: client IP, HELO, trust) and the per-message state
//   (Transaction: envelope, kept headers, handlers, results) that the milter callbacks and the
//   offline `check` command both drive, stage by stage: envfrom → header* → eoh → body* → eom.
//   Nothing here calls libmilter: finish() returns an Outcome (header edits + verdict) that
//   milter/callbacks.cc applies, or that `authmilter check` prints.
// Handlers: one per check (milter/handler.h), hooked to the stages; they start their DNS
//   work as early as their input exists (SPF at MAIL FROM) and write their typed result into
//   Results at eom. Which handlers a message gets and their order come from the declared
//   handler table (each handler names the handlers it requires), not from code here.
// The Transaction itself only moves data: it keeps the headers, parses From: and the PRA
//   once at end of headers (Pending), finds the client to judge behind a trusted relay
//   (relay_hop.h), notes forged A-R headers (forged_auth_results.h), and at eom asks the
//   policy for the verdict, the renderers for the A-R and Received-SPF values
//   (policy/auth_results_render.h) and message_log.h for the log line.
// Trust: InternalHosts clients are not judged and their headers are left alone (a content
//   filter re-injecting our own mail must keep our A-R header); SASL-authenticated clients
//   are not judged either, but A-R headers claiming our authserv-id are still removed from
//   their mail, since a user must not be able to assert our results.
// Limits: headers are kept up to MaxHeaderBytes (kept for later checks and `check`); past it
//   they are still scanned for forged A-R headers but not kept. MessageTimeout bounds every
//   DNS wait from MAIL FROM on; a check not done by then is temperror.
// Security: every string here came from the SMTP client; handlers and writers sanitize.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/config/config.h"
#include "authmilter/dkim/arc.h"
#include "authmilter/dkim/verifier.h"
#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/batv.h"
#include "authmilter/mail/header.h"
#include "authmilter/mail/pra.h"
#include "authmilter/metrics/metrics.h"
#include "authmilter/milter/body_pipeline.h"
#include "authmilter/milter/forged_auth_results.h"
#include "authmilter/milter/handler.h"
#include "authmilter/policy/policy.h"
#include "authmilter/policy/results.h"
#include "authmilter/report/recorder.h"
#include "authmilter/spf/spf.h"
#include "authmilter/work/cancel.h"
#include "authmilter/work/future.h"
#include "authmilter/work/pool.h"

namespace authmilter::milter {

// What one message needs from the daemon: shared, thread-safe, outliving every Transaction.
struct Services {
  const config::Config& config;
  dns::Resolver& resolver;
  const spf::Checker& spf;
  work::Pool& pool;  // runs the checks that block in their DNS (libspf2); shared by all
  const dkim::Library* dkim = nullptr;      // absent: no DKIM check (unit tests of other checks)
  const dmarc::Evaluator* dmarc = nullptr;  // absent: no DMARC check
  const mail::BatvKey* batv = nullptr;      // absent: BATV off (no BATVKeyFile)
  report::Recorder* recorder = nullptr;     // absent: ReportStore none
  const dkim::ArcSigningKey* arc_key = nullptr;  // absent: no ARC sealing (ARCSign no)
  metrics::MessageMetrics* metrics = nullptr;    // absent: MetricsListen unset (and in tests)
  // Large bodies hashed on a worker while a core is free (body_pipeline.h); absent: inline.
  BodyOffloadSlots* body_offload = nullptr;
};

enum class Trust { kUntrusted, kInternal, kAuthenticated };
std::string_view to_string(Trust trust);

struct Session {
  std::string client_ip;    // textual, empty when the MTA did not tell (treated as untrusted)
  std::string client_name;  // PTR name as the MTA saw it, or "[ip]"
  std::string helo;
  bool internal = false;       // client_ip in InternalHosts
  bool trusted_relay = false;  // client_ip in TrustedRelays: judge the first untrusted hop
};

// Results that later stages wait for, or facts several handlers read, published once so
// handlers never reach into each other (SenderID waits for SPF; DMARC for SPF and DKIM).
struct Pending {
  work::Future<spf::CheckResult> spf_envelope;  // MAIL FROM, or HELO for <>
  // Parsed once per message at end of headers, before any handler's on_eoh (untrusted
  // clients only): the RFC 7489 §6.6.1 From: domain (DMARC, own domains) and the RFC 4407
  // PRA (SenderID, own domains).
  dmarc::FromDomain from;
  mail::Pra pra;
};

// The header edits and verdict for one message.
struct Outcome {
  Trust trust = Trust::kUntrusted;
  bool judged = false;         // checks ran (false for internal/authenticated clients)
  std::string auth_results;    // A-R header value to insert first; empty: none
  std::string received_spf;    // Received-SPF value to insert; empty: none
  std::vector<int> remove_ar;  // 1-based indexes among A-R headers, to delete (descending)
  bool add_mark = false;       // add Config::mark_header
  policy::Results results;
  policy::Verdict verdict;
  std::chrono::milliseconds elapsed{0};
  std::string summary;        // the per-message log line's fields
  std::string client_ip;      // the client judged (behind a trusted relay: the first untrusted hop)
  std::string relay_note;     // trusted relay: how that client was found; empty otherwise
  std::string new_mail_from;  // BATV-tagged MAIL FROM to set (smfi_chgfrom); empty: keep
  // BATV: recipients to replace, as given at RCPT -> the address without its valid tag.
  std::vector<std::pair<std::string, std::string>> untagged_recipients;
  std::size_t batv_refused = 0;  // bounce recipients with a missing or bad tag
  // ARCSign: our ARC set, inserted at the top above our A-R (seal topmost); absent: none.
  std::optional<dkim::ArcSealedSet> arc_set;
};

class Transaction {
 public:
  // `authenticated`: the SASL login name ({auth_authen}) was set for this MAIL FROM.
  Transaction(const Services& services, const Session& session, std::string mail_from,
              bool authenticated);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void set_queue_id(std::string queue_id) { queue_id_ = std::move(queue_id); }
  // `argument` as the MTA passed it ("<a@b>"). Returns a verdict when this recipient must be
  // refused now (BATV: a bounce to one of OwnDomains without a valid tag).
  std::optional<policy::Verdict> add_recipient(std::string_view argument);
  // `value` as the MTA gave it: with the text after the colon intact when
  // `leading_space_kept` (libmilter's SMFIP_HDR_LEADSPC, and `check`), otherwise without the
  // single space the MTA removed.
  void add_header(std::string_view name, std::string_view value, bool leading_space_kept = false);
  void end_of_headers();
  void add_body(std::string_view chunk);
  // Waits for the checks (never past the deadline), decides, and returns the edits.
  Outcome finish();
  // Client gone or MTA abort: in-flight lookups stop waiting at once and this message's
  // queued checks are dropped.
  void cancel() { cancel_->cancel(); }

  // For handlers.
  const Services& services() const { return services_; }
  const Session& session() const { return session_; }
  // The client the checks judge: the connecting one, or for a trusted relay the first
  // untrusted hop of the Received: chain (known from end of headers on).
  const std::string& client_ip() const { return client_ip_; }
  const std::string& client_helo() const { return client_helo_; }
  // For trusted relays: how the judged client was found (for the A-R comment and the log).
  const std::string& relay_note() const { return relay_note_; }
  // Log lines for recipients refused at RCPT (taken, so each is logged once).
  std::vector<std::string> take_recipient_log() { return std::exchange(rcpt_log_, {}); }
  // For handlers refusing a recipient at RCPT: one log line.
  void log_recipient(std::string line) { rcpt_log_.push_back(std::move(line)); }
  const std::string& mail_from() const { return mail_from_; }  // address, "" for <>
  const std::string& queue_id() const { return queue_id_; }
  const std::vector<mail::HeaderField>& headers() const { return headers_; }
  bool headers_truncated() const { return headers_truncated_; }
  std::size_t header_bytes() const { return header_bytes_; }  // kept, within MaxHeaderBytes
  dns::Deadline deadline() const { return deadline_; }
  const work::CancelToken* cancel_token() const { return cancel_.get(); }
  // For tasks queued on the Pool: they may outlive this Transaction.
  std::shared_ptr<const work::CancelToken> shared_cancel_token() const { return cancel_; }
  policy::Results& results() { return results_; }
  Pending& pending() { return pending_; }
  Trust trust() const { return trust_; }
  // Body chunks that went through the worker queue (BodyPipeline), for tests.
  std::size_t offloaded_body_chunks() const { return body_.offloaded_chunks(); }
  // The milter thread served some of the body at the lowest CPU priority (the log says so).
  void note_body_low_priority() { body_low_priority_ = true; }

 private:
  void record_for_report();
  template <typename Step>
  void note_failure(Step&& step);

  const Services& services_;
  const Session& session_;
  std::string mail_from_;
  std::string queue_id_;
  std::string client_ip_;
  std::string client_helo_;
  std::string relay_note_;
  std::vector<std::string> recipients_;
  std::vector<std::string> rcpt_log_;  // one log line per refused recipient
  std::vector<mail::HeaderField> headers_;
  std::size_t header_bytes_ = 0;
  bool headers_truncated_ = false;
  bool body_low_priority_ = false;
  ForgedAuthResults forged_ar_;
  Trust trust_ = Trust::kUntrusted;
  std::chrono::steady_clock::time_point started_;
  dns::Deadline deadline_;
  policy::Results results_;
  Pending pending_;
  // Shared with the queued checks, which own everything they use: nothing waits for them.
  std::shared_ptr<work::CancelToken> cancel_ = std::make_shared<work::CancelToken>();
  std::vector<std::unique_ptr<Handler>> handlers_;
  // After the handlers: destroyed first, so no worker feeds a handler that is gone.
  BodyPipeline body_;
};

}  // namespace authmilter::milter

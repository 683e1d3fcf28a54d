// The libmilter callbacks and their translation into Transaction calls (STYLE: "one file
// talks to libmilter"; the socket and the main loop are in listener.cc).
#include "authmilter/milter/callbacks.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "authmilter/log/log.h"
#include "authmilter/mail/address.h"
#include "authmilter/milter/message_metrics.h"
#include "authmilter/milter/service_gate.h"
#include "authmilter/milter/thread_priority.h"
#include "authmilter/util/cores.h"

namespace authmilter::milter {
namespace {

// How far an MTA connection got; logged when it ends without end-of-message or abort.
enum class Stage { kConnect, kHelo, kMail, kRcpt, kHeader, kEndOfHeaders, kBody, kDone };

std::string_view to_string(Stage stage) {
  switch (stage) {
    case Stage::kConnect:
      return "connect";
    case Stage::kHelo:
      return "helo";
    case Stage::kMail:
      return "mail";
    case Stage::kRcpt:
      return "rcpt";
    case Stage::kHeader:
      return "header";
    case Stage::kEndOfHeaders:
      return "eoh";
    case Stage::kBody:
      return "body";
    case Stage::kDone:
      return "done";
  }
  return "unknown";
}

// Per-connection context behind smfi_setpriv. Tracked by the gate, so a stop can cut the
// message in flight; the Transaction goes before the message's use of the services.
struct Connection final : ServiceGate::Tracked {
  Connection() { ServiceGate::process().track(this); }
  ~Connection() {
    ServiceGate::process().untrack(this);
    end_message();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void end_message() {
    if (txn) txn->cancel();
    txn.reset();
    message_use.release();
    body_bytes = 0;
    low_priority_body = false;
  }
  ServiceGate::Use cut() override {
    if (!txn) return {};
    txn->cancel();
    txn.reset();
    why = "the daemon stopped before the message ended";
    return std::move(message_use);
  }

  Session session;
  bool leading_space_kept = false;  // SMFIP_HDR_LEADSPC negotiated: header values as sent
  bool body_without_reply = false;  // SMFIP_NR_BODY negotiated: body chunks get no reply
  Stage stage = Stage::kConnect;
  std::string why;                 // our reason when we ended the message early
  std::size_t largest_header = 0;  // bytes of the largest header field of the message
  std::size_t body_bytes = 0;      // of the message so far
  // The body passed kLowPriorityBodyBytes among other messages: its thread is lowered.
  bool low_priority_body = false;
  // A verdict reached in a stage that sends no reply (header, end of headers, body: see
  // kNoReplySteps), given at end of message; its SMTP reply is set already (smfi_setreply).
  std::optional<sfsistat> deferred;
  ServiceGate::Use message_use;  // declared before txn: released after it is destroyed
  std::unique_ptr<Transaction> txn;
};

Connection* connection_of(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

std::string symbol(SMFICTX* ctx, const char* name) {
  const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
  return value != nullptr ? std::string(value) : std::string();
}

std::string address_text(const sockaddr* addr) {
  if (addr == nullptr) return {};
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) == nullptr) return {};
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof buf) == nullptr) return {};
    } else if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf) == nullptr) {
      return {};
    }
  } else {
    return {};
  }
  return buf;
}

// SMTP reply text: printable ASCII only, and '%' doubled (libmilter formats the text).
std::string reply_text(std::string_view text) {
  std::string out;
  for (const char raw : mail::sanitize_for_header(text)) {
    const auto c = static_cast<unsigned char>(raw);
    if (c < 0x20 || c >= 0x7f) continue;
    out.push_back(static_cast<char>(c));
    if (c == '%') out.push_back('%');
  }
  return out.empty() ? std::string("Message refused") : out;
}

sfsistat set_reply_and_return(SMFICTX* ctx, const policy::Verdict& verdict, sfsistat status) {
  std::string code = verdict.smtp_code;
  std::string xcode = verdict.enhanced_code;
  std::string text = reply_text(verdict.reason);
  if (smfi_setreply(ctx, code.data(), xcode.data(), text.data()) != MI_SUCCESS) {
    spdlog::warn("smfi_setreply failed for code={} xcode={}", code, xcode);
  }
  return status;
}

// A verdict given before end of message: reject or tempfail with its reply, else go on.
sfsistat early_verdict(SMFICTX* ctx, const policy::Verdict& verdict) {
  switch (verdict.action) {
    case config::Action::kReject:
      return set_reply_and_return(ctx, verdict, SMFIS_REJECT);
    case config::Action::kTempfail:
      return set_reply_and_return(ctx, verdict, SMFIS_TEMPFAIL);
    default:
      return SMFIS_ACCEPT;
  }
}

// OnInternalError (the policy's verdict): our own failure never rejects mail.
sfsistat internal_error(SMFICTX* ctx, const Services& services, std::string_view where,
                        std::string_view what) {
  spdlog::error("{}", log::fields({{"event", "internal_error"}, {"in", where}, {"what", what}}));
  if (Connection* c = connection_of(ctx)) c->why = "internal error in " + std::string(where);
  return early_verdict(ctx, policy::internal_error_verdict(services.config));
}

// Runs `body(services)` under a callback use of the gate, and turns any exception into the
// internal-error action. Once the daemon is stopping (gate sealed) nothing is touched: the
// MTA is told to try again later.
template <typename Body>
sfsistat guarded(SMFICTX* ctx, std::string_view where, Body&& body) noexcept {
  // A lowered thread (a large body's, thread_priority.h) takes no lock of ours: the gate's
  // mutex, taken by every callback, held by a thread the scheduler passes over would stop
  // them all. So the priority comes back before, and on_body lowers it again on its way out.
  thread_priority::restore();
  try {
    const ServiceGate::Use use = ServiceGate::process().enter_callback();
    if (!use) return set_reply_and_return(ctx, policy::shutdown_verdict(), SMFIS_TEMPFAIL);
    const Services& services = *use.services();
    try {
      return body(services);
    } catch (const std::exception& e) {
      return internal_error(ctx, services, where, e.what());
    } catch (...) {
      return internal_error(ctx, services, where, "unknown exception");
    }
  } catch (...) {
    return SMFIS_TEMPFAIL;
  }
}

// The steps we answer with SMFIS_NOREPLY (the MTA sends the next command without waiting):
// HELO, each header field and end of headers, where our answer is always "continue" (the
// checks decide at end of message). That saves a round trip per header field, which with
// libmilter's worker pool is two thread wake-ups each (docs/PERFORMANCE.md). libmilter
// offers these to xxfi_negotiate even when the MTA lacks them, and then sends the "continue"
// itself (engine.c, sendreply), so these callbacks never reply, whatever the MTA.
// Body chunks (SMFIP_NR_BODY) go unanswered only on a connection that negotiates while no
// message is in flight (on_negotiate): the MTA then streams the body, and its reads
// and our hashing (on another core, BodyPipeline) overlap its writes instead of waiting a
// round trip per 64 KiB (a 2 MB message at c=1: 1.6 instead of 3.0 ms). While other
// messages run, the replies stay: unanswered, the MTA sends end of message while the body
// still waits behind the other messages' work, which at 16 connections raised the EOM p99 for
// messages up to 200 KB from 2 to 5 ms for 2-4 % more messages per second.
constexpr unsigned long kNoReplySteps = SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH;
// Steps we have no callback for: the MTA need not send them (libmilter drops what it lacks).
constexpr unsigned long kStepsNotSent = SMFIP_NODATA | SMFIP_NOUNKNOWN;

// For the callbacks of kNoReplySteps: "continue" is no reply; any other verdict (an internal
// error, the daemon stopping) ends the message here and is given at end of message, since
// libmilter would drop it (and log an error) in a step that must not reply.
sfsistat without_reply(SMFICTX* ctx, sfsistat status) noexcept {
  if (status == SMFIS_CONTINUE || status == SMFIS_NOREPLY) return SMFIS_NOREPLY;
  if (Connection* c = connection_of(ctx); c != nullptr && !c->deferred) {
    c->deferred = status;
    c->end_message();
  }
  return SMFIS_NOREPLY;
}

// An edit at end of message failed to reach the MTA. libmilter refuses an edit only for an
// action not negotiated (we ask for ours and Postfix and Sendmail grant them) or when writing
// to the MTA fails: the MTA has dropped the connection (a client reset after its final dot),
// which is no fault of ours and needs no OnInternalError.
struct MtaGone {};

// `leading_space`: with SMFIP_HDR_LEADSPC the MTA adds no space after the colon of headers we
// add, so we write it ourselves.
void apply_edits(SMFICTX* ctx, const Services& services, const Outcome& outcome,
                 bool leading_space) {
  const std::string space = leading_space ? " " : "";
  if (!outcome.new_mail_from.empty()) {
    std::string from = outcome.new_mail_from;
    if (smfi_chgfrom(ctx, from.data(), nullptr) != MI_SUCCESS) {
      spdlog::warn("could not set the BATV-tagged MAIL FROM {}", from);
    }
  }
  for (const auto& [tagged, original] : outcome.untagged_recipients) {
    std::string old_rcpt = tagged;
    std::string new_rcpt = original;
    if (smfi_delrcpt(ctx, old_rcpt.data()) != MI_SUCCESS ||
        smfi_addrcpt(ctx, new_rcpt.data()) != MI_SUCCESS) {
      spdlog::warn("could not remove the BATV tag from recipient {}", old_rcpt);
    }
  }
  static char kArName[] = "Authentication-Results";
  for (int index : outcome.remove_ar) {
    if (smfi_chgheader(ctx, kArName, index, nullptr) != MI_SUCCESS) {
      spdlog::warn("could not remove Authentication-Results header #{}", index);
    }
  }
  if (!outcome.received_spf.empty()) {
    static char kReceivedSpf[] = "Received-SPF";
    std::string value = space + outcome.received_spf;
    smfi_insheader(ctx, 0, kReceivedSpf, value.data());
  }
  if (!outcome.auth_results.empty()) {
    std::string value = space + outcome.auth_results;
    if (smfi_insheader(ctx, 0, kArName, value.data()) != MI_SUCCESS) throw MtaGone();
  }
  if (const auto& arc = outcome.arc_set) {
    // Above our A-R, the seal topmost: AS, AMS, AAR, A-R (RFC 8617 §4.2 keeps a set together).
    static char kAar[] = "ARC-Authentication-Results";
    static char kAms[] = "ARC-Message-Signature";
    static char kAs[] = "ARC-Seal";
    std::string aar = space + arc->authentication_results;
    std::string ams = space + arc->message_signature;
    std::string seal = space + arc->seal;
    if (smfi_insheader(ctx, 0, kAar, aar.data()) != MI_SUCCESS ||
        smfi_insheader(ctx, 0, kAms, ams.data()) != MI_SUCCESS ||
        smfi_insheader(ctx, 0, kAs, seal.data()) != MI_SUCCESS) {
      throw MtaGone();
    }
  }
  if (outcome.add_mark) {
    const auto [mark_name, mark_value] = config::split_header(services.config.mark_header);
    std::string name(mark_name);
    std::string value = space + std::string(mark_value);
    smfi_addheader(ctx, name.data(), value.data());
  }
}

// apply_edits(); false (logged once, at info) when the MTA is gone: the answer then reaches
// nobody, and a tempfail is the safe one should it arrive after all.
bool apply_edits_or_log(SMFICTX* ctx, const Services& services, const Outcome& outcome,
                        Connection& c, const std::string& queue_id) {
  try {
    apply_edits(ctx, services, outcome, c.leading_space_kept);
    return true;
  } catch (const MtaGone&) {
    c.why = "MTA connection lost while adding our headers";
    spdlog::info(
        "{}",
        log::fields({{"qid", queue_id}, {"event", "mta_gone"}, {"stage", "eom"}, {"why", c.why}}));
    return false;
  }
}

// Headers, quarantine; MAIL FROM and recipient changes for BATV.
constexpr unsigned long kActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
                                   SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT;

// What option negotiation agreed, per libmilter context (one MTA connection). It outlives our
// Connection: after XCLIENT, Postfix ends the SMTP session with QUIT_NC and starts a new one
// on the same milter connection (close, then connect) without negotiating again. Debian's
// libmilter serves sessions from a worker pool, so a session may move between threads: the
// answer is kept by context, not by thread. A context always negotiates first (libmilter's
// state machine), so an entry left by a freed context is overwritten before it is read.
struct Negotiated {
  bool leading_space_kept = false;  // SMFIP_HDR_LEADSPC
  bool body_without_reply = false;  // SMFIP_NR_BODY
};

class NegotiatedOptions {
 public:
  void set(const SMFICTX* ctx, Negotiated agreed) {
    std::lock_guard lock(mutex_);
    agreed_[ctx] = agreed;
  }
  Negotiated get(const SMFICTX* ctx) {
    std::lock_guard lock(mutex_);
    const auto it = agreed_.find(ctx);
    return it != agreed_.end() ? it->second : Negotiated{};
  }

 private:
  std::mutex mutex_;
  std::unordered_map<const SMFICTX*, Negotiated> agreed_;
};

NegotiatedOptions& negotiated_options() {
  static NegotiatedOptions* const table = new NegotiatedOptions();  // never destroyed
  return *table;
}

extern "C" {

// Asks for header values exactly as sent (SMFIP_HDR_LEADSPC): DKIM's simple header
// canonicalization needs the space after the colon, or its absence. Also asks for no replies
// where we always continue (kNoReplySteps) and for no DATA and unknown-command steps. The
// SMFIP_MDS_* answer is libmilter's own (it masks those bits out of ours): see callbacks.h.
sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps, unsigned long,
                      unsigned long, unsigned long* want_actions, unsigned long* want_steps,
                      unsigned long* want_2, unsigned long* want_3) noexcept {
  return guarded(ctx, "negotiate", [&](const Services&) {
    *want_actions = actions & kActions;
    // See kNoReplySteps: the body is streamed only to an otherwise idle daemon.
    const bool stream_body =
        (steps & SMFIP_NR_BODY) != 0 && ServiceGate::process().messages_in_flight() == 0;
    *want_steps = steps & (SMFIP_HDR_LEADSPC | kNoReplySteps | kStepsNotSent);
    if (stream_body) *want_steps |= SMFIP_NR_BODY;
    *want_2 = 0;
    *want_3 = 0;
    negotiated_options().set(ctx, {(steps & SMFIP_HDR_LEADSPC) != 0, stream_body});
    return SMFIS_CONTINUE;
  });
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) noexcept {
  return guarded(ctx, "connect", [&](const Services& services) {
    std::unique_ptr<Connection> connection(connection_of(ctx));  // a repeated connect
    smfi_setpriv(ctx, nullptr);
    connection.reset();
    const std::string client_ip = address_text(hostaddr);
    if (!ServiceGate::process().accepting()) {
      spdlog::info(
          "{}", log::fields(
                    {{"event", "refused"}, {"client", client_ip}, {"reason", "daemon stopping"}}));
      return set_reply_and_return(ctx, policy::shutdown_verdict(), SMFIS_TEMPFAIL);
    }
    connection = std::make_unique<Connection>();
    const Negotiated agreed = negotiated_options().get(ctx);
    connection->leading_space_kept = agreed.leading_space_kept;
    connection->body_without_reply = agreed.body_without_reply;
    Session& session = connection->session;
    session.client_ip = client_ip;
    session.client_name = hostname != nullptr ? hostname : "";
    // No address: mail submitted on this host (Postfix non_smtpd_milters, sendmail -bs).
    session.internal =
        session.client_ip.empty() || services.config.internal_hosts.contains(session.client_ip);
    session.trusted_relay = services.config.trusted_relays.contains(session.client_ip);
    smfi_setpriv(ctx, connection.release());
    return SMFIS_CONTINUE;
  });
}

sfsistat on_helo(SMFICTX* ctx, char* helo) noexcept {
  // Not in a message: a failure here has nothing to defer to (MAIL FROM checks the gate).
  return without_reply(ctx, guarded(ctx, "helo", [&](const Services&) {
                         if (Connection* c = connection_of(ctx)) {
                           c->session.helo = helo != nullptr ? helo : "";
                           if (c->stage == Stage::kConnect) c->stage = Stage::kHelo;
                         }
                         return SMFIS_CONTINUE;
                       }));
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) noexcept {
  return guarded(ctx, "envfrom", [&](const Services&) {
    Connection* c = connection_of(ctx);
    if (c == nullptr) return SMFIS_ACCEPT;
    c->end_message();  // a second MAIL FROM on the connection starts afresh
    c->deferred.reset();
    c->stage = Stage::kMail;
    c->why.clear();
    c->largest_header = 0;
    ServiceGate::Use use = ServiceGate::process().begin_message();
    if (!use) {
      c->why = "daemon stopping";
      return set_reply_and_return(ctx, policy::shutdown_verdict(), SMFIS_TEMPFAIL);
    }
    const std::string argument = argv != nullptr && argv[0] != nullptr ? argv[0] : "";
    const bool authenticated = !symbol(ctx, "{auth_authen}").empty();
    c->txn = std::make_unique<Transaction>(*use.services(), c->session,
                                           mail::envelope_address(argument), authenticated);
    c->message_use = std::move(use);
    c->txn->set_queue_id(symbol(ctx, "i"));
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) noexcept {
  return guarded(ctx, "envrcpt", [&](const Services&) {
    Connection* c = connection_of(ctx);
    if (c == nullptr || !c->txn || argv == nullptr || argv[0] == nullptr) return SMFIS_CONTINUE;
    c->stage = Stage::kRcpt;
    const std::optional<policy::Verdict> refused = c->txn->add_recipient(argv[0]);
    for (const std::string& line : c->txn->take_recipient_log()) spdlog::info("{}", line);
    if (!refused) return SMFIS_CONTINUE;
    // Only this recipient is refused; the others of the transaction go on.
    return set_reply_and_return(
        ctx, *refused, refused->action == config::Action::kReject ? SMFIS_REJECT : SMFIS_TEMPFAIL);
  });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) noexcept {
  return without_reply(ctx, guarded(ctx, "header", [&](const Services&) {
                         Connection* c = connection_of(ctx);
                         if (c != nullptr && c->txn && name != nullptr) {
                           const std::string_view value_text = value != nullptr ? value : "";
                           c->stage = Stage::kHeader;
                           c->largest_header =
                               std::max(c->largest_header, std::strlen(name) + value_text.size());
                           c->txn->add_header(name, value_text, c->leading_space_kept);
                         }
                         return SMFIS_CONTINUE;
                       }));
}

sfsistat on_eoh(SMFICTX* ctx) noexcept {
  return without_reply(ctx, guarded(ctx, "eoh", [&](const Services&) {
                         Connection* c = connection_of(ctx);
                         if (c != nullptr && c->txn) {
                           c->stage = Stage::kEndOfHeaders;
                           c->txn->end_of_headers();
                         }
                         return SMFIS_CONTINUE;
                       }));
}

// While more messages are in flight than the cores serve at once (two per core: fewer get a
// core often enough, and the large one would only take longer), a body larger than this is
// read at the lowest CPU priority (thread_priority.h): from the end of each chunk's callback,
// through libmilter's reply and its wait for the next chunk, to the next callback. Messages
// up to 200 KB, most mail with its attachments, never are.
constexpr std::size_t kLowPriorityBodyBytes = 256 * 1024;
constexpr std::size_t kBusyMessagesPerCore = 2;

bool daemon_is_busy() {
  static const std::size_t busy_at = kBusyMessagesPerCore * util::usable_cores();
  return ServiceGate::process().messages_in_flight() > busy_at;
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t size) noexcept {
  const sfsistat status = guarded(ctx, "body", [&](const Services&) {
    Connection* c = connection_of(ctx);
    if (c != nullptr && c->txn && chunk != nullptr) {
      c->stage = Stage::kBody;
      c->body_bytes += size;
      if (!c->low_priority_body && c->body_bytes > kLowPriorityBodyBytes && daemon_is_busy()) {
        c->low_priority_body = true;
      }
      c->txn->add_body(std::string_view(reinterpret_cast<const char*>(chunk), size));
    }
    return SMFIS_CONTINUE;
  });
  Connection* c = connection_of(ctx);
  const sfsistat reply =
      c != nullptr && c->body_without_reply ? without_reply(ctx, status) : status;
  // Last, after every lock of ours; libmilter may serve the next chunk on another thread,
  // which this lowers in turn.
  if (c != nullptr && c->low_priority_body && c->txn && thread_priority::lower()) {
    c->txn->note_body_low_priority();
  }
  return reply;
}

sfsistat on_eom(SMFICTX* ctx) noexcept {
  return guarded(ctx, "eom", [&](const Services&) {
    Connection* c = connection_of(ctx);
    if (c != nullptr && c->deferred) {
      // Decided in a step without reply (without_reply()): given now, its reply set then.
      c->stage = Stage::kDone;
      return *std::exchange(c->deferred, std::nullopt);
    }
    if (c == nullptr || !c->txn) return SMFIS_ACCEPT;
    // The edits follow the configuration the message began with (a reload since MAIL FROM
    // applies to the next message): its use is held here until the reply is sent.
    const ServiceGate::Use message_use = std::move(c->message_use);
    const Services& services = *message_use.services();
    c->stage = Stage::kDone;
    if (std::string queue_id = symbol(ctx, "i"); !queue_id.empty()) c->txn->set_queue_id(queue_id);
    const auto eom_started = std::chrono::steady_clock::now();
    const Outcome outcome = c->txn->finish();
    if (services.metrics != nullptr) {
      count_message(*services.metrics, outcome, std::chrono::steady_clock::now() - eom_started);
    }
    if (c->largest_header > kLibmilterDefaultPacketBytes) {
      // Past libmilter's default packet limit: say what arrived and what the checks kept.
      spdlog::info("{}", log::fields({{"qid", c->txn->queue_id()},
                                      {"event", "large_header"},
                                      {"field_bytes", std::to_string(c->largest_header)},
                                      {"kept_header_bytes", std::to_string(c->txn->header_bytes())},
                                      {"truncated", c->txn->headers_truncated() ? "yes" : "no"}}));
    }
    const std::string queue_id = c->txn->queue_id();
    c->end_message();
    spdlog::info("{}", outcome.summary);
    const policy::Verdict& verdict = outcome.verdict;
    switch (verdict.action) {
      case config::Action::kReject:
        return set_reply_and_return(ctx, verdict, SMFIS_REJECT);
      case config::Action::kTempfail:
        return set_reply_and_return(ctx, verdict, SMFIS_TEMPFAIL);
      case config::Action::kQuarantine: {
        if (!apply_edits_or_log(ctx, services, outcome, *c, queue_id)) return SMFIS_TEMPFAIL;
        std::string reason = reply_text(verdict.reason);
        if (smfi_quarantine(ctx, reason.data()) != MI_SUCCESS) {
          throw std::runtime_error("smfi_quarantine failed");
        }
        return SMFIS_ACCEPT;
      }
      case config::Action::kAccept:
      case config::Action::kMark:
        if (!apply_edits_or_log(ctx, services, outcome, *c, queue_id)) return SMFIS_TEMPFAIL;
        return SMFIS_ACCEPT;
    }
    return SMFIS_ACCEPT;
  });
}

// libmilter calls this for the MTA's SMFIC_ABORT and also, itself, when the connection fails
// in a message (a packet over the size limit, the MTA gone, its I/O timeout): the two look
// the same to us, so an abort of a message in flight is logged with the stage it reached.
sfsistat on_abort(SMFICTX* ctx) noexcept {
  return guarded(ctx, "abort", [&](const Services&) {
    if (Connection* c = connection_of(ctx)) {
      if (c->txn) {
        spdlog::info("{}",
                     log::fields({{"qid", c->txn->queue_id()},
                                  {"event", "abort"},
                                  {"client", c->session.client_ip},
                                  {"stage", to_string(c->stage)},
                                  {"reason", "aborted by the MTA, or the connection failed"}}));
      }
      c->end_message();
      c->deferred.reset();
      c->stage = Stage::kDone;
    }
    return SMFIS_CONTINUE;
  });
}

// Ends the connection's context. Logs a connection that ends without end of message or abort
// (client, stage reached, and our reason when we ended it). Once the gate is sealed the
// connection is freed silently: the services and the logger may be going away.
sfsistat on_close(SMFICTX* ctx) noexcept {
  thread_priority::restore();  // before the gate's mutex, as in guarded()
  try {
    std::unique_ptr<Connection> c(connection_of(ctx));
    smfi_setpriv(ctx, nullptr);
    if (!c) return SMFIS_CONTINUE;
    const ServiceGate::Use use = ServiceGate::process().enter_callback();
    if (use && c->stage != Stage::kDone) {
      spdlog::info("{}", log::fields({{"qid", c->txn ? c->txn->queue_id() : std::string()},
                                      {"event", "close_unfinished"},
                                      {"client", c->session.client_ip},
                                      {"stage", to_string(c->stage)},
                                      {"reason", c->why.empty() ? "closed by the MTA" : c->why}}));
    }
    c.reset();  // cancels and frees a message in flight, then releases its use
  } catch (...) {
    // Nothing to tell the MTA at close.
  }
  return SMFIS_CONTINUE;
}

}  // extern "C"

}  // namespace

void register_filter() {
  static char kName[] = "authmilter";
  smfiDesc desc{};
  desc.xxfi_name = kName;
  desc.xxfi_version = kFilterVersion;
  desc.xxfi_flags = kActions;
  desc.xxfi_connect = on_connect;
  desc.xxfi_helo = on_helo;
  desc.xxfi_envfrom = on_envfrom;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_header = on_header;
  desc.xxfi_eoh = on_eoh;
  desc.xxfi_body = on_body;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_negotiate = on_negotiate;
  if (smfi_register(desc) != MI_SUCCESS) throw std::runtime_error("smfi_register failed");
  smfi_setmaxdatasize(kMaxPacketBytes);
}

}  // namespace authmilter::milter

// The one file that talks to libmilter (STYLE: "one file talks to libmilter").
#include "authmilter/milter/callbacks.h"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "authmilter/mail/address.h"

namespace authmilter::milter {
namespace {

// The daemon's shared services; set once by serve() before libmilter starts threads.
const Services* g_services = nullptr;
// The Socket we listen on, for wake_listener().
std::string g_socket;

// Per-connection context behind smfi_setpriv.
struct Connection {
  Session session;
  bool leading_space_kept = false;  // SMFIP_HDR_LEADSPC negotiated: header values as sent
  std::unique_ptr<Transaction> txn;
  std::string queue_id;
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
  for (unsigned char c : mail::sanitize_for_header(text)) {
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

// OnInternalError: our own failure never rejects mail.
sfsistat internal_error(SMFICTX* ctx, std::string_view where, std::string_view what) {
  spdlog::error("internal error in {}: {}", where, what);
  if (g_services != nullptr && g_services->config.on_internal_error == config::Action::kTempfail) {
    policy::Verdict verdict;
    verdict.smtp_code = "451";
    verdict.enhanced_code = "4.3.0";
    verdict.reason = "Temporary local problem, try again later";
    return set_reply_and_return(ctx, verdict, SMFIS_TEMPFAIL);
  }
  return SMFIS_ACCEPT;
}

// Runs `body` and turns any exception into the internal-error action.
template <typename Body>
sfsistat guarded(SMFICTX* ctx, std::string_view where, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    try {
      return internal_error(ctx, where, e.what());
    } catch (...) {
      return SMFIS_ACCEPT;
    }
  } catch (...) {
    try {
      return internal_error(ctx, where, "unknown exception");
    } catch (...) {
      return SMFIS_ACCEPT;
    }
  }
}

// `leading_space`: with SMFIP_HDR_LEADSPC the MTA adds no space after the colon of headers we
// add, so we write it ourselves.
void apply_edits(SMFICTX* ctx, const Outcome& outcome, bool leading_space) {
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
    if (smfi_insheader(ctx, 0, kArName, value.data()) != MI_SUCCESS) {
      throw std::runtime_error("smfi_insheader(Authentication-Results) failed");
    }
  }
  if (outcome.add_mark) {
    const std::string& mark = g_services->config.mark_header;
    auto colon = mark.find(':');
    std::string name = mark.substr(0, colon);
    std::string value = colon == std::string::npos ? std::string("YES") : mark.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    value = space + value;
    smfi_addheader(ctx, name.data(), value.data());
  }
}

// Headers, quarantine; MAIL FROM and recipient changes for BATV.
constexpr unsigned long kActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
                                   SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT;

// What option negotiation agreed for the MTA connection this libmilter thread serves. It
// outlives our Connection: after XCLIENT, Postfix ends the SMTP session with QUIT_NC and
// starts a new one on the same milter connection (close, then connect) without negotiating
// again, and libmilter serves one MTA connection per thread.
thread_local bool t_leading_space_kept = false;

extern "C" {

// Asks for header values exactly as sent (SMFIP_HDR_LEADSPC): DKIM's simple header
// canonicalization needs the space after the colon, or its absence.
sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps, unsigned long,
                      unsigned long, unsigned long* want_actions, unsigned long* want_steps,
                      unsigned long* want_2, unsigned long* want_3) noexcept {
  return guarded(ctx, "negotiate", [&] {
    *want_actions = actions & kActions;
    *want_steps = steps & SMFIP_HDR_LEADSPC;
    *want_2 = 0;
    *want_3 = 0;
    t_leading_space_kept = (steps & SMFIP_HDR_LEADSPC) != 0;
    return SMFIS_CONTINUE;
  });
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) noexcept {
  return guarded(ctx, "connect", [&] {
    std::unique_ptr<Connection> connection(connection_of(ctx));  // a repeated connect
    smfi_setpriv(ctx, nullptr);
    connection = std::make_unique<Connection>();
    connection->leading_space_kept = t_leading_space_kept;
    Session& session = connection->session;
    session.client_ip = address_text(hostaddr);
    session.client_name = hostname != nullptr ? hostname : "";
    // No address: mail submitted on this host (Postfix non_smtpd_milters, sendmail -bs).
    session.internal =
        session.client_ip.empty() || g_services->config.internal_hosts.contains(session.client_ip);
    session.trusted_relay = g_services->config.trusted_relays.contains(session.client_ip);
    smfi_setpriv(ctx, connection.release());
    return SMFIS_CONTINUE;
  });
}

sfsistat on_helo(SMFICTX* ctx, char* helo) noexcept {
  return guarded(ctx, "helo", [&] {
    if (Connection* c = connection_of(ctx)) c->session.helo = helo != nullptr ? helo : "";
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) noexcept {
  return guarded(ctx, "envfrom", [&] {
    Connection* c = connection_of(ctx);
    if (c == nullptr) return SMFIS_ACCEPT;
    c->txn.reset();  // a second MAIL FROM on the connection starts afresh
    const std::string argument = argv != nullptr && argv[0] != nullptr ? argv[0] : "";
    const bool authenticated = !symbol(ctx, "{auth_authen}").empty();
    c->txn = std::make_unique<Transaction>(*g_services, c->session,
                                           mail::envelope_address(argument), authenticated);
    c->txn->set_queue_id(symbol(ctx, "i"));
    return SMFIS_CONTINUE;
  });
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) noexcept {
  return guarded(ctx, "envrcpt", [&] {
    Connection* c = connection_of(ctx);
    if (c == nullptr || !c->txn || argv == nullptr || argv[0] == nullptr) return SMFIS_CONTINUE;
    const std::optional<policy::Verdict> refused = c->txn->add_recipient(argv[0]);
    for (const std::string& line : c->txn->take_recipient_log()) spdlog::info("{}", line);
    if (!refused) return SMFIS_CONTINUE;
    // Only this recipient is refused; the others of the transaction go on.
    return set_reply_and_return(
        ctx, *refused, refused->action == config::Action::kReject ? SMFIS_REJECT : SMFIS_TEMPFAIL);
  });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) noexcept {
  return guarded(ctx, "header", [&] {
    Connection* c = connection_of(ctx);
    if (c != nullptr && c->txn && name != nullptr) {
      c->txn->add_header(name, value != nullptr ? value : "", c->leading_space_kept);
    }
    return SMFIS_CONTINUE;
  });
}

sfsistat on_eoh(SMFICTX* ctx) noexcept {
  return guarded(ctx, "eoh", [&] {
    Connection* c = connection_of(ctx);
    if (c != nullptr && c->txn) c->txn->end_of_headers();
    return SMFIS_CONTINUE;
  });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t size) noexcept {
  return guarded(ctx, "body", [&] {
    Connection* c = connection_of(ctx);
    if (c != nullptr && c->txn && chunk != nullptr) {
      c->txn->add_body(std::string_view(reinterpret_cast<const char*>(chunk), size));
    }
    return SMFIS_CONTINUE;
  });
}

sfsistat on_eom(SMFICTX* ctx) noexcept {
  return guarded(ctx, "eom", [&] {
    Connection* c = connection_of(ctx);
    if (c == nullptr || !c->txn) return SMFIS_ACCEPT;
    std::unique_ptr<Transaction> txn = std::move(c->txn);
    if (std::string queue_id = symbol(ctx, "i"); !queue_id.empty()) txn->set_queue_id(queue_id);
    const Outcome outcome = txn->finish();
    txn.reset();
    spdlog::info("{}", outcome.summary);
    const policy::Verdict& verdict = outcome.verdict;
    switch (verdict.action) {
      case config::Action::kReject:
        return set_reply_and_return(ctx, verdict, SMFIS_REJECT);
      case config::Action::kTempfail:
        return set_reply_and_return(ctx, verdict, SMFIS_TEMPFAIL);
      case config::Action::kQuarantine: {
        apply_edits(ctx, outcome, c->leading_space_kept);
        std::string reason = reply_text(verdict.reason);
        if (smfi_quarantine(ctx, reason.data()) != MI_SUCCESS) {
          throw std::runtime_error("smfi_quarantine failed");
        }
        return SMFIS_ACCEPT;
      }
      case config::Action::kAccept:
      case config::Action::kMark:
        apply_edits(ctx, outcome, c->leading_space_kept);
        return SMFIS_ACCEPT;
    }
    return SMFIS_ACCEPT;
  });
}

sfsistat on_abort(SMFICTX* ctx) noexcept {
  return guarded(ctx, "abort", [&] {
    if (Connection* c = connection_of(ctx); c != nullptr && c->txn) {
      c->txn->cancel();
      c->txn.reset();
    }
    return SMFIS_CONTINUE;
  });
}

sfsistat on_close(SMFICTX* ctx) noexcept {
  return guarded(ctx, "close", [&] {
    std::unique_ptr<Connection> c(connection_of(ctx));
    smfi_setpriv(ctx, nullptr);
    if (c && c->txn) c->txn->cancel();
    return SMFIS_CONTINUE;
  });
}

}  // extern "C"

}  // namespace

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error("pthread_sigmask failed");
  }
  signal(SIGPIPE, SIG_IGN);
}

namespace {

// libmilter writes two replies in a row at end of message and does not set TCP_NODELAY, so
// over TCP the second waits for the MTA's delayed ACK (~40 ms a message). On Linux accepted
// sockets inherit TCP_NODELAY from the listening socket, which is the only listening socket
// this process has right after smfi_opensocket() (no other thread or socket exists yet).
void disable_nagle_on_listener() {
  for (int fd = 0; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t size = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
      continue;
    }
    sockaddr_storage addr{};
    socklen_t addr_size = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_size) == 0 &&
        (addr.ss_family == AF_INET || addr.ss_family == AF_INET6)) {
      const int on = 1;
      if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0) {
        spdlog::warn("could not set TCP_NODELAY on the milter socket");
      }
    }
    return;
  }
}

}  // namespace

void bind_socket(const std::string& socket, unsigned umask_bits) {
  static char kName[] = "authmilter";
  smfiDesc desc{};
  desc.xxfi_name = kName;
  desc.xxfi_version = SMFI_VERSION;
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
  g_socket = socket;
  std::string conn = socket;
  if (smfi_setconn(conn.data()) != MI_SUCCESS) {
    throw std::runtime_error("invalid Socket: " + socket);
  }
  if (smfi_register(desc) != MI_SUCCESS) throw std::runtime_error("smfi_register failed");
  smfi_settimeout(kMilterIoTimeoutSeconds);
  smfi_setbacklog(kListenBacklog);
  const mode_t old_umask = umask(static_cast<mode_t>(umask_bits));
  const int rc = smfi_opensocket(true);  // true: remove a stale unix socket first
  umask(old_umask);
  if (rc != MI_SUCCESS) {
    throw std::runtime_error("cannot listen on " + socket + " (in use, or no permission?)");
  }
  disable_nagle_on_listener();
}

namespace {

// Bounds the shutdown pokes (50 ms apart): past 10 s libmilter's own 5 s poll has ended anyway.
constexpr int kMaxShutdownPokes = 200;

// Connects once to our own listening socket. libmilter's listener re-checks its stop flag only
// when poll() returns (or every 5 s); a connection makes it return now.
void wake_listener(const std::string& socket) {
  const int fd_family = socket.rfind("inet6:", 0) == 0  ? AF_INET6
                        : socket.rfind("inet:", 0) == 0 ? AF_INET
                                                        : AF_UNIX;
  const int fd = ::socket(fd_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (fd_family == AF_UNIX) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = socket.substr(socket.find(':') + 1);
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else {
    // inet:PORT@HOST / inet6:PORT@HOST, normalized by the config parser.
    const std::size_t colon = socket.find(':');
    const std::size_t at = socket.find('@');
    const std::string port = socket.substr(colon + 1, at - colon - 1);
    std::string host = at == std::string::npos ? std::string() : socket.substr(at + 1);
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    addrinfo hints{};
    hints.ai_family = fd_family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) == 0 && found != nullptr) {
      (void)connect(fd, found->ai_addr, found->ai_addrlen);
      freeaddrinfo(found);
    }
  }
  close(fd);
}

}  // namespace

int serve(const Services& services) {
  g_services = &services;
  // g_services stays set afterwards: a connection thread may still finish late.
  std::atomic<bool> finished{false};
  int rc = MI_SUCCESS;
  std::thread loop([&] {
    rc = smfi_main();
    finished.store(true);
  });
  // The main thread waits for the shutdown signals itself: Linux hands a process-directed
  // signal to the main thread first when it is waiting for it, so we (not only libmilter's
  // signal thread) see SIGTERM and can wake the listener at once.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  const timespec tick{0, 200 * 1000 * 1000};
  while (!finished.load()) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGHUP) {
      spdlog::info("event=sighup note=\"configuration reload is not supported; restart to apply\"");
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("event=signal signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }
  // libmilter's listener holds its lock while it polls (up to 5 s) and smfi_stop() needs that
  // lock, but sets the stop flag first: so stop on a helper thread and poke the listener
  // until it has seen the flag. Each poke is a connection that ends at once (no callbacks).
  std::thread stopper([] { smfi_stop(); });
  for (int poke = 0; poke < kMaxShutdownPokes && !finished.load(); ++poke) {
    wake_listener(g_socket);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stopper.join();
  loop.join();
  return rc == MI_SUCCESS ? 0 : 1;
}

std::string libmilter_version() {
  unsigned int major = 0, minor = 0, patch = 0;
  smfi_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace authmilter::milter

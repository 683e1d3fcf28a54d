#include "harness.h"

#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace authmilter::integration {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Harness>& harness_slot() {
  static std::unique_ptr<Harness> harness;
  return harness;
}

std::string& setup_error_slot() {
  static std::string error;
  return error;
}

constexpr const char* kExampleZone = R"zone($ORIGIN example.
$TTL 300
@               IN SOA  ns.example. hostmaster.example. 2024010101 3600 600 86400 300
@               IN NS   ns.example.
ns              IN A    127.0.0.1

; SPF results on MAIL FROM for a client at 192.0.2.10 (RFC 7208 §2.6).
spf-pass        IN TXT  "v=spf1 ip4:192.0.2.10 -all"
spf-fail        IN TXT  "v=spf1 ip4:198.51.100.1 -all"
spf-softfail    IN TXT  "v=spf1 ip4:198.51.100.1 ~all"
spf-neutral     IN TXT  "v=spf1 ip4:198.51.100.1 ?all"
; A TXT record that is not an SPF record: no SPF record at all -> none (§4.5).
spf-none        IN TXT  "google-site-verification=not-spf"
spf-none        IN A    192.0.2.99
; Two SPF records -> permerror (§4.5).
spf-permerror   IN TXT  "v=spf1 ip4:192.0.2.10 -all"
spf-permerror   IN TXT  "v=spf1 -all"
; The include target is outside NSD's zones: NSD answers REFUSED, a DNS error -> temperror
; (§5.2: an include whose check_host() returns temperror makes the whole result temperror).
spf-temperror   IN TXT  "v=spf1 include:refused.invalid -all"

; The HELO identity the tests present (RFC 7208 §2.3), checked for the null sender.
mail.spf-pass   IN A    192.0.2.10
mail.spf-pass   IN TXT  "v=spf1 ip4:192.0.2.10 -all"

; SenderID (RFC 4406) on the PRA: an organisation whose From: phishers forge, and a
; forwarder whose spf2.0/pra record authorizes the client for its Resent-From.
state           IN TXT  "v=spf1 ip4:198.51.100.0/24 -all"
forwarder       IN TXT  "spf2.0/pra ip4:192.0.2.10 -all"
forwarder       IN TXT  "v=spf1 -all"

; DMARC aggregate reports (report_test.cc): p=reject with a rua outside the domain's
; organization, which the destination confirms (RFC 9990 §4); SPF lists the test client.
reports         IN TXT  "v=spf1 ip4:192.0.2.10 -all"
_dmarc.reports  IN TXT  "v=DMARC1; p=reject; rua=mailto:dmarc-rua@test.example"
reports.example._report._dmarc.test IN TXT "v=DMARC1"

; ARC (arc_test.cc): the mailing list lists.example (mail from kClientIp) seals with
; arc._domainkey.lists; the daemon's own seal (ARCSign) uses arc._domainkey.seal. Keys:
; tests/data/arc-integration.
lists           IN TXT  "v=spf1 ip4:192.0.2.10 -all"
arc._domainkey.lists IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCbSV01RsZ8MPwaF9TVUri8Kv3voCSO3qYRroTMm2sw0Q3TDNqXJ0o+/YHt3E2dKRrRTQjCGjgDD+3i69RRQ38gK1LM27vipUxTY33eSjcQLFtzT0gG7m3H6uOuof6H+Nfyi+YeFW67s0ZWjyXOojtrx0Y9xETRfr5G/xhTKB2Z6QIDAQAB"
arc._domainkey.seal IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDFO9IwVCPwvC6S2yOjOSUR4KnytEt8n6CBALuRfpN48XTuDsgYZ0hfV4q96EKCzxstEeXwxUBWpCp/QwgOOMrxVLouaU+bhbpsbiFo3QsBKxvDMuEvs6oxZx8lOd/E5/nnSK5IrXgRstce3YTCdwDdeZxwz0YhnlPj9c07nIsU0QIDAQAB"
)zone";

// iprev (RFC 8601 §3): kClientIp's PTR name resolves back to it (mail.spf-pass.example above);
// 192.0.2.11 names a host that does not; the rest of the /24 has no PTR record.
constexpr const char* kReverseZone = R"zone($ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@               IN SOA  ns.example. hostmaster.example. 2024010101 3600 600 86400 300
@               IN NS   ns.example.
10              IN PTR  mail.spf-pass.example.
11              IN PTR  mail.spf-fail.example.
)zone";

// Postfix's master dies of its own SIGTERM without waiting for the daemons it signalled,
// and nsd's children can outlive their parent by a moment: as a child subreaper this
// process inherits such orphans, and reaps them here instead of leaving zombies to an init
// that may not reap (containers). Bounded: gives up after `within`.
void reap_orphans(std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0) return;  // ECHILD: nothing left
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

// RFC 8463 Appendix A.3's signer, with its published keys (RFC 8463 A.2, RFC 6376 A.2
// style): the signed message in tests/data/dkim-rfc-examples/ verifies against
// them. DMARC p=reject; SPF does not list the test client, so a copy of the message from
// kClientIp is "forwarded": SPF fails at our MX, the aligned DKIM signatures still pass.
constexpr const char* kFootballZone = R"zone($ORIGIN football.example.com.
$TTL 300
@               IN SOA  ns.example. hostmaster.example. 2024010101 3600 600 86400 300
@               IN NS   ns.example.
@               IN TXT  "v=spf1 ip4:198.51.100.0/24 -all"
_dmarc          IN TXT  "v=DMARC1; p=reject; pct=100"
brisbane._domainkey IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
test._domainkey IN TXT  "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)zone";

// RFC 9989 (issue 12): records the DNS tree walk finds and the public suffix list does not
// (a record three labels above the From: domain; a psd=y parent), np for a non-existent
// subdomain next to sp for an existing one, and t=y. Its own zone, so its NXDOMAIN answers
// carry its own SOA. Read by dmarc_rfc9989_test.cc.
constexpr const char* kRfc9989Zone = R"zone($ORIGIN rfc9989.example.
$TTL 300
@               IN SOA  ns.example. hostmaster.example. 2026050101 3600 600 86400 300
@               IN NS   ns.example.
_dmarc.dept     IN TXT  "v=DMARC1; p=reject"
_dmarc.psd      IN TXT  "v=DMARC1; p=reject; psd=y"
giant.psd       IN A    192.0.2.1
mega.psd        IN TXT  "v=spf1 ip4:192.0.2.10 -all"
_dmarc.np       IN TXT  "v=DMARC1; p=none; sp=none; np=reject"
exists.np       IN A    192.0.2.1
_dmarc.testing  IN TXT  "v=DMARC1; p=reject; t=y"
)zone";

std::vector<Zone> test_zones() {
  return {Zone{"example", kExampleZone}, Zone{"football.example.com", kFootballZone},
          Zone{"rfc9989.example", kRfc9989Zone},

          Zone{"2.0.192.in-addr.arpa", kReverseZone}};
}

Harness* Harness::get() { return harness_slot().get(); }
const std::string& Harness::setup_error() { return setup_error_slot(); }

std::string Harness::daemon_config(std::string_view policy, const DaemonDns& dns) const {
  std::string c =
      "# Generated by the authmilter integration tests.\n"
      "Socket inet:" +
      std::to_string(milter_port_) +
      "@127.0.0.1\n"
      "AuthservID " +
      std::string(kAuthservId) +
      "\n"
      "DNSServers 127.0.0.1:" +
      std::to_string(dns.port != 0 ? dns.port : dns_->port()) +
      "\n"
      "DNSTimeout " +
      dns.dns_timeout +
      "\n"
      "MessageTimeout " +
      dns.message_timeout +
      "\n"
      "InternalHosts 127.0.0.1\n"
      "Syslog no\n"
      "LogLevel debug\n";
  c += policy;
  if (!c.empty() && c.back() != '\n') c += '\n';
  return c;
}

void Harness::start_daemon(std::string_view policy, const DaemonDns& dns) {
  stop_daemon();
  ++daemon_starts_;
  fs::path config = dir_ / ("authmilter-" + std::to_string(daemon_starts_) + ".conf");
  daemon_ = AuthmilterDaemon::start(authmilter_binary(), config, dir_ / "authmilter.log",
                                    milter_port_, daemon_config(policy, dns));
}

std::optional<ExitStatus> Harness::stop_daemon() {
  if (!daemon_) return std::nullopt;
  ExitStatus s = daemon_->stop();
  daemon_.reset();
  return s;
}

std::string Harness::diagnostics() const {
  std::string s = "---- Postfix maillog (tail) ----\n" + tail_lines(postfix_->maillog(), 40);
  std::string daemon_log = read_file((dir_ / "authmilter.log").string());
  if (!daemon_log.empty()) s += "\n---- authmilter log (tail) ----\n" + tail_lines(daemon_log, 60);
  return s;
}

void IntegrationEnvironment::SetUp() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::unique_ptr<Harness> h(new Harness());
  try {
    std::string templ = (fs::temp_directory_path() / "authmilter-it-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    h->dir_ = templ;
    // Postfix's daemons (user postfix) must reach the maillog and their queue below it.
    ::chmod(h->dir_.c_str(), 0755);
    h->sink_ = std::make_unique<SmtpSink>();
    h->dns_ = NsdServer::start(h->dir_ / "dns", test_zones());
    h->milter_port_ = pick_free_port();
    h->postfix_ = PostfixInstance::start({.dir = h->dir_ / "postfix",
                                          .sink_port = h->sink_->port(),
                                          .milter_port = h->milter_port_});
  } catch (const std::exception& e) {
    setup_error_slot() = e.what();
    // The unique_ptr members stop whatever did start; keep the directory for inspection.
    std::cerr << "integration harness set-up failed: " << e.what() << "\n"
              << "(files kept in " << h->dir_.string() << ")\n";
    GTEST_FAIL() << "integration harness set-up failed: " << e.what();
  }
  harness_slot() = std::move(h);
}

void IntegrationEnvironment::TearDown() {
  std::unique_ptr<Harness> h = std::move(harness_slot());
  if (!h) return;
  if (auto s = h->stop_daemon(); s && !s->success()) {
    ADD_FAILURE() << "authmilter left running at the end did not exit cleanly: " << s->describe();
  }
  if (h->postfix_) {
    ExitStatus s = h->postfix_->stop();
    if (!PostfixInstance::stopped_cleanly(s))
      ADD_FAILURE() << "Postfix master had to be killed: " << s.describe();
  }
  if (h->sink_) h->sink_->stop();
  if (h->dns_) h->dns_->stop();
  reap_orphans(std::chrono::seconds(3));
  const char* keep = std::getenv("AUTHMILTER_KEEP_TMPDIR");
  if (keep != nullptr && std::string_view(keep) == "1") {
    std::cerr << "integration files kept in " << h->dir_.string() << "\n";
  } else {
    std::error_code ec;
    fs::remove_all(h->dir_, ec);
  }
}

void IntegrationTest::SetUp() {
  if (Harness::get() == nullptr) {
    GTEST_FAIL() << "integration harness is not running: " << Harness::setup_error();
  }
}

void IntegrationTest::TearDown() {
  if (HasFailure() && Harness::get() != nullptr) {
    std::cerr << harness().diagnostics() << "\n";
  }
}

Envelope IntegrationTest::envelope(std::string_view mail_from, std::string_view token,
                                   const std::vector<std::string>& extra_headers) {
  Envelope e;
  e.xclient_addr = kClientIp;
  e.helo = kHeloName;
  e.mail_from = std::string(mail_from);
  e.recipients = {kRecipient};
  e.data = make_message(token, mail_from, extra_headers);
  return e;
}

SmtpOutcome IntegrationTest::send(const Envelope& e) {
  return send_mail(harness().postfix().milter_smtp_port(), e);
}

std::optional<SinkMessage> IntegrationTest::delivered(std::string_view token) {
  return harness().sink().wait_for(token, kDeliveryTimeout);
}

std::string& DaemonTest::start_error() {
  static std::string error;
  return error;
}

void DaemonTest::start_daemon(std::string_view policy, const DaemonDns& dns) {
  start_error().clear();
  Harness* h = Harness::get();
  if (h == nullptr) {
    start_error() = "harness not running: " + Harness::setup_error();
    return;
  }
  try {
    h->start_daemon(policy, dns);
  } catch (const std::exception& e) {
    start_error() = e.what();
  }
}

void DaemonTest::stop_daemon() {
  Harness* h = Harness::get();
  if (h == nullptr) return;
  auto status = h->stop_daemon();
  if (status) {
    // Read after the exit: a sanitizer reports at shutdown, after the last message.
    const std::string log = read_file((h->dir() / "authmilter.log").string());
    // A clean shutdown on SIGTERM: exit status 0 within kDaemonStopTimeout.
    EXPECT_TRUE(status->success())
        << "authmilter did not exit 0 on SIGTERM within " << kDaemonStopTimeout.count()
        << " s: " << status->describe() << "\n"
        << tail_lines(log, 60);
  }
}

void DaemonTest::SetUp() {
  IntegrationTest::SetUp();
  if (HasFatalFailure()) return;
  if (!start_error().empty() || harness().daemon() == nullptr) {
    GTEST_FAIL() << "authmilter is not running: " << start_error();
  }
}

void DaemonTest::TearDown() {
  if (Harness::get() != nullptr && harness().daemon() != nullptr) {
    EXPECT_TRUE(harness().daemon()->running()) << "authmilter died during this test";
  }
  IntegrationTest::TearDown();
}

std::vector<AuthResults> DaemonTest::our_auth_results(const SinkMessage& message) {
  std::vector<AuthResults> ours;
  for (const auto& f : headers_named(parse_headers(message.data), "Authentication-Results")) {
    auto ar = parse_auth_results(f.value);
    if (ar && ar->authserv_id == kAuthservId) ours.push_back(*ar);
  }
  return ours;
}

std::optional<ResInfo> DaemonTest::deliver_and_get_spf(std::string_view mail_from,
                                                       std::string_view token) {
  SmtpOutcome out = send(envelope(mail_from, token));
  EXPECT_TRUE(out.accepted()) << out.describe();
  if (!out.accepted()) return std::nullopt;
  auto msg = delivered(token);
  EXPECT_TRUE(msg.has_value()) << "message " << token << " not delivered to the sink within "
                               << kDeliveryTimeout.count() << " s";
  if (!msg) return std::nullopt;
  auto ours = our_auth_results(*msg);
  EXPECT_EQ(ours.size(), 1u) << "expected exactly one Authentication-Results for " << kAuthservId
                             << " in:\n"
                             << msg->data;
  if (ours.size() != 1) return std::nullopt;
  const ResInfo* spf = ours.front().find("spf");
  EXPECT_NE(spf, nullptr) << "no spf= result in:\n" << msg->data;
  if (spf == nullptr) return std::nullopt;
  return *spf;
}

}  // namespace authmilter::integration

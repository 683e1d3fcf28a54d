// authmilter::integration harness — the world every integration test runs in.
//
// What: once per test binary (a GoogleTest global Environment, IntegrationEnvironment), in a
//   fresh temp directory: NSD serving the test zones (test_zones()), the in-process SMTP
//   sink, and a private Postfix whose smtpd hands every message to the milter port. Test
//   suites start the authmilter daemon with their own policy (DaemonTest::start_daemon in
//   SetUpTestSuite) and stop it in TearDownTestSuite, which requires exit 0 within 5 s.
//   Suites run one after another, so one milter port serves them all.
// Test data: the client address is kClientIp (given to Postfix with XCLIENT, because
//   127.0.0.1 is an InternalHost the daemon does not check); SPF domains under .example:
//     spf-pass.example      v=spf1 ip4:192.0.2.10 -all              -> pass
//     spf-fail.example      v=spf1 ip4:198.51.100.1 -all            -> fail
//     spf-softfail.example  ... ~all -> softfail;  spf-neutral.example ... ?all -> neutral
//     spf-none.example      a TXT record that is not SPF            -> none
//     spf-permerror.example two v=spf1 records (RFC 7208 §4.5)      -> permerror
//     spf-temperror.example include:refused.invalid (NSD: REFUSED)   -> temperror
//     mail.spf-pass.example HELO name, v=spf1 ip4:192.0.2.10 -all   -> pass (null sender)
//     state.example         v=spf1 ip4:198.51.100.0/24 -all (a forged From: fails SenderID)
//     forwarder.example     spf2.0/pra ip4:192.0.2.10 -all; v=spf1 -all
//     reports.example       SPF pass for kClientIp, DMARC p=reject with
//                           rua=mailto:dmarc-rua@test.example, confirmed at
//                           reports.example._report._dmarc.test.example (RFC 9990 §4)
//   2.0.192.in-addr.arpa: PTR 10 -> mail.spf-pass.example (iprev pass), 11 -> a name that
//     does not resolve back (fail), no PTR for the rest (permerror)
//   football.example.com: RFC 8463's signer (its DKIM keys), DMARC p=reject, SPF -all for
//     everyone but 198.51.100.0/24 (so mail from kClientIp fails SPF)
//   lists.example: a mailing list at kClientIp that seals ARC (key arc._domainkey.lists);
//     arc._domainkey.seal.example: the daemon's own ARC seal key (ARCSign)
// Failure output: when a test fails, the tail of Postfix's maillog and the daemon's log
//   are printed. AUTHMILTER_KEEP_TMPDIR=1 keeps the temp directory for inspection.
// Limits: kDeliveryTimeout bounds the wait for a message at the sink.
// Security: needs root for Postfix; every server listens on 127.0.0.1 only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter_daemon.h"
#include "dns_server.h"
#include "message.h"
#include "postfix_instance.h"
#include "smtp_client.h"
#include "smtp_sink.h"

namespace authmilter::integration {

inline constexpr std::chrono::seconds kDeliveryTimeout{20};
inline constexpr const char* kClientIp = "192.0.2.10";
inline constexpr const char* kHeloName = "mail.spf-pass.example";
inline constexpr const char* kAuthservId = "mx.test.example";
inline constexpr const char* kRecipient = "bob@test.example";

std::vector<Zone> test_zones();

// Where the daemon sends its DNS queries and how long it waits. The default is NSD with the
// timeouts of a normal run; the DNS-fault suite points it at its own responder with short
// timeouts (DNSTimeout, MessageTimeout: duration values as the config file takes them).
struct DaemonDns {
  std::uint16_t port = 0;  // 0: the harness's NSD
  std::string dns_timeout = "2s";
  std::string message_timeout = "10s";
};

// The process-wide servers; exists between IntegrationEnvironment::SetUp and TearDown.
class Harness {
 public:
  static Harness* get();  // nullptr when set-up failed (see setup_error())
  static const std::string& setup_error();

  const std::filesystem::path& dir() const { return dir_; }
  NsdServer& dns() { return *dns_; }
  PostfixInstance& postfix() { return *postfix_; }
  SmtpSink& sink() { return *sink_; }
  std::uint16_t milter_port() const { return milter_port_; }

  // The daemon config for this run: Socket, AuthservID, DNSServers, ... then `policy`.
  std::string daemon_config(std::string_view policy, const DaemonDns& dns = {}) const;
  // Starts the daemon (stopping any running one first); throws with its log on failure.
  void start_daemon(std::string_view policy, const DaemonDns& dns = {});
  // Stops the daemon; nullopt when none was running.
  std::optional<ExitStatus> stop_daemon();
  AuthmilterDaemon* daemon() { return daemon_.get(); }

  // Log tails for failure messages.
  std::string diagnostics() const;

 private:
  friend class IntegrationEnvironment;
  Harness() = default;

  std::filesystem::path dir_;
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<NsdServer> dns_;
  std::unique_ptr<PostfixInstance> postfix_;
  std::uint16_t milter_port_ = 0;
  std::unique_ptr<AuthmilterDaemon> daemon_;
  int daemon_starts_ = 0;
};

class IntegrationEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// Base fixture: fails each test when the harness is not up; prints logs on failure.
class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Harness& harness() { return *Harness::get(); }
  // An envelope from kClientIp (via XCLIENT) for `mail_from` to kRecipient, carrying a
  // message with `token` and `extra_headers`.
  static Envelope envelope(std::string_view mail_from, std::string_view token,
                           const std::vector<std::string>& extra_headers = {});
  // Sends through the milter-enabled smtpd.
  SmtpOutcome send(const Envelope& envelope);
  // The message with `token` at the sink, waiting up to kDeliveryTimeout.
  std::optional<SinkMessage> delivered(std::string_view token);
};

// Fixture for suites that run the daemon; each suite derives and calls start_daemon() in
// its SetUpTestSuite and stop_daemon() in its TearDownTestSuite.
class DaemonTest : public IntegrationTest {
 protected:
  static void start_daemon(std::string_view policy, const DaemonDns& dns = {});
  static void stop_daemon();
  void SetUp() override;     // fails the test when the daemon did not start
  void TearDown() override;  // fails the test when the daemon died during it

  // The Authentication-Results fields of `message` whose authserv-id is ours.
  static std::vector<AuthResults> our_auth_results(const SinkMessage& message);
  // Sends `mail_from`'s message, expects delivery and exactly one A-R of ours; returns its
  // spf resinfo (method "spf") or fails the test.
  std::optional<ResInfo> deliver_and_get_spf(std::string_view mail_from, std::string_view token);

 private:
  static std::string& start_error();
};

}  // namespace authmilter::integration

// The DNS-fault matrix through the real daemon (issue 10 §4): Postfix -> milter -> c-ares ->
// a responder that misbehaves per name (fault_dns.h). For every fault the verdict comes
// before MessageTimeout, the daemon stays up, and the outcome is:
//   silent, late, wrong ID, noise, garbage, SERVFAIL, REFUSED, TC with TCP reset
//       -> temperror with a readable reason in the A-R comment; never a reject:
//          `TempError accept` delivers it, `TempError tempfail` answers 451 4.4.3;
//   TC then TCP, a 4,000-byte TXT answer, one TXT RR of 100 strings -> the normal spf=pass;
//   NXDOMAIN with SOA -> spf=none and no DMARC record (dmarc=none);
//   a CNAME loop -> temperror (a recursive resolver answers SERVFAIL for one; RFC 7208 has
//       no rule of its own), stated as "CNAME loop".
// A reply with another message ID, and noise that keeps nothing of the query, cannot be tied to
// the query: c-ares drops them (RFC 5452 §3) and the lookup times out. Garbage after the
// right header and question reaches our parser and is a "malformed reply".
// Timeouts are short (DNSTimeout 1s, MessageTimeout 3s) so the suite stays quick.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fault_dns.h"
#include "harness.h"

namespace authmilter::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kOrigin = "fault.test";
constexpr const char* kFaultHelo = "mail.fault.test";
constexpr const char* kPassRecord = "v=spf1 ip4:192.0.2.10 -all";
constexpr auto kDnsTimeout = 1000ms;
constexpr auto kMessageTimeout = 3000ms;
// Postfix, the SMTP dialogue and the milter round trips on top of the DNS wait.
constexpr auto kVerdictMargin = 1500ms;
constexpr auto kLateDelay = 1500ms;  // past DNSTimeout

struct FaultCase {
  const char* label;   // test name suffix
  const char* domain;  // MAIL FROM and From: domain, under kOrigin
  DnsFault fault;      // what the responder does at fault_name
  bool on_dmarc;       // fault at _dmarc.<domain> (else at <domain>)
  const char* method;  // the A-R method the fault shows in
  const char* result;  // its expected result
  const char* reason;  // text the A-R comment must hold; nullptr: no comment check
};

// Faults that must give temperror, never a reject.
const FaultCase kTempErrorCases[] = {
    {"Silent", "silent.fault.test", DnsFault::kSilent, false, "spf", "temperror",
     "DNS timeout for silent.fault.test TXT: no reply within 1000 ms"},
    {"AnswersAfterDnsTimeout", "late.fault.test", DnsFault::kLate, false, "spf", "temperror",
     "DNS timeout for late.fault.test TXT"},
    {"WrongMessageId", "wrong-id.fault.test", DnsFault::kWrongId, false, "spf", "temperror",
     "DNS timeout for wrong-id.fault.test TXT"},
    {"NoiseWithoutTheQueryId", "noise.fault.test", DnsFault::kNoise, false, "spf", "temperror",
     "DNS timeout for noise.fault.test TXT"},
    {"GarbageAfterTheQuestion", "garbage.fault.test", DnsFault::kGarbage, false, "spf", "temperror",
     "malformed reply"},
    {"ServFail", "servfail.fault.test", DnsFault::kServFail, false, "spf", "temperror",
     "DNS SERVFAIL for servfail.fault.test TXT"},
    {"Refused", "refused.fault.test", DnsFault::kRefused, false, "spf", "temperror",
     "DNS REFUSED for refused.fault.test TXT"},
    {"TruncatedAndTcpReset", "tc-reset.fault.test", DnsFault::kTruncatedTcpReset, false, "spf",
     "temperror", "truncated over UDP and TCP failed"},
    {"DmarcSilent", "dmarc-silent.fault.test", DnsFault::kSilent, true, "dmarc", "temperror",
     "DNS timeout for _dmarc.dmarc-silent.fault.test TXT"},
    {"DmarcServFail", "dmarc-servfail.fault.test", DnsFault::kServFail, true, "dmarc", "temperror",
     "DNS SERVFAIL for _dmarc.dmarc-servfail.fault.test TXT"},
    {"DmarcGarbage", "dmarc-garbage.fault.test", DnsFault::kGarbage, true, "dmarc", "temperror",
     "malformed reply"},
};

// Faults a correct resolver gets past, answers that are not faults at all, and the loop.
const FaultCase kOtherCases[] = {
    {"TruncatedThenTcp", "tc-tcp.fault.test", DnsFault::kTruncatedThenTcp, false, "spf", "pass",
     nullptr},
    {"TxtAnswerOf4000Bytes", "big.fault.test", DnsFault::kNone, false, "spf", "pass", nullptr},
    {"TxtRecordOf100Strings", "strings.fault.test", DnsFault::kNone, false, "spf", "pass", nullptr},
    {"NxDomainWithSoa", "nx.fault.test", DnsFault::kNxDomainSoa, false, "spf", "none", nullptr},
    {"NxDomainWithSoaForDmarc", "nx.fault.test", DnsFault::kNxDomainSoa, false, "dmarc", "none",
     "no DMARC record"},
    {"CnameLoop", "loop.fault.test", DnsFault::kNone, false, "spf", "temperror",
     "DNS error for loop.fault.test TXT: CNAME loop"},
};

// For GoogleTest's messages: the case, not its bytes.
void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << c.label << " (" << to_string(c.fault) << (c.on_dmarc ? " at _dmarc." : " at ") << c.domain
      << " -> " << c.method << "=" << c.result << ")";
}

std::string fault_name(const FaultCase& c) {
  return c.on_dmarc ? "_dmarc." + std::string(c.domain) : std::string(c.domain);
}

// The responder's zone: every case domain passes SPF for kClientIp unless its fault says
// otherwise, so any other result is the fault's doing.
std::unique_ptr<FaultDns> start_responder() {
  auto dns = FaultDns::start(kOrigin);
  dns->set_late_delay(kLateDelay);
  dns->add_txt("pass.fault.test", {kPassRecord});
  dns->add_txt(kFaultHelo, {kPassRecord});
  dns->add_a(kFaultHelo, kClientIp);
  auto add_case = [&](const FaultCase& c) {
    if (std::string(c.domain) != "loop.fault.test" && std::string(c.domain) != "big.fault.test" &&
        std::string(c.domain) != "strings.fault.test") {
      dns->add_txt(c.domain, {kPassRecord});
    }
    if (c.fault != DnsFault::kNone) dns->set_fault(fault_name(c), c.fault);
  };
  for (const auto& c : kTempErrorCases) add_case(c);
  for (const auto& c : kOtherCases) add_case(c);

  // An answer of over 4,000 octets: the SPF record and a 3,825-octet verification record of
  // 15 strings. Over UDP (1,232-octet EDNS0 size) it comes back truncated; over TCP in full.
  dns->add_txt("big.fault.test", {kPassRecord});
  std::vector<std::string> long_strings;
  for (int i = 0; i < 15; ++i) long_strings.emplace_back(255, static_cast<char>('a' + i));
  dns->add_txt("big.fault.test", long_strings);

  // One TXT RR of 100 character-strings, cut anywhere (RFC 7208 §3.3: they join without
  // spaces), inside tokens too.
  std::string record = "v=spf1";
  for (int i = 1; i <= 8; ++i) record += " ip4:198.51.100." + std::to_string(i);
  record += " ip4:192.0.2.10 -all";
  std::vector<std::string> pieces;
  for (std::size_t i = 0; i < 99; ++i) pieces.push_back(record.substr(i, 1));
  pieces.push_back(record.substr(99));
  dns->add_txt("strings.fault.test", pieces);

  // a -> b -> a.
  dns->add_cname("loop.fault.test", "loop2.fault.test");
  dns->add_cname("loop2.fault.test", "loop.fault.test");
  return dns;
}

// Collapses runs of white space, so folding (RFC 5322 §2.2.3) cannot split an expected text.
std::string squeeze(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// Our Authentication-Results value(s), comments kept.
std::string our_raw_auth_results(const SinkMessage& message) {
  std::string out;
  for (const auto& f : headers_named(parse_headers(message.data), "Authentication-Results")) {
    auto ar = parse_auth_results(f.value);
    if (ar && ar->authserv_id == kAuthservId) out += squeeze(f.value);
  }
  return out;
}

class DnsFaultTest : public DaemonTest {
 protected:
  static void start(const char* temp_error_action) {
    responder().reset();
    try {
      responder() = start_responder();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "fault DNS responder: " << e.what();
      return;
    }
    DaemonDns dns;
    dns.port = responder()->port();
    dns.dns_timeout = std::to_string(kDnsTimeout.count()) + "ms";
    dns.message_timeout = std::to_string(kMessageTimeout.count()) + "ms";
    start_daemon(std::string("TempError ") + temp_error_action + "\n", dns);
  }
  static void stop() {
    stop_daemon();
    responder().reset();
  }
  static std::unique_ptr<FaultDns>& responder() {
    static std::unique_ptr<FaultDns> dns;
    return dns;
  }

  Envelope fault_envelope(std::string_view domain, std::string_view token) {
    Envelope e = envelope("alice@" + std::string(domain), token);
    e.helo = kFaultHelo;
    return e;
  }

  // Sends through Postfix and times it: the milter's verdict is inside the SMTP session.
  SmtpOutcome timed_send(const Envelope& e, std::chrono::milliseconds& elapsed) {
    const auto started = std::chrono::steady_clock::now();
    SmtpOutcome out = send(e);
    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return out;
  }

  void expect_in_time(std::chrono::milliseconds elapsed) {
    EXPECT_LT(elapsed, kMessageTimeout + kVerdictMargin)
        << "verdict took " << elapsed.count() << " ms; MessageTimeout is "
        << kMessageTimeout.count() << " ms";
  }

  void expect_fault_reached(const FaultCase& c) {
    EXPECT_GT(responder()->queries_for(fault_name(c)), 0)
        << "the daemon never asked for " << fault_name(c) << "; questions seen:\n"
        << [&] {
             std::string s;
             for (const auto& q : responder()->query_log()) s += "  " + q + "\n";
             return s;
           }();
  }

  // The daemon still works after the fault: a clean sender passes SPF.
  void expect_daemon_still_serves() {
    const std::string token = unique_token("after-fault");
    SmtpOutcome out = send(fault_envelope("pass.fault.test", token));
    ASSERT_TRUE(out.accepted()) << out.describe();
    auto msg = delivered(token);
    ASSERT_TRUE(msg.has_value()) << "the follow-up message was not delivered";
    EXPECT_NE(our_raw_auth_results(*msg).find("spf=pass"), std::string::npos) << msg->data;
  }

  // The A-R of a delivered message shows `c`'s result and reason.
  void expect_result(const FaultCase& c, const SinkMessage& msg) {
    const std::string ar = our_raw_auth_results(msg);
    ASSERT_FALSE(ar.empty()) << "no Authentication-Results of ours in:\n" << msg.data;
    const std::string expected = std::string(c.method) + "=" + c.result;
    EXPECT_NE(ar.find(expected), std::string::npos) << "expected " << expected << " in: " << ar;
    if (c.reason != nullptr) {
      // The comment right after the method's result, e.g. "spf=temperror (... DNS ... )".
      const std::size_t at = ar.find(expected);
      const std::size_t end = at == std::string::npos ? std::string::npos : ar.find(';', at);
      const std::string resinfo = at == std::string::npos ? ar : ar.substr(at, end - at);
      EXPECT_NE(resinfo.find(c.reason), std::string::npos)
          << "the " << c.method << " result should say \"" << c.reason << "\": " << resinfo;
      EXPECT_EQ(resinfo.find("ERROR)"), std::string::npos) << "a bare ERROR: " << resinfo;
    }
  }
};

std::string case_name(const ::testing::TestParamInfo<FaultCase>& info) { return info.param.label; }

// `TempError accept`: every fault is delivered with its result in the A-R.
class DnsFaultAcceptTest : public DnsFaultTest, public ::testing::WithParamInterface<FaultCase> {
 protected:
  static void SetUpTestSuite() { start("accept"); }
  static void TearDownTestSuite() { stop(); }
};

TEST_P(DnsFaultAcceptTest, DeliveredWithTheExpectedResult) {
  const FaultCase& c = GetParam();
  const std::string token = unique_token(c.label);
  std::chrono::milliseconds elapsed{};
  SmtpOutcome out = timed_send(fault_envelope(c.domain, token), elapsed);
  ASSERT_TRUE(out.accepted()) << out.describe();
  expect_in_time(elapsed);
  auto msg = delivered(token);
  ASSERT_TRUE(msg.has_value()) << "message " << token << " not delivered";
  expect_result(c, *msg);
  expect_fault_reached(c);
  expect_daemon_still_serves();
}

INSTANTIATE_TEST_SUITE_P(TempError, DnsFaultAcceptTest, ::testing::ValuesIn(kTempErrorCases),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Other, DnsFaultAcceptTest, ::testing::ValuesIn(kOtherCases), case_name);

// `TempError tempfail`: the same faults are deferred with 451 4.4.3, never rejected.
class DnsFaultTempfailTest : public DnsFaultTest, public ::testing::WithParamInterface<FaultCase> {
 protected:
  static void SetUpTestSuite() { start("tempfail"); }
  static void TearDownTestSuite() { stop(); }
};

TEST_P(DnsFaultTempfailTest, DeferredWith451) {
  const FaultCase& c = GetParam();
  const std::string token = unique_token(c.label);
  std::chrono::milliseconds elapsed{};
  SmtpOutcome out = timed_send(fault_envelope(c.domain, token), elapsed);
  EXPECT_EQ(out.stage, SmtpStage::kEndOfData) << out.describe();
  EXPECT_EQ(out.reply.code, 451) << out.describe();
  EXPECT_EQ(out.reply.enhanced, "4.4.3") << out.describe();
  expect_in_time(elapsed);
  EXPECT_TRUE(harness().sink().find(token).empty()) << "a deferred message was delivered";
  expect_fault_reached(c);
  expect_daemon_still_serves();
}

INSTANTIATE_TEST_SUITE_P(TempError, DnsFaultTempfailTest, ::testing::ValuesIn(kTempErrorCases),
                         case_name);

}  // namespace
}  // namespace authmilter::integration

// End-to-end tests for CaresResolver against a DNS responder that the test runs itself on a
// loopback ephemeral port (UDP and TCP on the same port), answering from a handler
// (test_support::LoopbackDnsServer).
#include "authmilter/dns/cares_resolver.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "authmilter/dns/wire.h"
#include "loopback_dns_server.h"

namespace authmilter::dns {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;
using wire::ResponseBuilder;
using Section = ResponseBuilder::Section;

// The responder (tests/support/loopback_dns_server.h) answers from a handler per test.
using Reply = test_support::DnsServerReply;
using TestDnsServer = test_support::LoopbackDnsServer;

constexpr std::uint16_t kAnswerFlags = wire::kFlagQr | wire::kFlagRd | wire::kFlagRa;

// A reply to `q` with `extra` flags/rcode, filled in by `fill`.
Bytes reply_to(const wire::Query& q, std::uint16_t extra,
               const std::function<void(ResponseBuilder&)>& fill = {}) {
  ResponseBuilder b(q.id, kAnswerFlags | extra);
  b.question(q.name, q.type, q.qclass);
  if (fill) fill(b);
  return b.finish();
}

std::uint16_t rcode(wire::Rcode code) { return static_cast<std::uint16_t>(code); }

// The table most tests answer from.
Reply table(const wire::Query& q, bool /*tcp*/) {
  const std::string name = normalize_name(q.name);
  const auto type = static_cast<RrType>(q.type);
  const std::string& owner = q.name;
  if (name == "a.test" && type == RrType::kA) {
    return {{reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "192.0.2.1"); })}};
  }
  if (name == "a.test" && type == RrType::kAaaa) {
    return {
        {reply_to(q, 0, [&](auto& b) { b.aaaa(Section::kAnswer, owner, 300, "2001:db8::1"); })}};
  }
  if (name == "a.test" && type == RrType::kTxt) {
    return {{reply_to(q, 0, [&](auto& b) {
      b.txt(Section::kAnswer, owner, 300, {"v=spf1 ", "ip4:192.0.2.0/24 ", "-all"});
    })}};
  }
  if (name == "a.test" && type == RrType::kMx) {
    return {{reply_to(q, 0, [&](auto& b) {
      b.mx(Section::kAnswer, owner, 300, 10, "mx1.a.test")
          .mx(Section::kAnswer, owner, 300, 20, "mx2.a.test");
    })}};
  }
  if (name == "secure.test") {
    return {{reply_to(q, wire::kFlagAd,
                      [&](auto& b) { b.a(Section::kAnswer, owner, 300, "192.0.2.2"); })}};
  }
  if (name == "nx.test") {
    return {{reply_to(q, rcode(wire::Rcode::kNxDomain),
                      [&](auto& b) { b.soa(Section::kAuthority, "test", 900, 60); })}};
  }
  if (name == "nodata.test") {
    return {{reply_to(q, 0, [&](auto& b) { b.soa(Section::kAuthority, "test", 30, 600); })}};
  }
  if (name == "servfail.test") return {{reply_to(q, rcode(wire::Rcode::kServFail))}};
  if (name == "refused.test") return {{reply_to(q, rcode(wire::Rcode::kRefused))}};
  if (name == "malformed.test") {
    Bytes p = reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "192.0.2.3"); });
    p.resize(p.size() - 3);  // the A record's rdata is cut short
    return {{p}};
  }
  if (name == "spoofed.test") {
    // A forged reply (wrong ID) first, then the real one: only the real one may count.
    Bytes forged = reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "6.6.6.6"); });
    forged[0] ^= 0x5a;
    return {
        {forged, reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "192.0.2.4"); })}};
  }
  if (name == "wrongid.test") {
    Bytes forged = reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "6.6.6.6"); });
    forged[1] ^= 0x01;
    return {{forged}};
  }
  if (name == "wrongquestion.test") {
    wire::Query other = q;
    other.name = "other.test";
    return {{reply_to(other, 0,
                      [&](auto& b) { b.a(Section::kAnswer, "other.test", 300, "6.6.6.6"); })}};
  }
  if (name == "silent.test") return {};
  if (name.size() > 6 && name.ends_with(".ttl.test")) {
    // "<n>.ttl.test": an A record with TTL n.
    const std::uint32_t ttl =
        static_cast<std::uint32_t>(std::stoul(name.substr(0, name.find('.'))));
    return {{reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, ttl, "192.0.2.5"); })}};
  }
  if (name.ends_with(".many.test")) {
    return {{reply_to(q, 0, [&](auto& b) { b.a(Section::kAnswer, owner, 300, "192.0.2.6"); })}};
  }
  return {{reply_to(q, rcode(wire::Rcode::kNxDomain))}};
}

struct FakeClock {
  std::atomic<long long> offset_s{0};
  std::function<Clock::time_point()> fn() {
    return [this] { return Clock::now() + std::chrono::seconds(offset_s.load()); };
  }
};

CaresOptions options_for(const TestDnsServer& server) {
  CaresOptions options;
  options.servers = {server.spec()};
  options.timeout = 2000ms;
  return options;
}

Answer ask(Resolver& resolver, std::string_view name, RrType type) {
  return resolver.lookup(name, type, Clock::now() + 5s);
}

std::string ipv4(const std::string& raw) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, raw.data(), text, sizeof text);
  return text;
}

class CaresResolverTest : public ::testing::Test {
 protected:
  TestDnsServer server_{table};
};

TEST_F(CaresResolverTest, AnswersEveryRecordType) {
  CaresResolver resolver(options_for(server_));
  Answer a = ask(resolver, "a.test", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(ipv4(a.records.at(0).data), "192.0.2.1");
  EXPECT_EQ(a.ttl, 300u);

  Answer six = ask(resolver, "A.Test.", RrType::kAaaa);
  ASSERT_EQ(six.status, Status::kNoError) << six.detail;
  ASSERT_EQ(six.records.at(0).data.size(), 16u);
  EXPECT_EQ(static_cast<unsigned char>(six.records[0].data[15]), 1);

  Answer txt = ask(resolver, "a.test", RrType::kTxt);
  ASSERT_EQ(txt.status, Status::kNoError) << txt.detail;
  EXPECT_EQ(txt.records.at(0).data, "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(txt.records[0].strings.size(), 3u);

  Answer mx = ask(resolver, "a.test", RrType::kMx);
  ASSERT_EQ(mx.status, Status::kNoError) << mx.detail;
  ASSERT_EQ(mx.records.size(), 2u);
  EXPECT_EQ(mx.records[0].preference, 10);
  EXPECT_EQ(mx.records[1].data, "mx2.a.test");
  EXPECT_EQ(resolver.stats().queries_sent, 4u);
}

TEST_F(CaresResolverTest, QueriesCarryRdAdAndEdns) {
  CaresResolver resolver(options_for(server_));
  for (const char* name : {"a.test", "b.test", "c.test", "d.test"}) ask(resolver, name, RrType::kA);
  auto log = server_.log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_TRUE(log[0].flags & wire::kFlagRd);
  EXPECT_TRUE(log[0].flags & wire::kFlagAd);
  EXPECT_EQ(log[0].qclass, wire::kClassIn);
  ASSERT_TRUE(log[0].edns_udp_size.has_value());
  EXPECT_EQ(*log[0].edns_udp_size, CaresResolver::kEdnsUdpSize);
  // Random IDs: four equal ones would happen once in 2^48 runs.
  std::set<std::uint16_t> ids;
  for (const auto& q : log) ids.insert(q.id);
  EXPECT_GE(ids.size(), 2u);
}

TEST_F(CaresResolverTest, AdBitIsPropagated) {
  CaresResolver resolver(options_for(server_));
  EXPECT_TRUE(ask(resolver, "secure.test", RrType::kA).authenticated);
  EXPECT_FALSE(ask(resolver, "a.test", RrType::kA).authenticated);
}

// ReadyOnlyResolver (resolver.h): a lookup with no cached answer is answered kError at once,
// without asking the server; once the answer is cached, it passes through.
TEST_F(CaresResolverTest, ReadyOnlyViewAnswersOnlyFromTheCache) {
  CaresResolver resolver(options_for(server_));
  ReadyOnlyResolver first(resolver);
  const Answer not_cached = Resolver::await(first.start("a.test", RrType::kA), Clock::now());
  EXPECT_TRUE(first.missed());
  EXPECT_EQ(not_cached.status, Status::kError);
  EXPECT_FALSE(resolver.peek("a.test", RrType::kA).valid());

  ASSERT_TRUE(ask(resolver, "a.test", RrType::kA).has_records());
  EXPECT_EQ(server_.queries("a.test", RrType::kA), 1u);  // the view asked nothing
  ReadyOnlyResolver second(resolver);
  const Answer cached = Resolver::await(second.start("A.test.", RrType::kA), Clock::now());
  EXPECT_FALSE(second.missed());
  ASSERT_TRUE(cached.has_records());
  EXPECT_EQ(ipv4(cached.records.front().data), "192.0.2.1");
  EXPECT_EQ(server_.queries("a.test", RrType::kA), 1u);
}

TEST_F(CaresResolverTest, NxDomainIsCachedForTheSoaNegativeTtl) {
  FakeClock clock;
  CaresOptions options = options_for(server_);
  options.clock = clock.fn();
  CaresResolver resolver(options);
  Answer nx = ask(resolver, "nx.test", RrType::kTxt);
  EXPECT_EQ(nx.status, Status::kNxDomain);
  EXPECT_EQ(nx.ttl, 60u);  // min(SOA TTL 900, MINIMUM 60)
  EXPECT_EQ(ask(resolver, "NX.test", RrType::kTxt).status, Status::kNxDomain);
  EXPECT_EQ(server_.queries("nx.test", RrType::kTxt), 1u);
  clock.offset_s = 61;
  EXPECT_EQ(ask(resolver, "nx.test", RrType::kTxt).status, Status::kNxDomain);
  EXPECT_EQ(server_.queries("nx.test", RrType::kTxt), 2u);
}

TEST_F(CaresResolverTest, NoDataIsCachedAndNegativeCapApplies) {
  FakeClock clock;
  CaresOptions options = options_for(server_);
  options.clock = clock.fn();
  options.negative_ttl_cap = 10;
  CaresResolver resolver(options);
  EXPECT_EQ(ask(resolver, "nodata.test", RrType::kA).status, Status::kNoData);
  clock.offset_s = 9;
  EXPECT_EQ(ask(resolver, "nodata.test", RrType::kA).status, Status::kNoData);
  EXPECT_EQ(server_.queries("nodata.test", RrType::kA), 1u);
  clock.offset_s = 11;  // SOA says 30, the cap says 10
  EXPECT_EQ(ask(resolver, "nodata.test", RrType::kA).status, Status::kNoData);
  EXPECT_EQ(server_.queries("nodata.test", RrType::kA), 2u);
}

TEST_F(CaresResolverTest, ServFailIsNotCachedAndNotRetried) {
  CaresResolver resolver(options_for(server_));
  EXPECT_EQ(ask(resolver, "servfail.test", RrType::kTxt).status, Status::kServFail);
  EXPECT_EQ(server_.queries("servfail.test", RrType::kTxt), 1u);
  Answer again = ask(resolver, "servfail.test", RrType::kTxt);
  EXPECT_EQ(again.status, Status::kServFail);
  EXPECT_TRUE(again.is_temporary_failure());
  EXPECT_EQ(server_.queries("servfail.test", RrType::kTxt), 2u);
}

TEST_F(CaresResolverTest, RefusedAndMalformedAreErrors) {
  CaresResolver resolver(options_for(server_));
  Answer refused = ask(resolver, "refused.test", RrType::kA);
  EXPECT_EQ(refused.status, Status::kError);
  EXPECT_EQ(refused.detail, "REFUSED");
  Answer malformed = ask(resolver, "malformed.test", RrType::kA);
  EXPECT_EQ(malformed.status, Status::kError);
  EXPECT_NE(malformed.detail.find("malformed"), std::string::npos) << malformed.detail;
  EXPECT_EQ(ask(resolver, "malformed.test", RrType::kA).status, Status::kError);
  EXPECT_EQ(server_.queries("malformed.test", RrType::kA), 2u);  // errors are not cached
}

TEST_F(CaresResolverTest, ForgedReplyWithWrongIdIsIgnored) {
  CaresResolver resolver(options_for(server_));
  Answer a = ask(resolver, "spoofed.test", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(ipv4(a.records[0].data), "192.0.2.4");
}

TEST_F(CaresResolverTest, RepliesWithWrongIdOrQuestionTimeOut) {
  CaresOptions options = options_for(server_);
  options.timeout = 300ms;
  CaresResolver resolver(options);
  auto id = resolver.start("wrongid.test", RrType::kA);
  auto question = resolver.start("wrongquestion.test", RrType::kA);
  EXPECT_EQ(Resolver::await(id, Clock::now() + 5s).status, Status::kTimeout);
  EXPECT_EQ(Resolver::await(question, Clock::now() + 5s).status, Status::kTimeout);
}

TEST_F(CaresResolverTest, SilentServerTimesOutWithinDnsTimeout) {
  CaresOptions options = options_for(server_);
  options.timeout = 300ms;
  CaresResolver resolver(options);
  const auto started = Clock::now();
  Answer a = ask(resolver, "silent.test", RrType::kTxt);
  const auto took = Clock::now() - started;
  EXPECT_EQ(a.status, Status::kTimeout);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_GE(server_.queries("silent.test", RrType::kTxt), 1u);
  // Timeouts are not cached: a new lookup asks again.
  const std::size_t before = server_.queries("silent.test", RrType::kTxt);
  EXPECT_EQ(ask(resolver, "silent.test", RrType::kTxt).status, Status::kTimeout);
  EXPECT_GT(server_.queries("silent.test", RrType::kTxt), before);
}

TEST_F(CaresResolverTest, CallerDeadlineShorterThanDnsTimeout) {
  CaresOptions options = options_for(server_);
  options.timeout = 5000ms;
  auto resolver = std::make_unique<CaresResolver>(options);
  const auto started = Clock::now();
  PendingAnswer pending = resolver->start("silent.test", RrType::kTxt);
  Answer a = Resolver::await(pending, started + 100ms);
  EXPECT_EQ(a.status, Status::kTimeout);
  EXPECT_LT(Clock::now() - started, 1000ms);
  // Shutting down fails the lookup still in flight at once, without waiting for DNSTimeout.
  resolver.reset();
  ASSERT_TRUE(pending.ready());
  EXPECT_EQ(pending.get().status, Status::kError);
  EXPECT_LT(Clock::now() - started, 2000ms);
}

TEST_F(CaresResolverTest, TtlExpiryWithInjectedClock) {
  FakeClock clock;
  CaresOptions options = options_for(server_);
  options.clock = clock.fn();
  CaresResolver resolver(options);
  EXPECT_EQ(ask(resolver, "30.ttl.test", RrType::kA).status, Status::kNoError);
  clock.offset_s = 29;
  Answer hit = ask(resolver, "30.ttl.test", RrType::kA);
  EXPECT_EQ(hit.status, Status::kNoError);
  EXPECT_LE(hit.ttl, 1u);
  EXPECT_EQ(server_.queries("30.ttl.test", RrType::kA), 1u);
  EXPECT_EQ(resolver.stats().cache_hits, 1u);
  clock.offset_s = 31;
  EXPECT_EQ(ask(resolver, "30.ttl.test", RrType::kA).status, Status::kNoError);
  EXPECT_EQ(server_.queries("30.ttl.test", RrType::kA), 2u);
}

TEST_F(CaresResolverTest, MaxTtlCapsCachedTtl) {
  FakeClock clock;
  CaresOptions options = options_for(server_);
  options.clock = clock.fn();
  options.cache_max_ttl = 5;
  CaresResolver resolver(options);
  ask(resolver, "3600.ttl.test", RrType::kA);
  clock.offset_s = 4;
  ask(resolver, "3600.ttl.test", RrType::kA);
  EXPECT_EQ(server_.queries("3600.ttl.test", RrType::kA), 1u);
  clock.offset_s = 6;
  ask(resolver, "3600.ttl.test", RrType::kA);
  EXPECT_EQ(server_.queries("3600.ttl.test", RrType::kA), 2u);
}

TEST_F(CaresResolverTest, ZeroTtlIsNotCached) {
  CaresResolver resolver(options_for(server_));
  ask(resolver, "0.ttl.test", RrType::kA);
  ask(resolver, "0.ttl.test", RrType::kA);
  EXPECT_EQ(server_.queries("0.ttl.test", RrType::kA), 2u);
}

TEST(CaresResolverCoalescing, ConcurrentStartsShareOneQuery) {
  TestDnsServer server([](const wire::Query& q, bool tcp) {
    Reply reply = table(q, tcp);
    reply.defer = true;  // held until the test has piled up the other lookups
    return reply;
  });
  // The first query is held while seven threads start: on a loaded machine that can outlast
  // the fixture's 2 s DNSTimeout, and this test is about coalescing, not timeouts.
  CaresOptions options = options_for(server);
  options.timeout = 10000ms;
  CaresResolver resolver(options);
  std::vector<PendingAnswer> pending;
  pending.push_back(resolver.start("a.test", RrType::kTxt));
  ASSERT_TRUE(server.wait_for_total(1, 2000ms));
  std::vector<std::thread> threads;
  std::mutex mutex;
  for (int i = 0; i < 7; ++i) {
    threads.emplace_back([&] {
      PendingAnswer p = resolver.start("A.TEST", RrType::kTxt);
      std::lock_guard lock(mutex);
      pending.push_back(p);
    });
  }
  for (auto& thread : threads) thread.join();
  server.release();
  for (auto& p : pending) {
    Answer a = Resolver::await(p, Clock::now() + 15s);
    ASSERT_EQ(a.status, Status::kNoError) << a.detail;
    EXPECT_EQ(a.records.at(0).data, "v=spf1 ip4:192.0.2.0/24 -all");
  }
  EXPECT_EQ(server.queries("a.test", RrType::kTxt), 1u);
  EXPECT_EQ(resolver.stats().queries_sent, 1u);
  EXPECT_EQ(resolver.stats().coalesced, 7u);
}

TEST_F(CaresResolverTest, CacheSizeIsBounded) {
  CaresOptions options = options_for(server_);
  options.cache_size = 3;
  CaresResolver resolver(options);
  for (int i = 0; i < 5; ++i) ask(resolver, "n" + std::to_string(i) + ".many.test", RrType::kA);
  EXPECT_EQ(resolver.cache_entries(), 3u);
  ask(resolver, "n4.many.test", RrType::kA);  // newest: still cached
  EXPECT_EQ(server_.queries("n4.many.test", RrType::kA), 1u);
  ask(resolver, "n0.many.test", RrType::kA);  // oldest: evicted
  EXPECT_EQ(server_.queries("n0.many.test", RrType::kA), 2u);
  EXPECT_EQ(resolver.cache_entries(), 3u);
  resolver.clear_cache();
  EXPECT_EQ(resolver.cache_entries(), 0u);
}

TEST(CaresResolverTcp, TruncatedUdpReplyIsRetriedOverTcp) {
  const std::vector<std::string> big(8, std::string(250, 'k'));  // 2 KB: over 1232
  TestDnsServer server([&](const wire::Query& q, bool tcp) -> Reply {
    if (!tcp) return {{reply_to(q, wire::kFlagTc)}};
    return {{reply_to(q, 0, [&](auto& b) { b.txt(Section::kAnswer, q.name, 300, big); })}};
  });
  CaresResolver resolver(options_for(server));
  Answer a = ask(resolver, "big.test", RrType::kTxt);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(a.records.at(0).data.size(), 2000u);
  EXPECT_EQ(a.records[0].strings.size(), 8u);
  EXPECT_EQ(server.tcp_queries(), 1u);
}

TEST(CaresResolverTcp, TruncatedReplyWhoseTcpRetryGetsNoAnswerSaysSo) {
  TestDnsServer server([&](const wire::Query& q, bool tcp) -> Reply {
    if (!tcp) return {{reply_to(q, wire::kFlagTc)}};
    return {};  // TCP accepted, never answered
  });
  CaresOptions options = options_for(server);
  options.timeout = 600ms;
  CaresResolver resolver(options);
  Answer a = ask(resolver, "big.test", RrType::kTxt);
  EXPECT_EQ(a.status, Status::kTimeout) << a.detail;
  // The reason names the TCP retry, not only "no reply".
  EXPECT_NE(a.detail.find("TCP"), std::string::npos) << a.detail;
  EXPECT_GE(server.tcp_queries(), 1u);
}

TEST(CaresResolverServers, FallsBackToTheSecondServer) {
  TestDnsServer dead([](const wire::Query&, bool) { return Reply{}; });
  TestDnsServer alive(table);
  CaresOptions options;
  options.servers = {dead.spec(), alive.spec()};
  options.timeout = 1500ms;
  CaresResolver resolver(options);
  Answer a = ask(resolver, "a.test", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
  EXPECT_EQ(dead.total(), 1u);
  EXPECT_EQ(alive.total(), 1u);
}

TEST(CaresResolverServers, Ipv6Loopback) {
  std::unique_ptr<TestDnsServer> server;
  try {
    server = std::make_unique<TestDnsServer>(table, AF_INET6);
  } catch (const std::exception&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  CaresResolver resolver(options_for(*server));
  Answer a = ask(resolver, "a.test", RrType::kA);
  ASSERT_EQ(a.status, Status::kNoError) << a.detail;
}

TEST_F(CaresResolverTest, InvalidNamesFailWithoutAQuery) {
  CaresResolver resolver(options_for(server_));
  EXPECT_EQ(ask(resolver, "", RrType::kA).status, Status::kError);
  EXPECT_EQ(ask(resolver, "a..test", RrType::kA).status, Status::kError);
  EXPECT_EQ(ask(resolver, ".a.test", RrType::kA).status, Status::kError);
  EXPECT_EQ(ask(resolver, std::string("a\0b.test", 8), RrType::kA).status, Status::kError);
  EXPECT_EQ(ask(resolver, std::string(64, 'x') + ".test", RrType::kA).status, Status::kError);
  EXPECT_EQ(ask(resolver, "hidden.onion", RrType::kA).status, Status::kNxDomain);
  EXPECT_EQ(server_.total(), 0u);
  // At the limits: a 63-octet label and a 255-octet name are sent.
  const std::string label(63, 'l');
  const std::string longest = label + "." + label + "." + label + "." + std::string(61, 'l');
  EXPECT_EQ(ask(resolver, label + ".test", RrType::kA).status, Status::kNxDomain);
  EXPECT_EQ(ask(resolver, longest, RrType::kA).status, Status::kNxDomain);
  EXPECT_EQ(ask(resolver, longest + "l", RrType::kA).status, Status::kError);
  EXPECT_EQ(server_.total(), 2u);
}

TEST_F(CaresResolverTest, BackslashAndEightBitNamesGoOutVerbatim) {
  CaresResolver resolver(options_for(server_));
  EXPECT_EQ(ask(resolver, "a\\b.test", RrType::kTxt).status, Status::kNxDomain);
  EXPECT_EQ(ask(resolver, "\xC3\xA9t\xC3\xA9.test", RrType::kTxt).status, Status::kNxDomain);
  auto log = server_.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].name, "a\\b.test");
  EXPECT_EQ(log[1].name, "\xC3\xA9t\xC3\xA9.test");
}

TEST(CaresResolverOptions, BadServerSpecsThrow) {
  for (const char* spec :
       {"", "garbage", "1.2.3", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:53x", "[::1",
        "[::1]53", "[1.2.3.4]:53", "::g", "example.org", "1.2.3.4:5:6", "[::1]:123456"}) {
    CaresOptions options;
    options.servers = {spec};
    EXPECT_THROW(CaresResolver resolver(options), std::runtime_error) << spec;
  }
  CaresOptions zero;
  zero.timeout = 0ms;
  EXPECT_THROW(CaresResolver resolver(zero), std::runtime_error);
}

TEST(CaresResolverOptions, ServerSpecParsing) {
  EXPECT_EQ(parse_server("127.0.0.1:5353").to_string(), "127.0.0.1:5353");
  EXPECT_EQ(parse_server("192.0.2.53").to_string(), "192.0.2.53:53");
  EXPECT_EQ(parse_server("[::1]:53").to_string(), "[::1]:53");
  EXPECT_EQ(parse_server("[::1]").to_string(), "[::1]:53");
  EXPECT_EQ(parse_server("2001:db8::53").to_string(), "[2001:db8::53]:53");
  EXPECT_EQ(parse_server("1.2.3.4:65535").port, 65535);
  EXPECT_EQ(parse_server("1.2.3.4:1").port, 1);
  EXPECT_EQ(parse_server("::1").family, AF_INET6);
  EXPECT_EQ(split_server_list(" 127.0.0.1:5353, [::1]:53\t192.0.2.1 ,"),
            (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53", "192.0.2.1"}));
  EXPECT_TRUE(split_server_list(" , ").empty());
}

TEST(CaresResolverOptions, DefaultsComeFromResolvConf) {
  CaresOptions options;  // no servers: /etc/resolv.conf (or c-ares' own 127.0.0.1 default)
  EXPECT_NO_THROW(CaresResolver resolver(options));
}

}  // namespace
}  // namespace authmilter::dns

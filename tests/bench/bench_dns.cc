// Benchmarks of the DNS layer: ZoneResolver (what the other benchmarks resolve against) and the
// production CaresResolver against a loopback responder in this process (bench_support.h):
// a warm-cache hit, the path most lookups of a busy gateway take, and a full miss (query
// built, sent over UDP on 127.0.0.1, answered, parsed), the floor of a real lookup.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>

#include "authmilter/dns/cares_resolver.h"
#include "bench_support.h"

namespace authmilter::bench {
namespace {

dns::Deadline deadline() { return dns::Clock::now() + std::chrono::seconds(5); }

dns::ZoneResolver& zone() {
  static dns::ZoneResolver* instance = [] {
    auto* z = new dns::ZoneResolver;  // lives until exit: the responder thread reads it
    load_bench_zone(*z);
    return z;
  }();
  return *instance;
}

void BM_ZoneResolverLookup(benchmark::State& state) {
  if (!zone().lookup("example.org", dns::RrType::kTxt, deadline()).has_records()) {
    state.SkipWithError("no TXT record for example.org");
    return;
  }
  for (auto _ : state) {
    dns::Answer answer = zone().lookup("example.org", dns::RrType::kTxt, deadline());
    benchmark::DoNotOptimize(answer);
  }
}
BENCHMARK(BM_ZoneResolverLookup);

dns::CaresOptions cares_options(const LoopbackDnsServer& server, std::size_t cache_size) {
  dns::CaresOptions options;
  options.servers = {server.spec()};
  options.timeout = std::chrono::milliseconds(2000);
  options.tries = 1;
  options.cache_size = cache_size;
  return options;
}

// start() on a name in the cache: answered in the calling thread, no c-ares involvement.
void BM_CaresResolverCacheHit(benchmark::State& state) {
  LoopbackDnsServer server(zone());
  dns::CaresResolver resolver(cares_options(server, 10000));
  const std::string name = std::string(kRsaSelector) + "._domainkey." + std::string(kDomain);
  if (!resolver.lookup(name, dns::RrType::kTxt, deadline()).has_records()) {
    state.SkipWithError("warm-up lookup failed");
    return;
  }
  const std::uint64_t sent = resolver.stats().queries_sent;
  for (auto _ : state) {
    dns::Answer answer = dns::Resolver::await(resolver.start(name, dns::RrType::kTxt), deadline());
    benchmark::DoNotOptimize(answer);
  }
  if (resolver.stats().queries_sent != sent) state.SkipWithError("cache missed");
  state.counters["upstream_queries"] = static_cast<double>(resolver.stats().queries_sent - sent);
}
BENCHMARK(BM_CaresResolverCacheHit);

// No cache: every lookup goes through the event-loop thread to the loopback responder. The
// CPU time is the whole process (MeasureProcessCPUTime): caller, c-ares loop and responder.
void BM_CaresResolverLoopbackMiss(benchmark::State& state) {
  LoopbackDnsServer server(zone());
  dns::CaresResolver resolver(cares_options(server, 0));
  if (!resolver.lookup("example.org", dns::RrType::kTxt, deadline()).has_records()) {
    state.SkipWithError("lookup through the loopback responder failed");
    return;
  }
  const std::uint64_t before = server.queries();
  for (auto _ : state) {
    dns::Answer answer = resolver.lookup("example.org", dns::RrType::kTxt, deadline());
    if (!answer.has_records()) {
      state.SkipWithError(("lookup failed: " + answer.detail).c_str());
      break;
    }
    benchmark::DoNotOptimize(answer);
  }
  state.counters["upstream_queries"] = static_cast<double>(server.queries() - before);
}
BENCHMARK(BM_CaresResolverLoopbackMiss)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace
}  // namespace authmilter::bench

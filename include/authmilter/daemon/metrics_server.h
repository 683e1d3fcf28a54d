// authmilter::daemon::MetricsServer — MetricsListen: /metrics in the Prometheus text format.
//
// What: an HTTP listener (prometheus-cpp's Exposer, civetweb underneath) on MetricsListen
//   (host:port, off by default) whose one Collectable reads our own counters at scrape time:
//   the milter's MessageMetrics, the resolver's per-type DNS counts and query-time histogram,
//   the connections open (ServiceGate), the report store's dropped records (the current
//   configuration's Recorder) and build info. docs/metrics.md lists every series.
// Why the library only for exposition: prometheus-cpp 1.0's Histogram::Observe takes a mutex
//   per observation; our atomics do not (tests/bench/bench_metrics.cc).
// Threads: the Exposer's threads start in the constructor (after the privilege drop, so
//   MetricsListen needs a port above 1023 unless the daemon keeps root); the destructor stops
//   them, and must run before the resolver and the MessageMetrics go.
// Security: serves counters only, no input from mail in any label. Bind it to loopback or a
//   management network: there is no authentication.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authmilter/dns/cares_resolver.h"
#include "authmilter/metrics/metrics.h"

namespace prometheus {
class Exposer;
}

namespace authmilter::daemon {

class MetricsServer {
 public:
  // `listen`: MetricsListen as validated by the config ("127.0.0.1:9795", "[::1]:9795").
  // Throws std::runtime_error when it cannot listen.
  MetricsServer(const std::string& listen, const metrics::MessageMetrics& messages,
                const dns::CaresResolver& resolver, std::string_view libmilter_version);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const;  // the port it listens on

 private:
  class Collector;
  std::shared_ptr<Collector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace authmilter::daemon

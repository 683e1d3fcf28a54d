#include "authmilter/daemon/metrics_server.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include <array>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "authmilter/milter/service_gate.h"

namespace authmilter::daemon {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily out;
  out.name = std::move(name);
  out.help = std::move(help);
  out.type = type;
  return out;
}

ClientMetric counter(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = value;
  return metric;
}

ClientMetric gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

MetricFamily histogram(std::string name, std::string help,
                       const metrics::Histogram::Snapshot& snapshot) {
  MetricFamily out = family(std::move(name), std::move(help), MetricType::Histogram);
  ClientMetric metric;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < metrics::Histogram::kBuckets; ++i) {
    cumulative += snapshot.buckets[i];
    metric.histogram.bucket.push_back({cumulative, metrics::kLatencyBounds[i]});
  }
  cumulative += snapshot.buckets[metrics::Histogram::kBuckets];
  metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  // The buckets were read one by one: the count is their sum, so the +Inf bucket equals it.
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = snapshot.sum_seconds;
  out.metric.push_back(std::move(metric));
  return out;
}

template <std::size_t N>
MetricFamily labelled(std::string name, std::string help,
                      const std::array<std::string, N>& label_names,
                      const metrics::LabelledCounters<N>& counters) {
  MetricFamily out = family(std::move(name), std::move(help), MetricType::Counter);
  for (const auto& [values, value] : counters.values()) {
    std::vector<ClientMetric::Label> labels;
    for (std::size_t i = 0; i < N; ++i) labels.push_back({label_names[i], values[i]});
    out.metric.push_back(counter(std::move(labels), static_cast<double>(value)));
  }
  return out;
}

}  // namespace

class MetricsServer::Collector final : public prometheus::Collectable {
 public:
  Collector(const metrics::MessageMetrics& messages, const dns::CaresResolver& resolver,
            std::string libmilter)
      : messages_(messages), resolver_(resolver), libmilter_(std::move(libmilter)) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    out.push_back(labelled<2>("authmilter_messages_total",
                              "Messages finished, by verdict and the client's trust.",
                              {"verdict", "trust"}, messages_.messages));
    out.push_back(labelled<2>("authmilter_results_total",
                              "Check results of finished messages, by method and result.",
                              {"method", "result"}, messages_.results));
    out.push_back(histogram("authmilter_message_duration_seconds",
                            "Time from MAIL FROM to the verdict.",
                            messages_.message_duration.snapshot()));
    out.push_back(histogram("authmilter_eom_wait_seconds",
                            "Time at end of message waiting for the checks and deciding.",
                            messages_.eom_wait.snapshot()));

    const dns::CaresResolver::Stats dns = resolver_.stats();
    MetricFamily queries = family("authmilter_dns_queries_total",
                                  "DNS queries sent upstream, by type.", MetricType::Counter);
    MetricFamily hits = family("authmilter_dns_cache_hits_total",
                               "DNS lookups answered without a query of their own (cache, or a "
                               "lookup in flight), by type.",
                               MetricType::Counter);
    MetricFamily timeouts =
        family("authmilter_dns_timeouts_total",
               "DNS lookups with no reply within DNSTimeout, by type.", MetricType::Counter);
    MetricFamily servfail = family("authmilter_dns_servfail_total",
                                   "DNS SERVFAIL replies, by type.", MetricType::Counter);
    for (const auto& type : dns.by_type) {
      queries.metric.push_back(counter({{"type", type.type}}, static_cast<double>(type.queries)));
      hits.metric.push_back(counter({{"type", type.type}}, static_cast<double>(type.cache_hits)));
      timeouts.metric.push_back(counter({{"type", type.type}}, static_cast<double>(type.timeouts)));
      servfail.metric.push_back(counter({{"type", type.type}}, static_cast<double>(type.servfail)));
    }
    out.push_back(std::move(queries));
    out.push_back(std::move(hits));
    out.push_back(std::move(timeouts));
    out.push_back(std::move(servfail));
    out.push_back(histogram("authmilter_dns_query_duration_seconds",
                            "Time from sending a DNS query upstream to its answer or timeout.",
                            dns.query_duration));

    milter::ServiceGate& gate = milter::ServiceGate::process();
    MetricFamily connections =
        family("authmilter_connections_open", "MTA connections open now.", MetricType::Gauge);
    connections.metric.push_back(gauge({}, static_cast<double>(gate.connections())));
    out.push_back(std::move(connections));
    // Present while a ReportStore is configured; the count is the process's, across reloads
    // (each reload's new Recorder counts into the same counter).
    if (const milter::ServiceGate::Use use = gate.enter_callback();
        use && use.services()->recorder != nullptr) {
      MetricFamily dropped = family("authmilter_report_records_dropped_total",
                                    "DMARC report records dropped (queue full or store failing).",
                                    MetricType::Counter);
      dropped.metric.push_back(
          counter({}, static_cast<double>(messages_.report_records_dropped.value())));
      out.push_back(std::move(dropped));
    }

    MetricFamily build =
        family("authmilter_build_info", "Build information; the value is 1.", MetricType::Gauge);
    build.metric.push_back(
        gauge({{"version", AUTHMILTER_VERSION}, {"libmilter", libmilter_}}, 1.0));
    out.push_back(std::move(build));
    return out;
  }

 private:
  const metrics::MessageMetrics& messages_;
  const dns::CaresResolver& resolver_;
  const std::string libmilter_;
};

MetricsServer::MetricsServer(const std::string& listen, const metrics::MessageMetrics& messages,
                             const dns::CaresResolver& resolver, std::string_view libmilter_version)
    : collector_(std::make_shared<Collector>(messages, resolver, std::string(libmilter_version))) {
  try {
    // One worker thread: scrapes are rare and small.
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    throw std::runtime_error("MetricsListen " + listen + ": cannot listen (" + e.what() + ")");
  }
  exposer_->RegisterCollectable(collector_);
}

MetricsServer::~MetricsServer() = default;

int MetricsServer::port() const {
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace authmilter::daemon

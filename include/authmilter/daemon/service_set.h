// authmilter::daemon::ServiceSet — the daemon's shared services, built in one place.
//
// What: from a Config and a Resolver, the SPF checker, the DKIM library, the DMARC evaluator
//   (over the public suffix list), the BATV key, the DMARC report recorder (ReportStore)
//   and the worker pool (WorkerThreads) the
//   checks that block in DNS run on, wired into the milter::Services that every Transaction
//   reads. The daemon (daemon.h), `authmilter check` and the benchmarks build
//   their services here and nowhere else.
// Order: ServiceFiles::load() reads the files (PublicSuffixList, BATVKeyFile) and is called
//   while still privileged; the ServiceSet is built after the privilege drop, when threads
//   may start (the Resolver's event loop is the caller's).
// Lifetime: the ServiceSet must outlive every Transaction made from services(); the daemon
//   proves that through milter::ServiceGate. The Resolver must outlive the ServiceSet.
#pragma once

#include <memory>
#include <optional>

#include "authmilter/config/config.h"
#include "authmilter/dkim/verifier.h"
#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/org_domain.h"
#include "authmilter/dns/cares_resolver.h"
#include "authmilter/dns/resolver.h"
#include "authmilter/mail/batv.h"
#include "authmilter/milter/transaction.h"
#include "authmilter/report/recorder.h"
#include "authmilter/spf/spf.h"
#include "authmilter/work/pool.h"

namespace authmilter::daemon {

// The data files the services need; loading throws std::runtime_error naming the file
// (DMARC without organizational domains would be wrong; a BATV key that cannot be read is
// a configuration mistake).
struct ServiceFiles {
  std::unique_ptr<dmarc::OrgDomainFinder> org_domains;
  std::optional<mail::BatvKey> batv_key;
  std::optional<dkim::ArcSigningKey> arc_key;  // ARCSign yes: ARCKeyFile

  static ServiceFiles load(const config::Config& config);
};

// The DKIM verifier's options from the configuration.
dkim::VerifierOptions dkim_options(const config::Config& config);

// The production resolver: DNSServers (or /etc/resolv.conf), DNSTimeout, CacheSize,
// CacheMaxTTL. Starts its event-loop thread.
std::unique_ptr<dns::CaresResolver> make_resolver(const config::Config& config);

// The report records' writer for ReportStore (nullptr for none); throws std::runtime_error on
// a ReportStore the report module cannot read. The store itself is opened by the writer.
std::unique_ptr<report::Recorder> make_recorder(const config::Config& config);

class ServiceSet {
 public:
  // `metrics`: counted into by every message (MetricsListen); must outlive the ServiceSet.
  ServiceSet(config::Config config, dns::Resolver& resolver, ServiceFiles files,
             metrics::MessageMetrics* metrics = nullptr);
  ServiceSet(const ServiceSet&) = delete;
  ServiceSet& operator=(const ServiceSet&) = delete;

  const milter::Services& services() const { return services_; }
  // The report records' writer (nullptr when ReportStore is none), for its counters.
  const report::Recorder* recorder() const { return recorder_.get(); }
  const config::Config& config() const { return config_; }

 private:
  const config::Config config_;
  const ServiceFiles files_;
  const spf::Checker spf_;
  const dkim::Library dkim_;
  const dmarc::Evaluator dmarc_;
  // ReportStore: the DMARC report records' queue and writer thread (absent for none).
  std::unique_ptr<report::Recorder> recorder_;
  // After what its tasks use: destroyed first (queued checks completed unrun, workers joined).
  work::Pool pool_;
  milter::BodyOffloadSlots body_offload_;
  const milter::Services services_;
};

}  // namespace authmilter::daemon

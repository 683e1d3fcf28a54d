#include "authmilter/daemon/service_set.h"

#include <stdexcept>
#include <utility>

namespace authmilter::daemon {

ServiceFiles ServiceFiles::load(const config::Config& config) {
  ServiceFiles files;
  std::string error;
  files.org_domains = dmarc::OrgDomainFinder::load(config.public_suffix_list, &error);
  if (!files.org_domains) {
    throw std::runtime_error("PublicSuffixList " + config.public_suffix_list + ": " + error);
  }
  if (!config.batv_key_file.empty()) {
    files.batv_key = mail::BatvKey::load_file(config.batv_key_file);
  }
  if (config.arc_sign) {
    files.arc_key = dkim::ArcSigningKey::load_file(config.arc_key_file, config.arc_seal_domain,
                                                   config.arc_selector);
  }
  return files;
}

dkim::VerifierOptions dkim_options(const config::Config& config) {
  return {config.max_signatures, config.dkim_allow_sha1, config.dkim_min_key_bits};
}

std::unique_ptr<dns::CaresResolver> make_resolver(const config::Config& config) {
  return std::make_unique<dns::CaresResolver>(dns::CaresOptions{
      config.dns_servers, config.dns_timeout, 2, config.cache_size, config.cache_max_ttl});
}

std::unique_ptr<report::Recorder> make_recorder(const config::Config& config,
                                                metrics::MessageMetrics* metrics) {
  std::string why;
  const std::optional<report::StoreSpec> spec = report::parse_store_spec(config.report_store, &why);
  if (!spec) throw std::runtime_error("ReportStore: " + why);
  if (spec->kind == report::StoreKind::kNone) return nullptr;
  // The writer thread opens the store itself: a database that is down at start-up costs
  // records, never the daemon.
  report::RecorderOptions options;
  if (metrics != nullptr) options.dropped_total = &metrics->report_records_dropped;
  return std::make_unique<report::Recorder>([spec = *spec] { return report::open_store(spec); },
                                            options);
}

ServiceSet::ServiceSet(config::Config config, dns::Resolver& resolver, ServiceFiles files,
                       metrics::MessageMetrics* metrics)
    : config_(std::move(config)),
      files_(std::move(files)),
      spf_(resolver, spf::CheckerOptions{config_.authserv_id}),
      dkim_(resolver, dkim_options(config_)),
      dmarc_(resolver, *files_.org_domains,
             config_.dmarc_discovery_psl ? dmarc::Discovery::kPsl : dmarc::Discovery::kTreeWalk),
      recorder_(make_recorder(config_, metrics)),
      pool_(config_.worker_threads),
      services_{config_,
                resolver,
                spf_,
                pool_,
                &dkim_,
                &dmarc_,
                files_.batv_key ? &*files_.batv_key : nullptr,
                recorder_.get(),
                files_.arc_key ? &*files_.arc_key : nullptr,
                metrics,
                &body_offload_} {}

}  // namespace authmilter::daemon

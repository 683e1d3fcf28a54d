// ServiceSet: the daemon's services, built in one place from a Config and a Resolver.
#include "authmilter/daemon/service_set.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "authmilter/dns/zone_resolver.h"

namespace authmilter::daemon {
namespace {

TEST(ServiceSet, WiresEveryServiceOverTheGivenResolver) {
  config::Config config = config::Config::defaults();
  config.authserv_id = "mx.example.net";
  dns::ZoneResolver zone;
  const ServiceSet set(config, zone, ServiceFiles::load(config));
  const milter::Services& services = set.services();
  EXPECT_EQ(&services.resolver, &zone);
  EXPECT_EQ(&services.config, &set.config());
  EXPECT_EQ(services.config.authserv_id, "mx.example.net");
  EXPECT_NE(services.dkim, nullptr);
  EXPECT_NE(services.dmarc, nullptr);
  EXPECT_EQ(services.batv, nullptr);  // no BATVKeyFile
}

TEST(ServiceSet, MissingPublicSuffixListNamesTheFile) {
  config::Config config = config::Config::defaults();
  config.public_suffix_list = "/nonexistent/authmilter-test/psl.dat";
  try {
    (void)ServiceFiles::load(config);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/authmilter-test/psl.dat"),
              std::string::npos);
  }
}

TEST(ServiceSet, DkimOptionsComeFromTheConfig) {
  config::Config config = config::Config::defaults();
  config.max_signatures = 3;
  config.dkim_min_key_bits = 2048;
  const dkim::VerifierOptions options = dkim_options(config);
  EXPECT_EQ(options.max_signatures, 3u);
  EXPECT_EQ(options.min_key_bits, 2048u);
}

}  // namespace
}  // namespace authmilter::daemon

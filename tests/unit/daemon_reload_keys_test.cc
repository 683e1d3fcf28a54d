// Reload: the keys only a restart can change are named and keep their running values.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "authmilter/daemon/daemon.h"

namespace authmilter::daemon {
namespace {

TEST(ReloadKeys, SameFileNeedsNoRestart) {
  const config::Config running = config::Config::defaults();
  EXPECT_TRUE(restart_only_changes(running, running).empty());
}

TEST(ReloadKeys, ChangedRestartOnlyKeysAreNamedInTableOrderAndKept) {
  config::Config running = config::Config::defaults();
  running.authserv_id = "mx.example.net";
  config::Config next = running;
  next.socket = "inet:8895@127.0.0.1";
  next.cache_size = 5;
  next.dns_servers = {"192.0.2.53:53"};
  next.authserv_id = "mx2.example.net";  // applies on reload: not named
  next.message_timeout = std::chrono::seconds(3);
  EXPECT_EQ(restart_only_changes(running, next),
            (std::vector<std::string>{"Socket", "DNSServers", "CacheSize"}));
  const config::Config applied = keep_restart_only(running, next);
  EXPECT_EQ(applied.socket, running.socket);
  EXPECT_EQ(applied.cache_size, running.cache_size);
  EXPECT_EQ(applied.dns_servers, running.dns_servers);
  EXPECT_EQ(applied.authserv_id, "mx2.example.net");
  EXPECT_EQ(applied.message_timeout, std::chrono::seconds(3));
  EXPECT_TRUE(restart_only_changes(running, applied).empty());
}

TEST(ReloadKeys, EveryRestartOnlyKeyIsAParameter) {
  for (std::string_view key : kRestartOnlyKeys) {
    bool found = false;
    for (const config::Parameter& p : config::parameters()) found = found || p.name == key;
    EXPECT_TRUE(found) << key;
  }
}

}  // namespace
}  // namespace authmilter::daemon

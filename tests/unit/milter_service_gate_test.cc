// ServiceGate: the order that lets the daemon destroy its services last (service_gate.h).
#include "authmilter/milter/service_gate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "authmilter/config/config.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/spf.h"

namespace authmilter::milter {
namespace {

using Clock = std::chrono::steady_clock;

struct GateTest : ::testing::Test {
  config::Config config = config::Config::defaults();
  dns::ZoneResolver zone;
  spf::Checker spf{zone, spf::CheckerOptions{"mx.example.net"}};
  work::Pool pool{1};
  Services services{config, zone, spf, pool};
  ServiceGate gate;
};

// A tracked connection holding one message use, as the callbacks' Connection does.
struct FakeConnection final : ServiceGate::Tracked {
  ServiceGate::Use message;
  int cuts = 0;
  ServiceGate::Use cut() override {
    ++cuts;
    return std::move(message);
  }
};

TEST_F(GateTest, ClosedGateGivesNoUse) {
  EXPECT_FALSE(gate.enter_callback());
  EXPECT_FALSE(gate.begin_message());
  EXPECT_FALSE(gate.accepting());
}

TEST_F(GateTest, OpenGateGivesTheServices) {
  gate.open(services);
  const ServiceGate::Use use = gate.enter_callback();
  ASSERT_TRUE(use);
  EXPECT_EQ(use.services(), &services);
  EXPECT_TRUE(gate.accepting());
}

// Reload: a message begun before replace() keeps the old snapshot alive and in use; new
// messages get the new one; the old one is freed when its last use ends.
TEST_F(GateTest, ReplaceGivesNewMessagesTheNewSnapshotAndKeepsTheOldAlive) {
  config::Config new_config = config::Config::defaults();
  new_config.authserv_id = "mx2.example.net";
  auto old_snapshot = std::make_shared<const Services>(Services{config, zone, spf, pool});
  auto new_snapshot = std::make_shared<const Services>(Services{new_config, zone, spf, pool});
  const Services* old_address = old_snapshot.get();
  gate.open(std::move(old_snapshot));
  ServiceGate::Use before = gate.begin_message();
  ASSERT_TRUE(before);
  const std::shared_ptr<const Services> replaced = gate.replace(new_snapshot);
  EXPECT_EQ(replaced.get(), old_address);
  const ServiceGate::Use after = gate.begin_message();
  ASSERT_TRUE(after);
  EXPECT_EQ(after.services(), new_snapshot.get());
  EXPECT_EQ(before.services(), old_address);
  EXPECT_EQ(&before.services()->config, &config);
  // Held by `replaced` and by the message begun before the reload.
  EXPECT_EQ(replaced.use_count(), 2);
  before.release();
  EXPECT_EQ(replaced.use_count(), 1);
  EXPECT_EQ(gate.messages_in_flight(), 1u);
}

TEST_F(GateTest, ForgetServicesDropsTheGatesReference) {
  auto snapshot = std::make_shared<const Services>(Services{config, zone, spf, pool});
  gate.open(snapshot);
  EXPECT_EQ(snapshot.use_count(), 2);
  gate.close_to_new();
  ASSERT_TRUE(gate.seal(Clock::now()));
  ASSERT_TRUE(gate.drained(Clock::now()));
  gate.forget_services();
  EXPECT_EQ(snapshot.use_count(), 1);
}

TEST_F(GateTest, DrainingRefusesNewMessagesButNotCallbacks) {
  gate.open(services);
  ServiceGate::Use in_flight = gate.begin_message();
  ASSERT_TRUE(in_flight);
  gate.close_to_new();
  EXPECT_FALSE(gate.accepting());
  EXPECT_FALSE(gate.begin_message());
  EXPECT_TRUE(gate.enter_callback());
  EXPECT_FALSE(gate.wait_for_messages(Clock::now()));
  in_flight.release();
  EXPECT_TRUE(gate.wait_for_messages(Clock::now()));
  EXPECT_EQ(gate.messages_finished_while_draining(), 1u);
}

TEST_F(GateTest, SealWaitsForRunningCallbacksAndThenRefusesAll) {
  gate.open(services);
  ServiceGate::Use running = gate.enter_callback();
  gate.close_to_new();
  EXPECT_FALSE(gate.seal(Clock::now()));  // a callback still runs
  EXPECT_FALSE(gate.enter_callback());    // but no new one enters
  running.release();
  EXPECT_TRUE(gate.seal(Clock::now()));
  EXPECT_TRUE(gate.drained(Clock::now()));
}

TEST_F(GateTest, CutDropsTheMessagesOfTrackedConnections) {
  gate.open(services);
  FakeConnection idle;
  FakeConnection busy;
  busy.message = gate.begin_message();
  gate.track(&idle);
  gate.track(&busy);
  EXPECT_EQ(gate.connections(), 2u);
  gate.close_to_new();
  EXPECT_FALSE(gate.wait_for_messages(Clock::now()));
  ASSERT_TRUE(gate.seal(Clock::now()));
  EXPECT_FALSE(gate.drained(Clock::now()));  // busy still holds its message
  EXPECT_EQ(gate.cut_remaining(), 1u);
  EXPECT_EQ(idle.cuts, 1);
  EXPECT_EQ(busy.cuts, 1);
  EXPECT_TRUE(gate.drained(Clock::now()));
  EXPECT_EQ(gate.messages_finished_while_draining(), 0u);  // cut, not finished
  gate.untrack(&idle);
  gate.untrack(&busy);
}

TEST_F(GateTest, CutBeforeSealCutsNothing) {
  gate.open(services);
  FakeConnection busy;
  busy.message = gate.begin_message();
  gate.track(&busy);
  EXPECT_EQ(gate.cut_remaining(), 0u);
  EXPECT_EQ(busy.cuts, 0);
  gate.untrack(&busy);
}

}  // namespace
}  // namespace authmilter::milter

// The declared handler table: run order from each handler's requirements, not push order.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "authmilter/milter/handler.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::milter {
namespace {

std::vector<std::string> names(const std::vector<const HandlerSpec*>& order) {
  std::vector<std::string> out;
  for (const HandlerSpec* spec : order) out.emplace_back(spec->name);
  return out;
}

bool never(const Services&, const Session&, Trust) { return false; }
std::unique_ptr<Handler> make_nothing() { return std::make_unique<Handler>(); }

HandlerSpec spec(std::string_view name, std::vector<std::string_view> requirements) {
  return {name, std::move(requirements), never, make_nothing};
}

std::size_t position(const std::vector<std::string>& order, const std::string& name) {
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] == name) return i;
  }
  return order.size();
}

TEST(HandlerTable, EveryHandlerRunsAfterWhatItRequires) {
  const std::vector<HandlerSpec>& table = handler_table();
  const std::vector<std::string> order = names(ordered_handlers(table));
  ASSERT_EQ(order.size(), table.size());
  for (const HandlerSpec& handler : table) {
    for (std::string_view required : handler.requirements) {
      EXPECT_LT(position(order, std::string(required)), position(order, std::string(handler.name)))
          << handler.name << " requires " << required;
    }
  }
  // The dependencies the checks rely on are declared, not implied.
  EXPECT_LT(position(order, "spf"), position(order, "sender-id"));
  EXPECT_LT(position(order, "spf"), position(order, "dmarc"));
  EXPECT_LT(position(order, "dkim"), position(order, "dmarc"));
  EXPECT_LT(position(order, "trusted-results"), position(order, "dmarc"));
  EXPECT_LT(position(order, "dkim"), position(order, "own-domain"));
}

TEST(HandlerTable, TableOrderDoesNotDecideWhenRequirementsDo) {
  const std::vector<HandlerSpec> table{spec("dmarc", {"spf", "dkim"}), spec("sender-id", {"spf"}),
                                       spec("dkim", {}), spec("spf", {})};
  EXPECT_EQ(names(ordered_handlers(table)),
            (std::vector<std::string>{"dkim", "spf", "dmarc", "sender-id"}));
}

TEST(HandlerTable, MistakesAreRefused) {
  EXPECT_THROW(ordered_handlers(std::vector<HandlerSpec>{spec("dmarc", {"spff"})}),
               std::logic_error);
  EXPECT_THROW(ordered_handlers(std::vector<HandlerSpec>{spec("a", {}), spec("a", {})}),
               std::logic_error);
  try {
    ordered_handlers(std::vector<HandlerSpec>{spec("x", {}), spec("a", {"b"}), spec("b", {"a"})});
    FAIL() << "a cycle was accepted";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle among: a, b"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace authmilter::milter

#include <algorithm>
#include <stdexcept>

#include "authmilter/milter/arc_handler.h"
#include "authmilter/milter/batv_handler.h"
#include "authmilter/milter/dkim_handler.h"
#include "authmilter/milter/dmarc_handler.h"
#include "authmilter/milter/handler.h"
#include "authmilter/milter/iprev_handler.h"
#include "authmilter/milter/own_domain_handler.h"
#include "authmilter/milter/sender_id_handler.h"
#include "authmilter/milter/spf_handler.h"
#include "authmilter/milter/trusted_results_handler.h"

namespace authmilter::milter {

const std::vector<HandlerSpec>& handler_table() {
  static const std::vector<HandlerSpec> table{
      IprevHandler::spec(),
      SpfHandler::spec(),
      SenderIdHandler::spec(),
      DkimHandler::spec(),
      TrustedResultsHandler::spec(),
      OwnDomainHandler::spec(),
      DmarcHandler::spec(),
      BatvHandler::spec(),
      ArcHandler::spec(),
  };
  return table;
}

std::vector<const HandlerSpec*> ordered_handlers(std::span<const HandlerSpec> table) {
  auto index_of = [&](std::string_view name) {
    const auto it = std::find_if(table.begin(), table.end(),
                                 [&](const HandlerSpec& spec) { return spec.name == name; });
    return static_cast<std::size_t>(it - table.begin());
  };
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (index_of(table[i].name) != i) {
      throw std::logic_error("handler " + std::string(table[i].name) + " declared twice");
    }
    for (std::string_view required : table[i].requirements) {
      if (index_of(required) == table.size()) {
        throw std::logic_error("handler " + std::string(table[i].name) + " requires " +
                               std::string(required) + ", which is not a handler");
      }
    }
  }
  // Kahn's algorithm, always taking the first ready handler in table order (stable).
  std::vector<const HandlerSpec*> order;
  std::vector<bool> placed(table.size(), false);
  while (order.size() < table.size()) {
    bool progress = false;
    for (std::size_t i = 0; i < table.size() && !progress; ++i) {
      if (placed[i]) continue;
      const bool ready =
          std::all_of(table[i].requirements.begin(), table[i].requirements.end(),
                      [&](std::string_view required) { return placed[index_of(required)]; });
      if (ready) {
        placed[i] = true;
        order.push_back(&table[i]);
        progress = true;
      }
    }
    if (!progress) {
      std::string stuck;
      for (std::size_t i = 0; i < table.size(); ++i) {
        if (!placed[i]) stuck += (stuck.empty() ? "" : ", ") + std::string(table[i].name);
      }
      throw std::logic_error("handler requirements form a cycle among: " + stuck);
    }
  }
  return order;
}

}  // namespace authmilter::milter

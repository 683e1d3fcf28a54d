// authmilter::config::detail — the parameter table: one row per key, with the setter that
// parses and validates its value. parameters(), the parser and print_defaults() all read it,
// so a new key is one row here plus its field in Config (and its lines in the sample and
// the man page, which a unit test demands).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/config/config.h"

namespace authmilter::config::detail {

struct Row {
  Parameter parameter;
  // Parses `value` (trimmed, not empty) into `config`. Returns "" on success, otherwise what
  // was expected, e.g. "expected a duration from 100ms to 60s (e.g. 5s, 500ms)".
  std::string (*set)(Config& config, std::string_view value);
};

const std::vector<Row>& rows();
// The row whose name matches case-insensitively, or nullptr.
const Row* find_row(std::string_view name);

}  // namespace authmilter::config::detail

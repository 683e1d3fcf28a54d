#include "authmilter/dkim/dkim.h"

#include <algorithm>

namespace authmilter::dkim {

std::string_view to_token(Result result) {
  switch (result) {
    case Result::kNone:
      return "none";
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kNeutral:
      return "neutral";
    case Result::kPolicy:
      return "policy";
    case Result::kTempError:
      return "temperror";
    case Result::kPermError:
      return "permerror";
  }
  return "permerror";
}

std::vector<std::string> header_b_prefixes(const std::vector<const std::string*>& b_values,
                                           std::size_t min_length, std::size_t max_length) {
  std::vector<std::string> values;
  values.reserve(b_values.size());
  for (const std::string* b : b_values) {
    std::string value;
    if (b != nullptr) {
      for (char c : *b) {
        const bool base64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
        if (!base64) break;
        value.push_back(c);
      }
    }
    values.push_back(std::move(value));
  }
  std::vector<std::string> prefixes;
  prefixes.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::size_t length = min_length;
    for (std::size_t j = 0; j < values.size(); ++j) {
      if (i == j || values[i] == values[j]) continue;
      const auto mismatch =
          std::mismatch(values[i].begin(), values[i].end(), values[j].begin(), values[j].end());
      length = std::max(length, static_cast<std::size_t>(mismatch.first - values[i].begin()) + 1);
    }
    prefixes.push_back(values[i].substr(0, std::min(length, max_length)));
  }
  return prefixes;
}

}  // namespace authmilter::dkim

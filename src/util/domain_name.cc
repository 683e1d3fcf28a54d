#include "authmilter/util/domain_name.h"

namespace authmilter::util {

bool fits_domain_name_limits(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomainNameLength) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? name.size() : dot;
    if (end == start || end - start > kMaxLabelLength) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace authmilter::util

#include "authmilter/milter/forged_auth_results.h"

#include <algorithm>

#include "authmilter/mail/auth_results.h"
#include "authmilter/util/ascii.h"

namespace authmilter::milter {

void ForgedAuthResults::add(const mail::HeaderField& field) {
  if (!util::iequals_ascii(field.name, "Authentication-Results")) return;
  ++seen_;
  const auto id = mail::authserv_id_of(field.value());
  if (id && mail::same_authserv_id(*id, authserv_id_)) forged_.push_back(seen_);
}

std::vector<int> ForgedAuthResults::to_remove() const {
  std::vector<int> out = forged_;
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace authmilter::milter

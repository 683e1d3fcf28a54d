#include "authmilter/dmarc/org_domain.h"

#include <libpsl.h>

#include <optional>
#include <utility>

#include "authmilter/dmarc/domain.h"

namespace authmilter::dmarc {

void OrgDomainFinder::PslFree::operator()(psl_ctx_st* psl) const { psl_free(psl); }

OrgDomainFinder::OrgDomainFinder(std::unique_ptr<psl_ctx_st, PslFree> psl) : psl_(std::move(psl)) {}

OrgDomainFinder::~OrgDomainFinder() = default;

std::unique_ptr<OrgDomainFinder> OrgDomainFinder::load(const std::string& path,
                                                       std::string* error) {
  auto fail = [&](std::string why) -> std::unique_ptr<OrgDomainFinder> {
    if (error != nullptr) *error = std::move(why);
    return nullptr;
  };
  if (path.empty() || path.find('\0') != std::string::npos) {
    return fail("no public suffix list file given");
  }
  std::unique_ptr<psl_ctx_st, PslFree> psl(psl_load_file(path.c_str()));
  if (psl == nullptr) return fail("cannot read public suffix list " + path);
  // An empty or foreign file would leave only the implicit "*" rule, and every co.uk domain
  // would become one organization: refuse it rather than align strangers.
  if (psl_suffix_count(psl.get()) <= 0) {
    return fail("no public suffix rules in " + path);
  }
  return std::unique_ptr<OrgDomainFinder>(new OrgDomainFinder(std::move(psl)));
}

std::string OrgDomainFinder::organizational_domain(std::string_view domain) const {
  const std::optional<std::string> normalized = normalize_domain(domain);
  if (!normalized) return {};
  // psl_registrable_domain() returns a pointer into its argument, or NULL when the name is a
  // public suffix (or nothing registrable); RFC 7489 §3.2 has no answer there, we keep the name.
  const char* registrable = psl_registrable_domain(psl_.get(), normalized->c_str());
  if (registrable == nullptr) return *normalized;
  return std::string(registrable);
}

bool OrgDomainFinder::is_public_suffix(std::string_view domain) const {
  const std::optional<std::string> normalized = normalize_domain(domain);
  if (!normalized) return false;
  return psl_is_public_suffix(psl_.get(), normalized->c_str()) != 0;
}

int OrgDomainFinder::rule_count() const { return psl_suffix_count(psl_.get()); }

}  // namespace authmilter::dmarc

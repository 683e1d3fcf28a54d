#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/domain.h"
#include "authmilter/mail/address_list.h"
#include "authmilter/util/ascii.h"

namespace authmilter::dmarc {
namespace {

FromDomain problem(FromProblem what, std::string error) {
  FromDomain out;
  out.problem = what;
  out.error = std::move(error);
  return out;
}

}  // namespace

std::string_view to_string(FromProblem problem) {
  switch (problem) {
    case FromProblem::kNone:
      return "ok";
    case FromProblem::kNoField:
      return "no-from";
    case FromProblem::kMultipleFields:
      return "multiple-from-fields";
    case FromProblem::kMultipleDomains:
      return "multiple-from-domains";
    case FromProblem::kUnparsable:
      return "unparsable-from";
    case FromProblem::kNoDomain:
      return "no-from-domain";
    case FromProblem::kBadDomain:
      return "bad-from-domain";
  }
  return "unknown";
}

bool is_from_field(std::string_view name) { return util::iequals_ascii(name, "from"); }

FromDomain from_domain(std::span<const std::string_view> from_values) {
  if (from_values.empty()) return problem(FromProblem::kNoField, "no From: field");
  if (from_values.size() > 1) {
    return problem(FromProblem::kMultipleFields,
                   std::to_string(from_values.size()) + " From: fields");
  }
  const mail::AddressList list = mail::parse_address_list(from_values.front());
  if (!list.ok) {
    return problem(FromProblem::kUnparsable, "From: field unparsable: " + list.error);
  }
  if (list.mailboxes.empty()) return problem(FromProblem::kNoDomain, "From: has no address");
  std::optional<std::string> common;
  for (const mail::Mailbox& mailbox : list.mailboxes) {
    if (mailbox.domain.empty()) {
      return problem(FromProblem::kNoDomain, "From: address without a domain");
    }
    if (mailbox.domain.front() == '[') {
      return problem(FromProblem::kNoDomain, "From: address with a domain literal");
    }
    std::optional<std::string> domain = normalize_domain(mailbox.domain);
    if (!domain) return problem(FromProblem::kBadDomain, "From: domain is not a valid domain name");
    if (!common) {
      common = std::move(domain);
    } else if (*common != *domain) {
      // Both are normalized (ASCII LDH), safe to show.
      return problem(FromProblem::kMultipleDomains,
                     "From: addresses in different domains (" + *common + ", " + *domain + ")");
    }
  }
  FromDomain out;
  out.ok = true;
  out.domain = std::move(*common);
  return out;
}

FromDomain from_domain_in(std::span<const mail::HeaderField> headers) {
  std::vector<std::string_view> values;
  for (const mail::HeaderField& field : headers) {
    if (is_from_field(field.name)) values.push_back(field.value());
  }
  return from_domain(values);
}

}  // namespace authmilter::dmarc

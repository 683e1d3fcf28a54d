// Fuzz target: DMARC policy records (dmarc/record.h, RFC 9989 "Formal Definition"), the
// domain normalisation every DMARC comparison goes through (dmarc/domain.h), and the DNS
// Tree Walk's name list and Organizational Domain selection (dmarc/dmarc.h).
//
// Input: one TXT record's text (any bytes); also taken as a domain name.
// Invariants: a record longer than kMaxRecordLength is void; a valid record's pct is 0..100;
//   the canonical text parses back to the same policy (p, sp, np, psd, t, adkim, aspf, pct);
//   a valid record is a DMARC record (is_dmarc_record). normalize_domain() gives at most
//   util::kMaxDomainNameLength octets of lower-case ASCII without a trailing dot, labels of
//   at most util::kMaxLabelLength, and is idempotent. tree_walk_names() of a valid name
//   starts with it, has at most kMaxWalkQueries names, each a suffix of the previous one
//   ending in its last label; select_org_domain() over those names is one of them.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dmarc/dmarc.h"

#include "authmilter/dmarc/domain.h"
#include "authmilter/dmarc/record.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace authmilter;
  const std::string_view input = fuzz::as_text(data, size);

  const bool is_record = dmarc::is_dmarc_record(input);
  const dmarc::Record record = dmarc::parse_record(input);
  if (input.size() > dmarc::kMaxRecordLength) FUZZ_CHECK(!record.valid);
  if (!record.valid) {
    FUZZ_CHECK(!record.error.empty());
  } else {
    FUZZ_CHECK(is_record);
    FUZZ_CHECK(record.pct >= 0 && record.pct <= 100);
    const std::string canonical = record.canonical_text();
    FUZZ_CHECK(!fuzz::has_control(canonical));
    const dmarc::Record again = dmarc::parse_record(canonical);
    FUZZ_CHECK(again.valid);
    FUZZ_CHECK(again.p == record.p);
    FUZZ_CHECK(again.sp.value_or(again.p) == record.sp.value_or(record.p));
    FUZZ_CHECK(again.adkim == record.adkim);
    FUZZ_CHECK(again.aspf == record.aspf);
    FUZZ_CHECK(again.pct == record.pct);
    FUZZ_CHECK(again.np == record.np);
    FUZZ_CHECK(again.psd == record.psd);
    FUZZ_CHECK(again.t == record.t);
  }

  if (const std::optional<std::string> domain = dmarc::normalize_domain(input)) {
    FUZZ_CHECK(!domain->empty());
    FUZZ_CHECK(domain->size() <= util::kMaxDomainNameLength);
    FUZZ_CHECK(domain->back() != '.');
    std::size_t label = 0;
    for (char c : *domain) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u > 0x20 && u < 0x7f && !(c >= 'A' && c <= 'Z'));
      label = c == '.' ? 0 : label + 1;
      FUZZ_CHECK(label <= util::kMaxLabelLength);
    }
    FUZZ_CHECK(dmarc::normalize_domain(*domain) == domain);

    const std::vector<std::string> walk = dmarc::tree_walk_names(*domain);
    FUZZ_CHECK(!walk.empty() && walk.size() <= dmarc::kMaxWalkQueries);
    FUZZ_CHECK(walk.front() == *domain);
    std::vector<dmarc::WalkRecord> found;
    for (std::size_t i = 0; i < walk.size(); ++i) {
      if (i > 0) {
        const std::string& longer = walk[i - 1];
        FUZZ_CHECK(walk[i].size() < longer.size());
        FUZZ_CHECK(longer.compare(longer.size() - walk[i].size() - 1, std::string::npos,
                                  "." + walk[i]) == 0);
      }
      // Records with every psd value at every other name: the selection stays in the walk.
      if (i % 2 == static_cast<std::size_t>(size % 2)) {
        found.push_back({walk[i], static_cast<dmarc::Psd>((i + size) % 3)});
      }
    }
    FUZZ_CHECK(walk.back().find('.') == std::string::npos);
    const std::string org = dmarc::select_org_domain(*domain, found);
    bool in_walk = false;
    for (const std::string& name : walk) in_walk = in_walk || name == org;
    // psd=y picks the name one label below, which may lie between two walk names when the
    // walk skipped labels; it is still a suffix of the domain.
    FUZZ_CHECK(in_walk ||
               (domain->size() >= org.size() &&
                domain->compare(domain->size() - org.size(), std::string::npos, org) == 0));
  }
  return 0;
}

// authmilter::dmarc — DMARC Policy Records (RFC 9989 "DMARC Policy Record Format", "Formal
// Definition", "DMARC Policy Discovery").
//
// What: is_dmarc_record() is the tree walk's filter (a TXT record counts when its first tag is
//   v=DMARC1); parse_record() reads one record into the tags evaluation needs: p, sp, np, psd,
//   t, adkim, aspf, rua, and the obsolete pct (RFC 7489), read only for pct=0.
// Rules (our own parser; libopendmarc 1.4.2 knows none of np, psd, t):
//   - "Syntax errors in the remainder of the record MUST be discarded in favor of default
//     values": a bad adkim/aspf/psd/t/pct/fo/rua/ruf value (or a duplicated tag) is dropped
//     and its default used; the tag name shows in `ignored`.
//   - p, sp and np must be exactly none/quarantine/reject (case-insensitive).
//   - a missing or invalid p, or an invalid sp or np (also a duplicated one): "DMARC Policy
//     Discovery" — with a syntactically valid rua URI the record acts as "v=DMARC1; p=none",
//     otherwise the record is void (no DMARC processing: result none).
//   - t=y/n, psd=y/n/u; pct (RFC 7489, removed by RFC 9989 "Removal of the pct Tag") must be
//     1*3DIGIT, at most 100; only pct=0 has an effect (read as t=y, dmarc.h).
//   - ri and rf (RFC 7489) are unknown tags now and ignored like any other.
//   - "DMARC1" is case-sensitive (RFC 9989 "v" tag and ABNF %s"DMARC1"; RFC 7489 was silent
//     and most implementations took "dmarc1").
//   Lenient where all implementations are: tag names in any case, WSP around '=' and ';',
//   empty tag-specs (";;"), p not second, unknown tags ignored (RFC: MUST).
// Reporting URIs: mailto: (with an addr-spec), http:, https:, with the obsolete optional
//   "!size" suffix; other schemes are not ones we could report to and do not count for the
//   rua rule.
// Limits: records longer than kMaxRecordLength octets are void; 8-bit and control characters
//   make the tag they are in invalid.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authmilter::dmarc {

inline constexpr std::size_t kMaxRecordLength = 4096;

enum class Policy { kNone, kQuarantine, kReject };
std::string_view to_token(Policy policy);  // "none", "quarantine", "reject"

enum class Alignment { kRelaxed, kStrict };
std::string_view to_token(Alignment alignment);  // "r", "s"

// The psd tag (RFC 9989): y = a Public Suffix Domain, n = an Organizational Domain, u = unknown.
enum class Psd { kUnspecified, kYes, kNo };
std::string_view to_token(Psd psd);  // "u", "y", "n"

// RFC 9989 "DNS Tree Walk" steps 2 and 6.
bool is_dmarc_record(std::string_view txt);

struct Record {
  bool valid = false;  // false: void record, no DMARC processing; `error` says why
  std::string error;
  Policy p = Policy::kNone;
  std::optional<Policy> sp;  // absent: p applies to existing subdomains too
  std::optional<Policy> np;  // absent: sp (or p) applies to non-existent subdomains too
  Psd psd = Psd::kUnspecified;
  std::optional<bool> t;  // t=y (true) / t=n (false); absent: n
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  int pct = 100;                     // RFC 7489's pct, 100 when absent or invalid
  bool p_none_for_rua = false;       // p (or sp, np) was invalid, rua valid: acts as p=none
  std::vector<std::string> rua;      // the syntactically valid reporting URIs
  std::vector<std::string> ignored;  // names of known tags dropped for bad or repeated values
  int syntax_errors = 0;             // tag-specs without '=' or with a malformed name

  // "v=DMARC1; p=...; [sp=...; ][np=...; ]adkim=.; aspf=.[; psd=.][; t=y]": what we accepted.
  std::string canonical_text() const;
};

Record parse_record(std::string_view txt);

}  // namespace authmilter::dmarc

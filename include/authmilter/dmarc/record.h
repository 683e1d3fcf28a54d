// authmilter::dmarc — DMARC policy records (RFC 7489 §6.3, §6.4, §6.6.3 steps 2, 4 and 6).
//
// What: is_dmarc_record() is the §6.6.3 step 2/4 filter (a TXT record counts when its first
//   tag is v=DMARC1); parse_record() reads one record into the tags evaluation needs: p, sp,
//   adkim, aspf, pct, and rua (for step 6.1).
// Rules, and why they are ours and not opendmarc_policy_parse_dmarc()'s:
//   - RFC 7489 §6.3 "Syntax errors in the remainder of the record SHOULD be discarded in favor
//     of default values": a bad adkim/aspf/pct/ri/rf/fo/rua/ruf value (or a duplicated tag)
//     is dropped and its default used. libopendmarc refuses the whole record instead, so a
//     typo in "ri" would switch a p=reject domain off.
//   - p and sp must be exactly none/quarantine/reject (case-insensitive, §6.4 ABNF);
//     libopendmarc takes any prefix ("p=r" = reject, even "p=" + nothing of a word).
//   - a missing or invalid p, or an invalid sp (also a duplicated one): §6.6.3 step 6 — with
//     a syntactically valid rua URI the record acts as "v=DMARC1; p=none", otherwise the
//     record is void (no DMARC processing: result none).
//   - pct must be 1*3DIGIT, at most 100; libopendmarc's strtoul() takes "pct=1.5" or "pct=f".
//   - libopendmarc 1.4.2 stores rf=iodef into aspf (a bug), and its per-tag buffers are read
//     past their end for a 512-octet value; it only ever sees the canonical record
//     canonical_text() builds from what we accepted.
//   Lenient where all implementations are: tag names and DMARC1 in any case, WSP around '='
//   and ';', empty tag-specs (";;"), p not second, unknown tags ignored (RFC: MUST).
// Reporting URIs: mailto: (with an addr-spec), http:, https:, with an optional "!size" suffix
//   (§6.2); other schemes are not ones we could report to and do not count for step 6.1.
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

// RFC 7489 §6.6.3 steps 2 and 4.
bool is_dmarc_record(std::string_view txt);

struct Record {
  bool valid = false;  // false: void record, no DMARC processing; `error` says why
  std::string error;
  Policy p = Policy::kNone;
  std::optional<Policy> sp;  // absent: p applies to subdomains too
  Alignment adkim = Alignment::kRelaxed;
  Alignment aspf = Alignment::kRelaxed;
  int pct = 100;
  bool p_none_for_rua = false;       // step 6.1 applied: p (or sp) was invalid, rua valid
  std::vector<std::string> rua;      // the syntactically valid reporting URIs
  std::vector<std::string> ignored;  // names of known tags dropped for bad or repeated values
  int syntax_errors = 0;             // tag-specs without '=' or with a malformed name

  // "v=DMARC1; p=...; [sp=...; ]adkim=.; aspf=.; pct=N": what we hand to libopendmarc.
  std::string canonical_text() const;
};

Record parse_record(std::string_view txt);

}  // namespace authmilter::dmarc

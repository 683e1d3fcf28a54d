// authmilter::dmarc::OrgDomainFinder — the Organizational Domain (RFC 7489 §3.2) from the
// Public Suffix List, on libpsl.
//
// What: loads the PSL once (Debian package publicsuffix,
//   /usr/share/publicsuffix/public_suffix_list.dat by default, config key PublicSuffixList)
//   and answers organizational_domain(): the public suffix that matches the most labels, plus
//   one label. libpsl implements the whole PSL algorithm (https://publicsuffix.org/list/):
//   multi-label suffixes (co.uk), wildcards (*.ck), exceptions (!www.ck), ICANN and PRIVATE
//   sections alike (as RFC 7489 §3.2 and OpenDMARC/Mail::DMARC do), and the implicit "*" rule
//   for TLDs the list does not name, so sub.example.zz belongs to example.zz.
// Why not libopendmarc's list: opendmarc_get_tld() never applies the "*" rule — under a TLD
//   the list does not name it returns nothing, and opendmarc_policy_query_dmarc() then never
//   asks the organizational domain's record. It also keeps its list in a process-global hash.
// A public suffix itself (com, co.uk, an unlisted zz): the RFC 7489 §3.2 algorithm has no
//   label x+1 to add; we take the name itself, so it aligns only with itself and its record is
//   looked up only once (RFC 7489 §6.6.1: public suffixes are not exempt from DMARC).
// Input: any domain; it goes through normalize_domain() first (A-labels, lower case); one
//   that is not a valid domain name gives "".
// Thread-safety: immutable after load(); libpsl lookups on a loaded context only read it, so
//   one finder serves every milter thread. Security: read the file while privileged, before
//   dropping privileges (STYLE); the file is trusted configuration, lookups are not.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct psl_ctx_st;

namespace authmilter::dmarc {

inline constexpr const char* kDefaultPublicSuffixList =
    "/usr/share/publicsuffix/public_suffix_list.dat";

class OrgDomainFinder {
 public:
  // nullptr when the file cannot be read or holds no rule (`error` says why, if given).
  static std::unique_ptr<OrgDomainFinder> load(const std::string& path,
                                               std::string* error = nullptr);
  ~OrgDomainFinder();
  OrgDomainFinder(const OrgDomainFinder&) = delete;
  OrgDomainFinder& operator=(const OrgDomainFinder&) = delete;

  std::string organizational_domain(std::string_view domain) const;
  // True when `domain` is itself a public suffix (including the implicit "*" rule).
  bool is_public_suffix(std::string_view domain) const;
  // Number of rules loaded (for the startup log line).
  int rule_count() const;

 private:
  struct PslFree {
    void operator()(psl_ctx_st* psl) const;
  };
  explicit OrgDomainFinder(std::unique_ptr<psl_ctx_st, PslFree> psl);

  std::unique_ptr<psl_ctx_st, PslFree> psl_;
};

}  // namespace authmilter::dmarc

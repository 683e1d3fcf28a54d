// What the DMARC unit tests share: the pinned public suffix list (the copy shipped with the
// Mail::DMARC conformance data, so results do not move with the system's publicsuffix
// package), a distant deadline, and SPF / DKIM results to feed the evaluator.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "authmilter/dmarc/dmarc.h"

namespace authmilter::dmarc::test_inputs {

inline const std::string kPinnedPsl =
    std::string(AUTHMILTER_TEST_DATA_DIR) + "/dmarc-mail-dmarc/public_suffix_list.v1.20250805";

inline const OrgDomainFinder& pinned_psl() {
  static const std::unique_ptr<OrgDomainFinder> finder = [] {
    std::string error;
    auto f = OrgDomainFinder::load(kPinnedPsl, &error);
    if (f == nullptr) ADD_FAILURE() << error;
    return f;
  }();
  return *finder;
}

inline dns::Deadline later() { return dns::Clock::now() + std::chrono::seconds(30); }

inline spf::CheckResult spf_result(spf::Result result, const std::string& domain,
                                   spf::Identity identity = spf::Identity::kMailFrom) {
  spf::CheckResult r;
  r.result = result;
  r.identity = identity;
  r.domain = domain;
  r.checked = identity == spf::Identity::kHelo ? domain : "user@" + domain;
  return r;
}

inline dkim::SignatureResult signature(dkim::Result result, const std::string& domain) {
  dkim::SignatureResult s;
  s.result = result;
  s.domain = domain;
  s.selector = "s1";
  return s;
}

}  // namespace authmilter::dmarc::test_inputs

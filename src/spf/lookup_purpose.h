// authmilter::spf lookup purpose — what a libspf2 DNS question is for, from its call order.
//
// What: libspf2's `lookup` callback gets a name and a type, not the term that asks. The limits
//   of RFC 7208 §4.6.4 count terms, so the purpose is told apart by what libspf2 asks next:
//   - TXT (or SPF) through `lookup` is the exp= text: policy records come through get_spf;
//   - an MX answer, or a ptr-mechanism PTR answer, names the A/AAAA lookups that follow, one
//     by one in answer order (stopping early only on a match): those are part of that term;
//   - a PTR asked with should_cache=FALSE is SPF_dns_get_client_dom(), the %{p} macro, with
//     its A/AAAA follow-ups: not a term;
//   - anything else is the query of an a / mx / ptr / exists term.
// Internal to the spf module; relies on libspf2 1.2.10's order of questions (spf_interpret.c).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/spf/record_lint.h"
#include "lookup_context.h"

namespace authmilter::spf {

enum class Purpose {
  kTerm,         // the query of an a / mx / ptr / exists term: counted, may be void
  kFollow,       // A/AAAA of a name an MX or ptr-mechanism PTR answer gave
  kClientName,   // %{p}: PTR asked with should_cache=FALSE and its A/AAAA follow-ups
  kExplanation,  // TXT of the exp= target
};

// The purpose of a `lookup` for `domain`/`type`; advances or resets ctx.follow.
Purpose classify(LookupContext& ctx, std::string_view domain, dns::RrType type, bool should_cache);

// Forgets the names a previous MX/PTR answer gave (get_spf starts a new record).
void reset_follow(LookupContext& ctx);

// After an MX or PTR answer for a lookup of `purpose`: its `names` are what libspf2 asks next.
// `zero_cidr` is the marker of an "mx/0" term (record_lint.h), applied to those lookups.
void expect_follow_ups(LookupContext& ctx, std::vector<std::string> names, dns::RrType type,
                       Purpose purpose, ZeroCidr zero_cidr);

}  // namespace authmilter::spf

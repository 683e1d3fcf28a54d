#include "lookup_purpose.h"

#include <utility>

#include "authmilter/util/ascii.h"

namespace authmilter::spf {

void reset_follow(LookupContext& ctx) { ctx.follow = LookupContext::Follow{}; }

Purpose classify(LookupContext& ctx, std::string_view domain, dns::RrType type, bool should_cache) {
  switch (type) {
    case dns::RrType::kTxt:
    case dns::RrType::kSpf:
      return Purpose::kExplanation;  // policy records come through get_spf, not here
    case dns::RrType::kMx:
      reset_follow(ctx);
      return Purpose::kTerm;
    case dns::RrType::kPtr:
      reset_follow(ctx);
      // SPF_dns_get_client_dom() (the %{p} macro) asks with should_cache=FALSE, the ptr
      // mechanism with TRUE.
      return should_cache ? Purpose::kTerm : Purpose::kClientName;
    default:
      break;
  }
  // A/AAAA: libspf2 looks up the names of an MX or PTR answer one by one, in answer order,
  // right after that answer, stopping early only on a match.
  LookupContext::Follow& follow = ctx.follow;
  if (follow.next < follow.names.size() && util::iequals_ascii(domain, follow.names[follow.next])) {
    ++follow.next;
    return follow.is_client_name ? Purpose::kClientName : Purpose::kFollow;
  }
  reset_follow(ctx);
  return Purpose::kTerm;
}

void expect_follow_ups(LookupContext& ctx, std::vector<std::string> names, dns::RrType type,
                       Purpose purpose, ZeroCidr zero_cidr) {
  LookupContext::Follow& follow = ctx.follow;
  follow.names = std::move(names);
  follow.next = 0;
  follow.is_client_name = purpose == Purpose::kClientName;
  follow.is_ptr = type == dns::RrType::kPtr && purpose == Purpose::kTerm;
  follow.zero_cidr = type == dns::RrType::kMx ? zero_cidr : ZeroCidr{};
}

}  // namespace authmilter::spf

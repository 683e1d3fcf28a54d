#include "lookup_context.h"

#include <optional>

#include "authmilter/spf/spf.h"
#include "authmilter/spf/syntax.h"
#include "authmilter/util/domain_name.h"

namespace authmilter::spf {

bool is_permanent(Stop stop) {
  return stop == Stop::kTermLimit || stop == Stop::kVoidLimit || stop == Stop::kMxLimit;
}

std::string printable(std::string_view name) {
  return sanitize_text(name, util::kMaxDomainNameLength);
}

std::string describe(std::string_view name, dns::RrType type) {
  return printable(name) + "/" + std::string(dns::to_string(type));
}

void note_stop(LookupContext& ctx, Stop stop, std::string detail) {
  if (ctx.stop != Stop::kNone) return;
  ctx.stop = stop;
  ctx.stop_detail = std::move(detail);
}

void note_problem(LookupContext& ctx, std::string problem) {
  if (ctx.problem.empty()) ctx.problem = std::move(problem);
}

void note_temporary(LookupContext& ctx, std::string_view name, dns::RrType type,
                    const dns::Answer& answer) {
  if (!ctx.temp_detail.empty()) return;
  ctx.temp_detail = dns::failure_text(answer, printable(name), type);
}

bool may_query(LookupContext& ctx, bool evaluation) {
  if (ctx.cancel != nullptr && ctx.cancel->cancelled()) {
    if (evaluation) note_stop(ctx, Stop::kCancelled, "check cancelled");
    return false;
  }
  if (dns::Clock::now() >= ctx.deadline) {
    if (evaluation) note_stop(ctx, Stop::kDeadline, "message deadline reached");
    return false;
  }
  return true;
}

dns::Answer query(LookupContext& ctx, std::string_view name, dns::RrType type) {
  const std::optional<std::string> qname = query_name(name);
  if (!qname) return dns::Answer::failure(dns::Status::kNxDomain, "not a valid DNS name");
  ++ctx.lookups;
  return ctx.resolver.lookup(*qname, type, ctx.deadline, ctx.cancel);
}

bool is_void(const dns::Answer& answer) {
  return answer.status == dns::Status::kNxDomain || answer.status == dns::Status::kNoData ||
         (answer.status == dns::Status::kNoError && answer.records.empty());
}

bool count_term(LookupContext& ctx, const std::string& where) {
  if (ctx.terms >= kMaxDnsTerms) {
    note_stop(
        ctx, Stop::kTermLimit,
        "more than " + std::to_string(kMaxDnsTerms) + " DNS-querying terms (at " + where + ")");
    return false;
  }
  ++ctx.terms;
  return true;
}

bool count_void(LookupContext& ctx, std::string_view name, dns::RrType type) {
  if (++ctx.void_lookups <= kMaxVoidLookups) return true;
  note_stop(ctx, Stop::kVoidLimit,
            "more than " + std::to_string(kMaxVoidLookups) + " void lookups (the last " +
                describe(name, type) + ")");
  return false;
}

}  // namespace authmilter::spf

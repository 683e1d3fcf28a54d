// authmilter::policy — Authentication-Results resinfo (RFC 8601 §2.2) for each check's result,
// next to the results it renders; mail::format_authentication_results() writes the header.
//
// One renderer per method, in the order the header lists them:
//   iprev      RFC 8601 §2.7.3 / §3: iprev=<result> (PTR name, or why not) policy.iprev=<IP>.
//   spf        RFC 8601 §2.7.2: spf=<result> smtp.mailfrom=<address> (or smtp.helo=<name> for
//              the HELO check: the HELO name itself, not the postmaster@ the check used); the
//              trusted-relay note (which hop was judged) leads the comment.
//   sender-id  RFC 8601 §2.7.2 / IANA: sender-id=<result> header.<pra field>=<pra>.
//   dkim       RFC 8601 §2.7.1: one resinfo per signature (header.d, header.i, header.s,
//              header.a, header.b), dkim=none when the check ran and found no signature; a key
//              vouched for by a validating resolver (AD bit) is noted (DESIGN §3).
//   dmarc      RFC 9989 (IANA: header.from, policy.dmarc): dmarc=<result> (p=.. [sp=..]
//              [np=..] t=y|n; policy domain D) header.from=<domain>, and
//              policy.dmarc=<disposition applied, after t> on a fail with a policy.
//   arc        RFC 8617 §10: arc=<none|pass|fail|temperror> (sealers: d= of each seal, oldest
//              first) smtp.remote-ip=<judged client> header.oldest-pass=<n> (when > 0); the
//              reason of a fail or temperror as the comment.
//              An ARCTrustedSealers override shows on the dmarc entry: dmarc=fail stays,
//              policy.dmarc=none and the comment "arc override by <sealer>".
//   own-domain (issue #6) no RFC 8601 method: a comment on the last resinfo, so a reader sees
//              why the message was acted on.
// Received-SPF (RFC 7208 §9.1): the envelope's SPF result, for AddReceivedSPF.
// A new check adds one renderer here and one row in kRenderers (auth_results_render.cc).
// Security: every string comes from the message or DNS; the A-R writer sanitizes and quotes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/mail/auth_results.h"
#include "authmilter/policy/results.h"

namespace authmilter::policy {

// What the renderers need besides Results: the judged client's HELO and, behind a trusted
// relay, how the judged client was found.
struct RenderContext {
  std::string_view helo;
  std::string_view relay_note;
  std::string_view client_ip;  // the judged client (arc's smtp.remote-ip)
};

mail::MethodResult render_iprev(const iprev::IprevResult& iprev);
mail::MethodResult render_spf(const spf::CheckResult& spf, const RenderContext& context);
mail::MethodResult render_sender_id(const SenderIdResult& sender_id);
void render_dkim(const Results& results, std::vector<mail::MethodResult>& methods);
mail::MethodResult render_dmarc(const dmarc::DmarcResult& dmarc);
mail::MethodResult render_arc(const dkim::ArcChainResult& arc, const RenderContext& context);
void render_own_domain(const OwnDomainResult& own, std::vector<mail::MethodResult>& methods);

// Every check's resinfo, in header order.
std::vector<mail::MethodResult> render_methods(const Results& results,
                                               const RenderContext& context);

// The Received-SPF value for the envelope's SPF result; empty when SPF did not run.
std::string render_received_spf(const Results& results, std::string_view client_ip,
                                std::string_view helo, std::string_view mail_from,
                                std::string_view authserv_id);

}  // namespace authmilter::policy

#include "authmilter/policy/auth_results_render.h"

#include <algorithm>

namespace authmilter::policy {
namespace {

void add_iprev(const Results& results, const RenderContext&,
               std::vector<mail::MethodResult>& methods) {
  if (results.iprev) methods.push_back(render_iprev(*results.iprev));
}

void add_spf(const Results& results, const RenderContext& context,
             std::vector<mail::MethodResult>& methods) {
  if (results.spf_mail_from) methods.push_back(render_spf(*results.spf_mail_from, context));
  if (results.spf_helo) methods.push_back(render_spf(*results.spf_helo, context));
}

void add_sender_id(const Results& results, const RenderContext&,
                   std::vector<mail::MethodResult>& methods) {
  if (results.sender_id) methods.push_back(render_sender_id(*results.sender_id));
}

void add_dkim(const Results& results, const RenderContext&,
              std::vector<mail::MethodResult>& methods) {
  render_dkim(results, methods);
}

void add_arc(const Results& results, const RenderContext& context,
             std::vector<mail::MethodResult>& methods) {
  if (results.arc) methods.push_back(render_arc(*results.arc, context));
}

void add_dmarc(const Results& results, const RenderContext&,
               std::vector<mail::MethodResult>& methods) {
  if (!results.dmarc) return;
  mail::MethodResult method = render_dmarc(*results.dmarc);
  if (const auto& override = results.dmarc_override) {
    // ARCTrustedSealers: the fail stays, the disposition applied is none.
    bool replaced = false;
    for (auto& [property, value] : method.properties) {
      if (property == "policy.dmarc") {
        value = "none";
        replaced = true;
      }
    }
    if (!replaced) method.properties.emplace_back("policy.dmarc", "none");
    method.comment =
        method.comment.empty() ? override->comment : method.comment + "; " + override->comment;
  }
  methods.push_back(std::move(method));
}

void add_own_domain(const Results& results, const RenderContext&,
                    std::vector<mail::MethodResult>& methods) {
  if (results.own_domain) render_own_domain(*results.own_domain, methods);
}

using Renderer = void (*)(const Results&, const RenderContext&, std::vector<mail::MethodResult>&);

// Header order. own-domain is last: it comments on the entry before it.
// iprev first: it judges the connection, before anything the client said.
constexpr Renderer kRenderers[] = {add_iprev, add_spf,   add_sender_id, add_dkim,
                                   add_arc,   add_dmarc, add_own_domain};

}  // namespace

mail::MethodResult render_iprev(const iprev::IprevResult& ip) {
  mail::MethodResult method;
  method.method = "iprev";
  method.result = std::string(iprev::to_token(ip.result));
  method.comment = ip.comment;
  if (!ip.ip.empty()) method.properties.emplace_back("policy.iprev", ip.ip);
  return method;
}

mail::MethodResult render_spf(const spf::CheckResult& spf, const RenderContext& context) {
  mail::MethodResult method;
  method.method = "spf";
  method.result = std::string(spf::to_token(spf.result));
  const std::string note(context.relay_note);
  method.comment = note.empty()          ? spf.comment
                   : spf.comment.empty() ? note
                                         : note + "; " + spf.comment;
  if (spf.identity == spf::Identity::kHelo) {
    // RFC 8601 §2.7.2: smtp.helo is the HELO name itself (the SPF check used postmaster@).
    method.properties.emplace_back("smtp.helo", std::string(context.helo));
  } else {
    method.properties.emplace_back("smtp.mailfrom", spf.checked);
  }
  return method;
}

mail::MethodResult render_sender_id(const SenderIdResult& sid) {
  mail::MethodResult method;
  method.method = "sender-id";
  method.result = std::string(spf::to_token(sid.check.result));
  method.comment = sid.check.comment;
  if (sid.source) {
    method.properties.emplace_back(std::string(mail::to_ptype_property(*sid.source)), sid.pra);
  }
  return method;
}

void render_dkim(const Results& results, std::vector<mail::MethodResult>& methods) {
  if (!results.dkim_checked) return;
  if (results.dkim.empty()) {
    methods.push_back({"dkim", "none", "", "", {}});
    return;
  }
  for (const dkim::SignatureResult& sig : results.dkim) {
    mail::MethodResult method;
    method.method = "dkim";
    method.result = std::string(dkim::to_token(sig.result));
    method.comment = sig.comment;
    if (sig.dnssec)
      method.comment += method.comment.empty() ? "key DNSSEC-signed" : "; key DNSSEC-signed";
    method.properties.emplace_back("header.d", sig.domain);
    if (!sig.identity.empty()) method.properties.emplace_back("header.i", sig.identity);
    method.properties.emplace_back("header.s", sig.selector);
    if (!sig.algorithm.empty()) method.properties.emplace_back("header.a", sig.algorithm);
    if (!sig.b_prefix.empty()) method.properties.emplace_back("header.b", sig.b_prefix);
    methods.push_back(std::move(method));
  }
}

mail::MethodResult render_dmarc(const dmarc::DmarcResult& dm) {
  mail::MethodResult method;
  method.method = "dmarc";
  method.result = std::string(dmarc::to_token(dm.result));
  if (!dm.policy_domain.empty()) {
    // The tags that decided (RFC 9989: p, sp, np, t) and where the record was found.
    std::string& c = method.comment;
    c = "p=" + std::string(dmarc::to_token(dm.p));
    if (dm.sp) c += " sp=" + std::string(dmarc::to_token(*dm.sp));
    if (dm.np) c += " np=" + std::string(dmarc::to_token(*dm.np));
    c += dm.testing ? " t=y" : " t=n";
    c += "; policy domain " + dm.policy_domain;
  } else if (!dm.comment.empty()) {
    method.comment = dm.comment;
  }
  if (!dm.from_domain.empty()) method.properties.emplace_back("header.from", dm.from_domain);
  if (!dm.policy_domain.empty() && dm.result == dmarc::Result::kFail) {
    // RFC 9989 IANA: policy.dmarc is the policy applied, after t.
    method.properties.emplace_back("policy.dmarc", std::string(dmarc::to_token(dm.disposition)));
  }
  return method;
}

mail::MethodResult render_arc(const dkim::ArcChainResult& arc, const RenderContext& context) {
  mail::MethodResult method;
  method.method = "arc";
  method.result = std::string(dkim::to_token(arc.result));
  if (arc.result == dkim::ArcResult::kNone) return method;
  if (arc.result == dkim::ArcResult::kPass) {
    std::vector<std::string_view> seen;
    std::string sealers;
    for (const auto& set : arc.sets) {
      if (std::find(seen.begin(), seen.end(), set.sealer) != seen.end()) continue;
      seen.push_back(set.sealer);
      sealers += (sealers.empty() ? "" : ", ") + set.sealer;
    }
    if (!sealers.empty()) method.comment = "sealers: " + sealers;
  } else {
    method.comment = arc.comment;
  }
  if (!context.client_ip.empty()) {
    method.properties.emplace_back("smtp.remote-ip", std::string(context.client_ip));
  }
  if (arc.result == dkim::ArcResult::kPass && arc.oldest_pass > 0) {
    method.properties.emplace_back("header.oldest-pass", std::to_string(arc.oldest_pass));
  }
  return method;
}

void render_own_domain(const OwnDomainResult& own, std::vector<mail::MethodResult>& methods) {
  if (!own.spoof || methods.empty()) return;
  std::string& comment = methods.back().comment;
  comment = (comment.empty() ? "" : comment + "; ") + own.field + " claims our domain " +
            own.domain + " but the sender is not approved";
}

std::vector<mail::MethodResult> render_methods(const Results& results,
                                               const RenderContext& context) {
  std::vector<mail::MethodResult> methods;
  for (Renderer render : kRenderers) render(results, context, methods);
  return methods;
}

std::string render_received_spf(const Results& results, std::string_view client_ip,
                                std::string_view helo, std::string_view mail_from,
                                std::string_view authserv_id) {
  const spf::CheckResult* spf = results.spf_envelope();
  if (spf == nullptr) return {};
  const spf::Request request{std::string(client_ip), std::string(helo), std::string(mail_from),
                             spf->identity};
  return spf::received_spf_value(*spf, request, authserv_id);
}

}  // namespace authmilter::policy

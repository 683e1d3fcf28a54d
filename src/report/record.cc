#include "authmilter/report/record.h"

#include <algorithm>

#include "authmilter/mail/address.h"
#include "authmilter/util/utf8.h"

namespace authmilter::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// DMARCReject/DMARCQuarantine actions as RFC 9990 dispositions: a held or marked message
// counts as quarantined; a deferred one was not (yet) rejected.
std::string_view action_disposition(config::Action action) {
  switch (action) {
    case config::Action::kReject:
      return "reject";
    case config::Action::kQuarantine:
    case config::Action::kMark:
      return "quarantine";
    case config::Action::kAccept:
    case config::Action::kTempfail:
      return "none";
  }
  return "none";
}

}  // namespace

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxFieldBytes));
  for (std::size_t pos = 0; pos < text.size();) {
    const auto c = static_cast<unsigned char>(text[pos]);
    std::string_view piece;
    std::size_t step = 1;
    if (c >= 0x20 && c < 0x7f) {
      piece = text.substr(pos, 1);
    } else if (c >= 0x80) {
      const std::size_t n = util::utf8_text_length(text, pos);
      if (n > 0) {
        piece = text.substr(pos, n);
        step = n;
      } else {
        piece = kReplacement;
      }
    } else {
      piece = kReplacement;  // C0 control or DEL
    }
    if (out.size() + piece.size() > kMaxFieldBytes) break;
    out.append(piece);
    pos += step;
  }
  return out;
}

std::string applied_disposition(const dmarc::DmarcResult& dmarc, const config::Config& config,
                                std::vector<OverrideReason>* reasons) {
  if (dmarc.result == dmarc::Result::kPass) return "pass";
  if (dmarc.result != dmarc::Result::kFail) return "none";
  std::string applied = "none";
  if (dmarc.disposition == dmarc::Policy::kReject) {
    applied = action_disposition(config.dmarc_reject);
  } else if (dmarc.disposition == dmarc::Policy::kQuarantine) {
    applied = action_disposition(config.dmarc_quarantine);
  }
  if (reasons != nullptr) {
    if (dmarc.testing && dmarc.disposition != dmarc.requested) {
      // RFC 9989 t=y: one level below what the domain asks for.
      reasons->push_back({"policy_test_mode", dmarc.testing_from_pct ? "pct=0" : "t=y"});
    }
    if (applied != dmarc::to_token(dmarc.disposition)) {
      const bool reject = dmarc.disposition == dmarc::Policy::kReject;
      const config::Action action = reject ? config.dmarc_reject : config.dmarc_quarantine;
      reasons->push_back(
          {"local_policy", std::string(reject ? "DMARCReject " : "DMARCQuarantine ") +
                               std::string(config::to_string(action))});
    }
  }
  return applied;
}

std::optional<Record> make_record(const policy::Results& results, const Envelope& envelope,
                                  const config::Config& config) {
  if (!results.dmarc) return std::nullopt;
  const dmarc::DmarcResult& dmarc = *results.dmarc;
  if (dmarc.policy_domain.empty() || dmarc.from_domain.empty()) return std::nullopt;
  Record record;
  record.time = envelope.time;
  record.source_ip = sanitize(envelope.client_ip);
  record.header_from = sanitize(dmarc.from_domain);
  record.envelope_from = sanitize(mail::domain_of(envelope.mail_from));
  record.envelope_to = sanitize(mail::domain_of(envelope.first_rcpt));

  record.policy_domain = sanitize(dmarc.policy_domain);
  record.p = dmarc::to_token(dmarc.p);
  if (dmarc.sp) record.sp = dmarc::to_token(*dmarc.sp);
  if (dmarc.np) record.np = dmarc::to_token(*dmarc.np);
  record.adkim = dmarc::to_token(dmarc.adkim);
  record.aspf = dmarc::to_token(dmarc.aspf);
  record.testing = dmarc.testing ? "y" : "n";
  record.discovery_method = dmarc::to_token(dmarc.discovery);
  record.psd = dmarc::to_token(dmarc.psd);
  for (const std::string& uri : dmarc.rua) {
    if (record.rua.size() == kMaxRuaUris) break;
    record.rua.push_back(sanitize(uri));
  }

  record.disposition = applied_disposition(dmarc, config, &record.reasons);
  if (const auto& override = results.dmarc_override) {
    // ARCTrustedSealers (issue 13): a trusted forwarder's ARC results overrode the policy.
    record.disposition = "none";
    std::erase_if(record.reasons, [](const OverrideReason& r) { return r.type == "local_policy"; });
    record.reasons.push_back({override->type, override->comment});
  }
  record.dmarc_dkim = dmarc.dkim_aligned ? "pass" : "fail";
  record.dmarc_spf = dmarc.spf_aligned ? "pass" : "fail";
  for (auto& reason : record.reasons) reason.comment = sanitize(reason.comment);

  for (const dkim::SignatureResult& signature : results.dkim) {
    if (record.dkim.size() == kMaxDkimResults) break;
    record.dkim.push_back({sanitize(signature.domain), sanitize(signature.selector),
                           std::string(dkim::to_token(signature.result))});
  }
  if (results.spf_mail_from) {
    record.spf = SpfAuth{sanitize(results.spf_mail_from->domain), "mfrom",
                         std::string(spf::to_token(results.spf_mail_from->result))};
  } else if (results.spf_helo) {
    record.spf = SpfAuth{sanitize(results.spf_helo->domain), "helo",
                         std::string(spf::to_token(results.spf_helo->result))};
  }
  return record;
}

}  // namespace authmilter::report

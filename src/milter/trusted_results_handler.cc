#include "authmilter/milter/trusted_results_handler.h"

#include "authmilter/mail/address.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/header.h"
#include "authmilter/util/ascii.h"

namespace authmilter::milter {
namespace {

std::string property(const mail::ParsedResInfo& info, std::string_view name) {
  for (const auto& [key, value] : info.properties) {
    if (key == name) return value;
  }
  return {};
}

// Token -> typed result through each engine's own to_token, so the two never disagree.
template <typename Result>
std::optional<Result> from_token(std::string_view token, std::initializer_list<Result> all) {
  for (Result r : all) {
    if (to_token(r) == token) return r;
  }
  return std::nullopt;
}

}  // namespace

HandlerSpec TrustedResultsHandler::spec() {
  return {"trusted-results",
          {"spf", "dkim"},
          [](const Services& services, const Session& session, Trust trust) {
            return trust == Trust::kUntrusted && session.trusted_relay &&
                   !services.config.trusted_authserv_ids.empty();
          },
          []() -> std::unique_ptr<Handler> { return std::make_unique<TrustedResultsHandler>(); }};
}

void TrustedResultsHandler::on_header(Transaction& txn, const mail::HeaderField& field) {
  if (trusted_ || !txn.session().trusted_relay ||
      !util::iequals_ascii(field.name, "Authentication-Results")) {
    return;
  }
  const auto& ids = txn.services().config.trusted_authserv_ids;
  auto parsed = mail::parse_authentication_results(field.value());
  // RFC 8601 defines version 1 only: a later version's results may mean something else.
  if (!parsed || (!parsed->version.empty() && parsed->version != "1")) return;
  for (const std::string& id : ids) {
    if (mail::same_authserv_id(parsed->authserv_id, id)) {
      trusted_ = std::move(parsed);  // the topmost one: the last trusted host to judge
      return;
    }
  }
}

void TrustedResultsHandler::on_eom(Transaction& txn) {
  if (!trusted_) return;
  policy::Results& results = txn.results();
  const std::string note = "reported by " + trusted_->authserv_id;
  std::vector<dkim::SignatureResult> dkim;
  for (const mail::ParsedResInfo& info : trusted_->results) {
    if (info.method == "spf") {
      using spf::Result;
      const auto result =
          from_token(info.result, {Result::kNone, Result::kNeutral, Result::kPass, Result::kFail,
                                   Result::kSoftFail, Result::kTempError, Result::kPermError});
      if (!result) continue;
      spf::CheckResult spf;
      spf.result = *result;
      spf.comment = note;
      if (std::string from = property(info, "smtp.mailfrom"); !from.empty()) {
        spf.identity = spf::Identity::kMailFrom;
        spf.checked = from;
        spf.domain = mail::domain_of(from);
        results.spf_mail_from = spf;
      } else if (std::string helo = property(info, "smtp.helo"); !helo.empty()) {
        spf.identity = spf::Identity::kHelo;
        spf.checked = helo;
        spf.domain = helo;
        results.spf_helo = spf;
      }
    } else if (info.method == "dkim") {
      using dkim::Result;
      const auto result =
          from_token(info.result, {Result::kNone, Result::kPass, Result::kFail, Result::kNeutral,
                                   Result::kPolicy, Result::kTempError, Result::kPermError});
      if (!result || *result == Result::kNone) continue;
      dkim::SignatureResult sig;
      sig.result = *result;
      sig.domain = property(info, "header.d");
      sig.identity = property(info, "header.i");
      sig.selector = property(info, "header.s");
      sig.algorithm = property(info, "header.a");
      sig.b_prefix = property(info, "header.b");
      sig.comment = note;
      if (sig.domain.empty() && !sig.identity.empty()) sig.domain = mail::domain_of(sig.identity);
      dkim.push_back(std::move(sig));
    }
  }
  if (!dkim.empty()) results.dkim = std::move(dkim);
}

}  // namespace authmilter::milter

#include "transaction_env.h"

#include <algorithm>
#include <stdexcept>

#include "authmilter/cli/cli.h"
#include "authmilter/daemon/service_set.h"
#include "bench_support.h"

namespace authmilter::bench {

TransactionEnv::TransactionEnv(Signatures signatures, std::size_t body_bytes)
    : config_(config::Config::defaults()) {
  config_.authserv_id = "mx.example.net";
  config_.public_suffix_list = public_suffix_list_path();
  load_bench_zone(zone_);
  services_ =
      std::make_unique<daemon::ServiceSet>(config_, zone_, daemon::ServiceFiles::load(config_));
  session_.client_ip = std::string(kClientIp);
  session_.client_name = std::string(kHelo);
  session_.helo = std::string(kHelo);
  session_.internal = config_.internal_hosts.contains(session_.client_ip);

  const Message plain = typical_message(body_bytes);
  std::vector<std::string> fields;
  if (signatures != Signatures::kNone) {
    fields.push_back(dkim_sign(plain, "rsa-sha256", kDomain, kRsaSelector, rsa2048_key().get()));
  }
  if (signatures == Signatures::kRsa2048AndEd25519) {
    fields.push_back(dkim_sign(plain, "ed25519-sha256", kDomain, kEdSelector, ed25519_key().get()));
  }
  signatures_ = fields.size();
  const std::string text = with_signatures(plain, fields).text();
  message_bytes_ = text.size();
  cli::ParsedMessage parsed = cli::parse_message(text);
  headers_ = std::move(parsed.headers);
  body_ = std::move(parsed.body);
}

milter::Outcome TransactionEnv::run() {
  milter::Transaction txn(services_->services(), session_, "alice@example.org", false);
  txn.set_queue_id("4ABCD1234");
  txn.add_recipient("bob@example.net");
  for (const auto& [name, value] : headers_) txn.add_header(name, value, true);
  txn.end_of_headers();
  constexpr std::size_t kChunk = 65535;  // libmilter's MILTER_CHUNK_SIZE
  for (std::size_t pos = 0; pos < body_.size(); pos += kChunk) {
    txn.add_body(std::string_view(body_).substr(pos, kChunk));
  }
  return txn.finish();
}

std::string TransactionEnv::check(const milter::Outcome& o) const {
  if (!o.judged) return "not judged";
  if (!o.results.spf_mail_from || o.results.spf_mail_from->result != spf::Result::kPass) {
    return "SPF not pass";
  }
  if (o.results.dkim.size() != signatures_) return "wrong number of DKIM results";
  for (const auto& sig : o.results.dkim) {
    if (sig.result != dkim::Result::kPass) return "DKIM " + sig.algorithm + ": " + sig.comment;
  }
  if (!o.results.dmarc || o.results.dmarc->result != dmarc::Result::kPass) return "DMARC not pass";
  if (o.verdict.action != config::Action::kAccept) return "verdict not accept";
  if (o.auth_results.find("dmarc=pass") == std::string::npos) return "A-R: " + o.auth_results;
  return "";
}

}  // namespace authmilter::bench

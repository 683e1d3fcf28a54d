// `authmilter check`: the milter's own Transaction, fed from a file instead of libmilter.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "authmilter/cli/cli.h"
#include "authmilter/config/config.h"
#include "authmilter/dns/cares_resolver.h"
#include "authmilter/mail/address.h"
#include "authmilter/mail/pra.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::cli {
namespace {

constexpr const char* kCheckUsage =
    "usage: authmilter check [-c FILE] --client-ip IP --helo NAME --mail-from ADDR\n"
    "                        [--rcpt ADDR]... [--json] FILE.eml\n";

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes through
        }
    }
  }
  return out + "\"";
}

std::string json_spf(const spf::CheckResult& r) {
  return "{\"result\":" + json_string(spf::to_token(r.result)) +
         ",\"identity\":" + json_string(spf::to_string(r.identity)) +
         ",\"checked\":" + json_string(r.checked) + ",\"domain\":" + json_string(r.domain) +
         ",\"comment\":" + json_string(r.comment) +
         ",\"explanation\":" + json_string(r.explanation) + "}";
}

void print_json(std::ostream& out, const milter::Outcome& o) {
  const policy::Verdict& v = o.verdict;
  out << "{\"trust\":" << json_string(milter::to_string(o.trust))
      << ",\"judged\":" << (o.judged ? "true" : "false")
      << ",\"authentication_results\":" << json_string(o.auth_results)
      << ",\"received_spf\":" << json_string(o.received_spf)
      << ",\"removed_authentication_results\":" << o.remove_ar.size()
      << ",\"verdict\":{\"action\":" << json_string(config::to_string(v.action))
      << ",\"check\":" << json_string(v.check) << ",\"smtp_code\":" << json_string(v.smtp_code)
      << ",\"enhanced_code\":" << json_string(v.enhanced_code)
      << ",\"reason\":" << json_string(v.reason) << "},\"spf\":{";
  bool first = true;
  if (o.results.spf_mail_from) {
    out << "\"mailfrom\":" << json_spf(*o.results.spf_mail_from);
    first = false;
  }
  if (o.results.spf_helo) out << (first ? "" : ",") << "\"helo\":" << json_spf(*o.results.spf_helo);
  out << "},\"sender_id\":";
  if (const auto& sid = o.results.sender_id) {
    out << "{\"pra\":" << json_string(sid->pra)
        << ",\"field\":" << json_string(sid->source ? mail::to_field_name(*sid->source) : "")
        << ",\"why\":" << json_string(sid->why) << ",\"check\":" << json_spf(sid->check) << "}";
  } else {
    out << "null";
  }
  out << ",\"dkim\":[";
  for (std::size_t i = 0; i < o.results.dkim.size(); ++i) {
    const dkim::SignatureResult& sig = o.results.dkim[i];
    out << (i ? "," : "") << "{\"result\":" << json_string(dkim::to_token(sig.result))
        << ",\"d\":" << json_string(sig.domain) << ",\"i\":" << json_string(sig.identity)
        << ",\"s\":" << json_string(sig.selector) << ",\"a\":" << json_string(sig.algorithm)
        << ",\"b\":" << json_string(sig.b_prefix) << ",\"key_bits\":" << sig.key_bits
        << ",\"comment\":" << json_string(sig.comment) << "}";
  }
  out << "],\"elapsed_ms\":" << o.elapsed.count() << "}\n";
}

void print_text(std::ostream& out, const milter::Outcome& o, const config::Config& config) {
  if (!o.judged) out << "# not judged: client is " << milter::to_string(o.trust) << "\n";
  if (!o.remove_ar.empty()) {
    out << "# would remove " << o.remove_ar.size()
        << " Authentication-Results header(s) claiming our authserv-id\n";
  }
  if (!o.auth_results.empty()) out << "Authentication-Results: " << o.auth_results << "\n";
  if (!o.received_spf.empty()) out << "Received-SPF: " << o.received_spf << "\n";
  if (o.add_mark) out << config.mark_header << "\n";
  out << "verdict: " << config::to_string(o.verdict.action);
  if (!o.verdict.smtp_code.empty()) {
    out << " " << o.verdict.smtp_code << " " << o.verdict.enhanced_code;
  }
  if (!o.verdict.reason.empty()) out << " " << o.verdict.reason;
  out << "\n";
}

}  // namespace

ParsedMessage parse_message(std::string_view raw) {
  ParsedMessage message;
  std::size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= raw.size()) return false;
    std::size_t end = raw.find('\n', pos);
    if (end == std::string_view::npos) end = raw.size();
    line = raw.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return true;
  };
  std::string_view line;
  while (next_line(line)) {
    if (line.empty()) break;  // end of headers
    if ((line.front() == ' ' || line.front() == '\t') && !message.headers.empty()) {
      message.headers.back().second += "\r\n";  // folding kept, as an MTA passes it on
      message.headers.back().second += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      // Not a header: the MTA would treat the rest as body (RFC 5322 has no such line).
      pos -= line.size() + 1;
      break;
    }
    message.headers.emplace_back(std::string(line.substr(0, colon)),
                                 std::string(line.substr(colon + 1)));
  }
  if (pos < raw.size()) message.body = std::string(raw.substr(pos));
  return message;
}

int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string config_path;
  std::string client_ip, helo, mail_from, file;
  std::vector<std::string> rcpts;
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& target) {
      if (i + 1 >= args.size()) return false;
      target = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "-c" || a == "--config") {
      ok = value(config_path);
    } else if (a == "--client-ip") {
      ok = value(client_ip);
    } else if (a == "--helo") {
      ok = value(helo);
    } else if (a == "--mail-from") {
      ok = value(mail_from);
    } else if (a == "--rcpt") {
      std::string r;
      ok = value(r);
      rcpts.push_back(r);
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      ok = false;
    } else if (file.empty()) {
      file = a;
    } else {
      ok = false;
    }
    if (!ok) {
      err << "authmilter check: bad argument '" << a << "'\n" << kCheckUsage;
      return kExitUsage;
    }
  }
  if (client_ip.empty() || file.empty()) {
    err << kCheckUsage;
    return kExitUsage;
  }
  if (!config::IpAddress::parse(client_ip)) {
    err << "authmilter check: --client-ip is not an IP address: " << client_ip << "\n";
    return kExitUsage;
  }

  config::Config cfg;
  try {
    if (config_path.empty() && std::ifstream(kDefaultConfigPath).good()) {
      config_path = kDefaultConfigPath;
    }
    cfg = config_path.empty() ? config::Config::defaults() : config::load(config_path);
  } catch (const config::ConfigError& e) {
    err << e.what() << "\n";
    return kExitConfig;
  }

  std::string raw;
  {
    std::ifstream in(file == "-" ? "/dev/stdin" : file, std::ios::binary);
    if (!in) {
      err << "authmilter check: cannot read " << file << "\n";
      return 1;
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    raw = buf.str();
    if (raw.size() > kMaxCheckMessageBytes) {
      err << "authmilter check: " << file << " is larger than " << kMaxCheckMessageBytes
          << " bytes\n";
      return 1;
    }
  }

  try {
    dns::CaresResolver resolver(
        dns::CaresOptions{cfg.dns_servers, cfg.dns_timeout, 2, cfg.cache_size, cfg.cache_max_ttl});
    spf::Checker checker(resolver, spf::CheckerOptions{cfg.authserv_id});
    const dkim::Library dkim_library(resolver, dkim_options(cfg));
    const std::unique_ptr<dmarc::OrgDomainFinder> org_domains = load_public_suffixes(cfg);
    const dmarc::Evaluator dmarc_evaluator(resolver, *org_domains);
    const std::optional<mail::BatvKey> batv_key =
        cfg.batv_key_file.empty()
            ? std::nullopt
            : std::optional<mail::BatvKey>(mail::BatvKey::load_file(cfg.batv_key_file));
    const milter::Services services{
        cfg, resolver, checker, &dkim_library, &dmarc_evaluator, batv_key ? &*batv_key : nullptr};

    milter::Session session;
    session.client_ip = client_ip;
    session.client_name = "[" + client_ip + "]";
    session.helo = helo;
    session.internal = cfg.internal_hosts.contains(client_ip);
    session.trusted_relay = cfg.trusted_relays.contains(client_ip);
    milter::Transaction txn(services, session, mail::envelope_address(mail_from), false);
    for (auto& r : rcpts) {
      if (auto refused = txn.add_recipient(r)) {
        out << "rcpt " << r << ": " << config::to_string(refused->action) << " "
            << refused->smtp_code << " " << refused->enhanced_code << " " << refused->reason
            << "\n";
      }
    }
    const ParsedMessage message = parse_message(raw);
    for (const auto& [name, value] : message.headers) txn.add_header(name, value, true);
    txn.end_of_headers();
    txn.add_body(message.body);
    const milter::Outcome outcome = txn.finish();
    if (json) {
      print_json(out, outcome);
    } else {
      print_text(out, outcome, cfg);
    }
  } catch (const std::exception& e) {
    err << "authmilter check: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace authmilter::cli

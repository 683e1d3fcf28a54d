// `authmilter check`: the milter's own Transaction, fed from a file instead of libmilter.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "authmilter/cli/cli.h"
#include "authmilter/config/config.h"
#include "authmilter/daemon/service_set.h"
#include "authmilter/dns/cares_resolver.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/mail/address.h"
#include "authmilter/mail/pra.h"
#include "authmilter/milter/transaction.h"

namespace authmilter::cli {
namespace {

constexpr const char* kCheckUsage =
    "usage: authmilter check [-c FILE] --client-ip IP --helo NAME --mail-from ADDR\n"
    "                        [--rcpt ADDR]... [--json] [--zone ZONEFILE] FILE.eml\n";

// A zone file for --zone is test or replay data of a few records; beyond this it is a mistake.
constexpr std::size_t kMaxZoneFileBytes = 16 * 1024 * 1024;

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
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

// A small pretty-printing JSON writer: one member a line, two-space indent, members in a
// fixed order, so `check --json` output diffs well (golden files, tests/data/golden).
class Json {
 public:
  explicit Json(std::ostream& out) : out_(out) {}
  Json& open(std::string_view key, char bracket) {
    member(key);
    out_ << bracket;
    firsts_.push_back(true);
    return *this;
  }
  Json& close(char bracket) {
    const bool empty = firsts_.back();
    firsts_.pop_back();
    if (!empty) newline();
    out_ << bracket;
    return *this;
  }
  Json& str(std::string_view key, std::string_view value) {
    member(key);
    out_ << json_string(value);
    return *this;
  }
  Json& boolean(std::string_view key, bool value) {
    member(key);
    out_ << (value ? "true" : "false");
    return *this;
  }
  Json& number(std::string_view key, long long value) {
    member(key);
    out_ << value;
    return *this;
  }
  Json& null(std::string_view key) {
    member(key);
    out_ << "null";
    return *this;
  }
  void end() { out_ << "\n"; }

 private:
  // `key` empty: an array element.
  void member(std::string_view key) {
    if (!firsts_.empty()) {
      if (!firsts_.back()) out_ << ",";
      firsts_.back() = false;
      newline();
    }
    if (!key.empty()) out_ << json_string(key) << ": ";
  }
  void newline() { out_ << "\n" << std::string(2 * firsts_.size(), ' '); }

  std::ostream& out_;
  std::vector<bool> firsts_;  // per open object/array: no member written yet
};

void json_spf(Json& j, std::string_view key, const spf::CheckResult& r) {
  j.open(key, '{')
      .str("result", spf::to_token(r.result))
      .str("identity", spf::to_string(r.identity))
      .str("checked", r.checked)
      .str("domain", r.domain)
      .str("comment", r.comment)
      .str("explanation", r.explanation)
      .close('}');
}

void json_dmarc(Json& j, const dmarc::DmarcResult& d) {
  auto optional_policy = [](const std::optional<dmarc::Policy>& p) {
    return p ? dmarc::to_token(*p) : std::string_view();
  };
  j.open("dmarc", '{')
      .str("result", dmarc::to_token(d.result))
      .str("from_domain", d.from_domain)
      .str("discovery", dmarc::to_token(d.discovery))
      .str("org_domain", d.org_domain)
      .str("policy_domain", d.policy_domain)
      .str("from_problem", d.from_problem == dmarc::FromProblem::kNone
                               ? std::string_view()
                               : dmarc::to_string(d.from_problem))
      .str("psd", dmarc::to_token(d.psd))
      .str("p", dmarc::to_token(d.p))
      .str("sp", optional_policy(d.sp))
      .str("np", optional_policy(d.np))
      .boolean("testing", d.testing)
      .boolean("testing_from_pct", d.testing_from_pct)
      .str("adkim", dmarc::to_token(d.adkim))
      .str("aspf", dmarc::to_token(d.aspf));
  j.open("rua", '[');
  for (const std::string& uri : d.rua) j.str("", uri);
  j.close(']')
      .boolean("p_none_for_rua", d.p_none_for_rua)
      .boolean("author_domain_exists", d.author_domain_exists)
      .str("policy_tag", dmarc::to_token(d.policy_tag))
      .str("requested", dmarc::to_token(d.requested))
      .str("disposition", dmarc::to_token(d.disposition))
      .boolean("spf_aligned", d.spf_aligned)
      .boolean("dkim_aligned", d.dkim_aligned)
      .str("dkim_aligned_domain", d.dkim_aligned_domain)
      .str("comment", d.comment)
      .close('}');
}

// Every result of the message (iprev, SPF, HELO, SenderID, each DKIM signature, DMARC, own domain,
// BATV), the trusted-relay note, the header edits and the verdict. Only elapsed_ms varies
// between runs of the same input.
void print_json(std::ostream& out, const milter::Outcome& o) {
  const policy::Results& r = o.results;
  const policy::Verdict& v = o.verdict;
  Json j(out);
  j.open("", '{')
      .str("trust", milter::to_string(o.trust))
      .boolean("judged", o.judged)
      .str("client_ip", o.client_ip)
      .str("relay_note", o.relay_note)
      .str("authentication_results", o.auth_results)
      .str("received_spf", o.received_spf)
      .number("removed_authentication_results", static_cast<long long>(o.remove_ar.size()))
      .boolean("mark", o.add_mark);
  j.open("verdict", '{')
      .str("action", config::to_string(v.action))
      .str("check", v.check)
      .str("smtp_code", v.smtp_code)
      .str("enhanced_code", v.enhanced_code)
      .str("reason", v.reason)
      .close('}');
  if (const auto& ip = r.iprev) {
    j.open("iprev", '{')
        .str("result", iprev::to_token(ip->result))
        .str("ip", ip->ip)
        .str("ptr_name", ip->ptr_name)
        .number("ptr_names", static_cast<long long>(ip->ptr_names))
        .str("comment", ip->comment)
        .close('}');
  } else {
    j.null("iprev");
  }
  j.open("spf", '{');
  if (r.spf_mail_from) json_spf(j, "mailfrom", *r.spf_mail_from);
  if (r.spf_helo) json_spf(j, "helo", *r.spf_helo);
  j.close('}');
  if (const auto& sid = r.sender_id) {
    j.open("sender_id", '{')
        .str("pra", sid->pra)
        .str("field", sid->source ? mail::to_field_name(*sid->source) : "")
        .str("why", sid->why);
    json_spf(j, "check", sid->check);
    j.close('}');
  } else {
    j.null("sender_id");
  }
  j.boolean("dkim_checked", r.dkim_checked);
  j.open("dkim", '[');
  for (const dkim::SignatureResult& sig : r.dkim) {
    j.open("", '{')
        .str("result", dkim::to_token(sig.result))
        .str("d", sig.domain)
        .str("i", sig.identity)
        .str("s", sig.selector)
        .str("a", sig.algorithm)
        .str("b", sig.b_prefix)
        .number("key_bits", sig.key_bits)
        .boolean("dnssec", sig.dnssec)
        .boolean("test_key", sig.test_key)
        .str("comment", sig.comment)
        .close('}');
  }
  j.close(']').number("dkim_skipped", static_cast<long long>(r.dkim_skipped));
  if (r.dmarc) {
    json_dmarc(j, *r.dmarc);
  } else {
    j.null("dmarc");
  }
  if (const auto& arc = r.arc) {
    j.open("arc", '{')
        .str("result", dkim::to_token(arc->result))
        .number("instances", static_cast<long long>(arc->instances))
        .number("oldest_pass", static_cast<long long>(arc->oldest_pass))
        .str("newest_cv", dkim::to_token(arc->newest_cv))
        .str("comment", arc->comment);
    j.open("sets", '[');
    for (const auto& set : arc->sets) {
      j.open("", '{')
          .number("i", static_cast<long long>(set.instance))
          .str("sealer", set.sealer)
          .str("selector", set.selector)
          .str("cv", dkim::to_token(set.cv))
          .close('}');
    }
    j.close(']').close('}');
  } else {
    j.null("arc");
  }
  if (const auto& override = r.dmarc_override) {
    j.open("dmarc_override", '{')
        .str("type", override->type)
        .str("sealer", override->sealer)
        .str("comment", override->comment)
        .close('}');
  } else {
    j.null("dmarc_override");
  }
  if (o.arc_set) {
    j.open("arc_seal", '{')
        .number("i", static_cast<long long>(o.arc_set->instance))
        .str("arc_seal", o.arc_set->seal)
        .str("arc_message_signature", o.arc_set->message_signature)
        .str("arc_authentication_results", o.arc_set->authentication_results)
        .close('}');
  } else {
    j.null("arc_seal");
  }
  if (const auto& own = r.own_domain) {
    j.open("own_domain", '{')
        .str("domain", own->domain)
        .str("field", own->field)
        .str("approved_by", own->approved_by)
        .boolean("temporary", own->temporary)
        .boolean("spoof", own->spoof)
        .close('}');
  } else {
    j.null("own_domain");
  }
  j.open("batv", '{')
      .str("new_mail_from", o.new_mail_from)
      .number("untagged_recipients", static_cast<long long>(o.untagged_recipients.size()))
      .number("refused_recipients", static_cast<long long>(o.batv_refused))
      .close('}');
  if (r.internal_error) {
    j.str("internal_error", r.internal_error_detail);
  } else {
    j.null("internal_error");
  }
  j.number("elapsed_ms", o.elapsed.count()).close('}').end();
}

void print_text(std::ostream& out, const milter::Outcome& o, const config::Config& config) {
  if (!o.judged) out << "# not judged: client is " << milter::to_string(o.trust) << "\n";
  if (!o.remove_ar.empty()) {
    out << "# would remove " << o.remove_ar.size()
        << " Authentication-Results header(s) claiming our authserv-id\n";
  }
  if (const auto& arc = o.arc_set) {
    out << "ARC-Seal: " << arc->seal << "\n"
        << "ARC-Message-Signature: " << arc->message_signature << "\n"
        << "ARC-Authentication-Results: " << arc->authentication_results << "\n";
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

// --zone: every lookup answered from the zone file (dns/zone_resolver.h format, fault
// directives included) instead of the network, to replay a verdict offline or run the golden
// files; otherwise the configured DNS servers.
std::unique_ptr<dns::Resolver> check_resolver(const config::Config& cfg,
                                              const std::string& zone_file) {
  if (zone_file.empty()) {
    return daemon::make_resolver(cfg);
  }
  std::ifstream in(zone_file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read zone file " + zone_file);
  std::string text(kMaxZoneFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxZoneFileBytes) {
    throw std::runtime_error("zone file " + zone_file + " is larger than " +
                             std::to_string(kMaxZoneFileBytes) + " bytes");
  }
  auto zone = std::make_unique<dns::ZoneResolver>();
  try {
    zone->load(text);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("zone file " + zone_file + ": " + e.what());
  }
  return zone;
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
      message.headers.back().raw_value += "\r\n";  // folding kept, as an MTA passes it on
      message.headers.back().raw_value += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      // Not a header: the MTA would treat the rest as body (RFC 5322 has no such line).
      pos -= line.size() + 1;
      break;
    }
    message.headers.push_back(
        {std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
  }
  if (pos < raw.size()) message.body = std::string(raw.substr(pos));
  return message;
}

int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string config_path;
  std::string client_ip, helo, mail_from, file, zone_file;
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
    } else if (a == "--zone") {
      ok = value(zone_file);
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

  if (config_path.empty() && std::ifstream(kDefaultConfigPath).good()) {
    config_path = kDefaultConfigPath;
  }
  const std::optional<config::Config> loaded = load_config_or_explain(config_path, err);
  if (!loaded) return kExitConfig;
  const config::Config& cfg = *loaded;

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
    const std::unique_ptr<dns::Resolver> resolver = check_resolver(cfg, zone_file);
    const daemon::ServiceSet service_set(cfg, *resolver, daemon::ServiceFiles::load(cfg));
    const milter::Services& services = service_set.services();

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
    for (const mail::HeaderField& field : message.headers)
      txn.add_header(field.name, field.raw_value, true);
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

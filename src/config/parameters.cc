// The parameter table (name, type, default, doc, setter) and what is derived from it.
#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "authmilter/util/ascii.h"
#include "authmilter/util/domain_name.h"
#include "table.h"
#include "values.h"

namespace authmilter::config::detail {
namespace {

using std::chrono::milliseconds;

std::string expected_duration(milliseconds min, milliseconds max) {
  return "expected a duration from " + format_duration(min) + " to " + format_duration(max) +
         " (a number of seconds, or with ms, s or m: 5s, 500ms)";
}

std::string expected_size(std::size_t min, std::size_t max) {
  return "expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
         " (k = 1024 and M = 1048576 allowed)";
}

constexpr std::string_view kExpectedAction =
    "expected accept, mark, quarantine, tempfail or reject";
constexpr std::string_view kExpectedSafeAction =
    "expected accept, mark, quarantine or tempfail (reject is not allowed: DNS trouble and "
    "internal errors must never bounce mail)";

std::string set_action(Action& field, std::string_view value) {
  const auto action = parse_action(value);
  if (!action) return std::string(kExpectedAction);
  field = *action;
  return {};
}

// TempError and OnInternalError: a failure on our side is never the sender's fault.
std::string set_safe_action(Action& field, std::string_view value) {
  const auto action = parse_action(value);
  if (!action || *action == Action::kReject) return std::string(kExpectedSafeAction);
  field = *action;
  return {};
}

std::string set_bool(bool& field, std::string_view value) {
  const auto parsed = parse_bool(value);
  if (!parsed) return "expected yes, no, true, false, on, off, 1 or 0";
  field = *parsed;
  return {};
}

// Built on first use, so parameters() is safe during static initialisation elsewhere.
// Comma and/or whitespace separated items.
std::vector<std::string_view> split_list(std::string_view v) {
  std::vector<std::string_view> items;
  std::size_t pos = 0;
  while (pos < v.size()) {
    if (v[pos] == ',' || v[pos] == ' ' || v[pos] == '\t') {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < v.size() && v[end] != ',' && v[end] != ' ' && v[end] != '\t') ++end;
    items.push_back(v.substr(pos, end - pos));
    pos = end;
  }
  return items;
}

// A comma/space separated list of domain names, lower-cased, trailing dots removed.
std::string set_domains(std::vector<std::string>& out, std::string_view v) {
  std::vector<std::string> domains;
  for (std::string_view item : split_list(v)) {
    std::string domain(item);
    while (!domain.empty() && domain.back() == '.') domain.pop_back();
    for (char& ch : domain) {
      ch = util::to_lower_ascii(ch);
      const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                      ch == '.' || ch == '_';
      if (!ok) return "expected domain names, not " + quote(item);
    }
    if (domain.empty() || domain.size() > util::kMaxDomainNameLength)
      return "expected domain names";
    domains.push_back(std::move(domain));
  }
  if (domains.empty()) return "expected at least one domain";
  out = std::move(domains);
  return {};
}

std::string set_cidrs(CidrList& out, std::string_view v) {
  std::string bad;
  auto list = CidrList::parse(v, &bad);
  if (!list || list->empty()) {
    return "expected addresses or networks (192.0.2.0/24, 2001:db8::/32)" +
           (bad.empty() ? std::string() : ", not " + quote(bad));
  }
  out = std::move(*list);
  return {};
}

// ReportStore: checked here as text; report::parse_store_spec reads it (same forms).
bool valid_report_store(std::string_view v) {
  for (const char ch_char : v) {
    const auto ch = static_cast<unsigned char>(ch_char);
    if (ch <= 0x20 || ch >= 0x7f) return false;
  }
  if (util::iequals_ascii(v, "none")) return true;
  if (util::istarts_with_ascii(v, "sqlite:")) {
    const std::string_view path = v.substr(7);
    return path.size() >= 2 && valid_file_path(path);
  }
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (util::istarts_with_ascii(v, scheme)) return v.size() > scheme.size();
  }
  return false;
}

bool printable_text(std::string_view v) {
  for (const char ch_char : v) {
    const auto ch = static_cast<unsigned char>(ch_char);
    if (ch < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

// local@domain: a dot-atom local part (RFC 5322 §3.2.3) and a host name.
bool valid_mailbox(std::string_view v) {
  const std::size_t at = v.rfind('@');
  if (at == std::string_view::npos || at == 0 || v.size() > 254) return false;
  for (const char ch_char : v.substr(0, at)) {
    const auto ch = static_cast<unsigned char>(ch_char);
    const bool atext = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                       (ch >= '0' && ch <= '9') ||
                       std::string_view("!#$%&'*+-/=?^_`{|}~.").find(static_cast<char>(ch)) !=
                           std::string_view::npos;
    if (!atext) return false;
  }
  return valid_host_name(v.substr(at + 1));
}

bool valid_host_port(std::string_view v) {
  const std::size_t colon = v.rfind(':');
  if (colon == std::string_view::npos || !parse_port(v.substr(colon + 1))) return false;
  std::string_view host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const auto ip = parse_ip_literal(host.substr(1, host.size() - 2));
    return ip.has_value() && host.find(':') != std::string_view::npos;
  }
  // An IPv6 address needs its brackets: "::1:25" would be ambiguous.
  if (host.find(':') != std::string_view::npos) return false;
  return valid_host_name(host) || parse_ip_literal(host).has_value();
}

std::vector<Row> make_rows() {
  return {
      {{"Socket", "socket", "unix:/run/authmilter/authmilter.sock",
        "where the milter listens: unix:/path, local:/path, inet:PORT@HOST or inet6:PORT@HOST"},
       [](Config& c, std::string_view v) -> std::string {
         std::string why;
         const auto spec = parse_socket(v, &why);
         if (!spec) return why;
         c.socket = spec->to_string();
         return {};
       }},
      {{"AuthservID", "authserv-id", "HOSTNAME",
        "authserv-id of our Authentication-Results headers; HOSTNAME means this host's name"},
       [](Config& c, std::string_view v) -> std::string {
         if (v == "HOSTNAME") {
           c.authserv_id = host_name();
           return {};
         }
         if (!valid_authserv_id(v)) {
           return "expected a host name or other RFC 2045 token of at most " +
                  std::to_string(kMaxAuthservIdLength) +
                  " characters (no spaces or any of ()<>@,;:\\\"/[]?=)";
         }
         c.authserv_id = std::string(v);
         return {};
       }},
      {{"UserID", "user", "",
        "user (and :group) to run as once the socket is open; unset: stay as started"},
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_user_id(v)) {
           return "expected user or user:group (letters, digits, '_', '-', '.'; at most " +
                  std::to_string(kMaxUserNameLength) + " each)";
         }
         c.user_id = std::string(v);
         return {};
       }},
      {{"UMask", "octal", "007", "umask (octal, 0 to 0777) for the UNIX socket and the pid file"},
       [](Config& c, std::string_view v) -> std::string {
         const auto umask = parse_octal(v, kMaxUmask);
         if (!umask) return "expected an octal number from 0 to 0777, e.g. 007";
         c.umask = *umask;
         return {};
       }},
      {{"PidFile", "path", "", "file to write the process id to; unset: none"},
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_file_path(v)) return "expected an absolute file name";
         c.pid_file = std::string(v);
         return {};
       }},
      {{"Syslog", "bool", "yes", "log to syslog (facility mail); in the foreground also to stderr"},
       [](Config& c, std::string_view v) { return set_bool(c.syslog, v); }},
      {{"LogLevel", "log-level", "info",
        "least severe level logged: trace, debug, info, "
        "warning or error"},
       [](Config& c, std::string_view v) -> std::string {
         auto level = parse_log_level(v);
         if (!level) return "expected trace, debug, info, warning or error";
         c.log_level = std::move(*level);
         return {};
       }},
      {{"LogFormat", "log-format", "text",
        "the per-message summary line as key=value text or as one JSON object: text or json"},
       [](Config& c, std::string_view v) -> std::string {
         if (util::iequals_ascii(v, "text")) {
           c.log_format = LogFormat::kText;
         } else if (util::iequals_ascii(v, "json")) {
           c.log_format = LogFormat::kJson;
         } else {
           return "expected text or json";
         }
         return {};
       }},
      {{"MetricsListen", "host-port", "",
        "address and port to serve /metrics on (Prometheus text format); unset: off"},
       [](Config& c, std::string_view v) -> std::string {
         const std::string expected =
             "expected an IP address and port: 127.0.0.1:9795 or [::1]:9795";
         const std::size_t colon = v.rfind(':');
         if (colon == std::string_view::npos || colon + 1 >= v.size()) return expected;
         std::string_view host = v.substr(0, colon);
         const std::string_view port = v.substr(colon + 1);
         unsigned port_number = 0;
         for (char ch : port) {
           if (ch < '0' || ch > '9' || port_number > 65535) return expected;
           port_number = port_number * 10 + static_cast<unsigned>(ch - '0');
         }
         if (port_number == 0 || port_number > 65535) return expected;
         const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
         if (bracketed) host = host.substr(1, host.size() - 2);
         const std::string host_text(host);
         unsigned char address[16];
         if (!(bracketed ? inet_pton(AF_INET6, host_text.c_str(), address) == 1
                         : inet_pton(AF_INET, host_text.c_str(), address) == 1)) {
           return expected;
         }
         c.metrics_listen = std::string(v);
         return {};
       }},
      {{"DNSServers", "address-list", "",
        "resolvers to ask, as IP, IP:port or [IPv6]:port; unset: those in /etc/resolv.conf"},
       [](Config& c, std::string_view v) -> std::string {
         std::vector<std::string> servers;
         for (std::string_view item : split_list(v)) {
           auto server = parse_dns_server(item);
           if (!server) {
             return "expected IP addresses with optional ports (192.0.2.53, 192.0.2.53:5353, "
                    "2001:db8::53, [2001:db8::53]:5353), not " +
                    quote(item);
           }
           if (servers.size() == kMaxDnsServers) {
             return "expected at most " + std::to_string(kMaxDnsServers) + " servers";
           }
           servers.push_back(std::move(*server));
         }
         if (servers.empty()) return "expected at least one IP address";
         c.dns_servers = std::move(servers);
         return {};
       }},
      {{"DNSTimeout", "duration", "5s",
        "time limit for one DNS query, retries included (100ms to 60s)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto d = parse_duration(v, kMinDnsTimeout, kMaxDnsTimeout);
         if (!d) return expected_duration(kMinDnsTimeout, kMaxDnsTimeout);
         c.dns_timeout = *d;
         return {};
       }},
      {{"MessageTimeout", "duration", "20s",
        "time limit for all DNS of one message (1s to 300s, more than DNSTimeout)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto d = parse_duration(v, kMinMessageTimeout, kMaxMessageTimeout);
         if (!d) return expected_duration(kMinMessageTimeout, kMaxMessageTimeout);
         c.message_timeout = *d;
         return {};
       }},
      {{"CacheSize", "size", "10000",
        "most DNS answers kept in the cache (0 to 10000000; 0: none)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto n = parse_size(v, 0, kMaxCacheSize);
         if (!n) return expected_size(0, kMaxCacheSize);
         c.cache_size = static_cast<std::size_t>(*n);
         return {};
       }},
      {{"CacheMaxTTL", "seconds", "86400",
        "longest time a DNS answer is cached, whatever its TTL (1 to 604800 seconds)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto s = parse_seconds(v, kMinCacheMaxTtl, kMaxCacheMaxTtl);
         if (!s) {
           return "expected a number of seconds from " + std::to_string(kMinCacheMaxTtl) + " to " +
                  std::to_string(kMaxCacheMaxTtl) + " (s, m, h and d allowed: 1d)";
         }
         c.cache_max_ttl = *s;
         return {};
       }},
      {{"WorkerThreads", "size", "0",
        "threads that run the checks which wait on DNS (0: 4 per CPU core, 4 to 256; else 1 to "
        "256)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto n = parse_size(v, 0, kMaxWorkerThreads);
         if (!n) return expected_size(0, kMaxWorkerThreads);
         c.worker_threads = static_cast<std::size_t>(*n);
         return {};
       }},
      {{"InternalHosts", "cidr-list", "127.0.0.1, ::1",
        "clients that are not checked and get no header (networks; none: no such clients)"},
       [](Config& c, std::string_view v) -> std::string {
         if (util::iequals_ascii(v, "none")) {
           c.internal_hosts = CidrList();
           return {};
         }
         std::string bad;
         auto list = CidrList::parse(v, &bad);
         if (!list || list->empty()) {
           return "expected addresses or networks (192.0.2.0/24, 2001:db8::/32) or none" +
                  (bad.empty() ? std::string() : ", not " + quote(bad));
         }
         c.internal_hosts = std::move(*list);
         return {};
       }},
      {{"TrustedRelays", "cidr-list", "",
        "our relays in front of this host: judge the first untrusted Received: hop instead"},
       [](Config& c, std::string_view v) { return set_cidrs(c.trusted_relays, v); }},
      {{"TrustedAuthservIDs", "domain-list", "",
        "authserv-ids whose Authentication-Results (added via trusted relays) are reused"},
       [](Config& c, std::string_view v) { return set_domains(c.trusted_authserv_ids, v); }},
      {{"OwnDomains", "domain-list", "",
        "our domains: From: spoofing (OwnDomainSpoof) and BATV apply to them"},
       [](Config& c, std::string_view v) { return set_domains(c.own_domains, v); }},
      {{"OwnDomainSenders", "sender-list", "",
        "outside senders allowed to use OwnDomains: networks and include:domain (SPF)"},
       [](Config& c, std::string_view v) -> std::string {
         CidrList networks;
         std::vector<std::string> includes;
         std::vector<Cidr> cidrs;
         for (std::string_view item : split_list(v)) {
           if (item.size() > 8 && util::istarts_with_ascii(item, "include:")) {
             std::vector<std::string> one;
             if (std::string why = set_domains(one, item.substr(8)); !why.empty()) return why;
             includes.push_back(one.front());
           } else if (auto cidr = Cidr::parse(item)) {
             cidrs.push_back(*cidr);
           } else {
             return "expected networks or include:domain, not " + quote(item);
           }
         }
         if (cidrs.empty() && includes.empty()) return "expected networks or include:domain";
         c.own_domain_sender_networks = CidrList(std::move(cidrs));
         c.own_domain_sender_includes = std::move(includes);
         return {};
       }},
      {{"OwnDomainSpoof", "action", "accept",
        "action for outside mail claiming OwnDomains in From: (or PRA) from an unapproved sender"},
       [](Config& c, std::string_view v) { return set_action(c.own_domain_spoof, v); }},
      {{"BATVKeyFile", "path", "",
        "secret for BATV tags (mode 0600 or 0400); set: tag outbound MAIL FROM, check bounces"},
       [](Config& c, std::string_view v) -> std::string {
         if (v.empty() || v.front() != '/') return "expected an absolute path";
         c.batv_key_file = std::string(v);
         return {};
       }},
      {{"BATVFail", "action", "reject",
        "action at RCPT for a bounce to OwnDomains without a valid BATV tag"},
       [](Config& c, std::string_view v) { return set_action(c.batv_fail, v); }},
      {{"IPRev", "bool", "on",
        "iprev (RFC 8601 3): look up the judged client's PTR names and confirm them forward"},
       [](Config& c, std::string_view v) { return set_bool(c.iprev, v); }},
      {{"IPRevFail", "action", "accept",
        "action when iprev gives fail or permerror (the client has no forward-confirmed name)"},
       [](Config& c, std::string_view v) { return set_action(c.iprev_fail, v); }},
      {{"SPFHelo", "helo-check", "null-sender",
        "check the HELO name for the null sender only (RFC 7208 2.3) or always"},
       [](Config& c, std::string_view v) -> std::string {
         const auto check = parse_helo_check(v);
         if (!check) return "expected null-sender or always";
         c.spf_helo = *check;
         return {};
       }},
      {{"SPFFail", "action", "accept",
        "action when SPF fails for MAIL FROM (and DMARC does not pass)"},
       [](Config& c, std::string_view v) { return set_action(c.spf_fail, v); }},
      {{"SPFSoftFail", "action", "accept", "action when SPF gives softfail for MAIL FROM"},
       [](Config& c, std::string_view v) { return set_action(c.spf_softfail, v); }},
      {{"SenderID", "senderid-mode", "fallback",
        "SenderID on the PRA: off, fallback (only when SPF is none, neutral, temperror or "
        "permerror) or always"},
       [](Config& c, std::string_view v) -> std::string {
         if (util::iequals_ascii(v, "off")) {
           c.sender_id = SenderIdMode::kOff;
         } else if (util::iequals_ascii(v, "fallback")) {
           c.sender_id = SenderIdMode::kFallback;
         } else if (util::iequals_ascii(v, "always")) {
           c.sender_id = SenderIdMode::kAlways;
         } else {
           return "expected off, fallback or always";
         }
         return {};
       }},
      {{"PRAFail", "action", "mark",
        "action when SenderID fails for the PRA (a forged From:, Sender: or Resent-*)"},
       [](Config& c, std::string_view v) { return set_action(c.pra_fail, v); }},
      {{"MaxSignatures", "size", "5",
        "DKIM signatures judged per message (1 to 50); the rest are skipped and logged"},
       [](Config& c, std::string_view v) -> std::string {
         const auto n = parse_size(v, 1, kMaxMaxSignatures);
         if (!n) return expected_size(1, kMaxMaxSignatures);
         c.max_signatures = static_cast<std::size_t>(*n);
         return {};
       }},
      {{"DKIMAllowSHA1", "bool", "no",
        "judge rsa-sha1 DKIM signatures (RFC 8301 forbids them: no reports dkim=policy)"},
       [](Config& c, std::string_view v) { return set_bool(c.dkim_allow_sha1, v); }},
      {{"DKIMMinKeyBits", "size", "1024",
        "shortest RSA key a DKIM signature may use (512 to 8192 bits); shorter: dkim=policy"},
       [](Config& c, std::string_view v) -> std::string {
         const auto n = parse_size(v, kMinDkimKeyBits, kMaxDkimKeyBits);
         if (!n) return expected_size(kMinDkimKeyBits, kMaxDkimKeyBits);
         c.dkim_min_key_bits = static_cast<unsigned>(*n);
         return {};
       }},
      {{"DMARCReject", "action", "reject",
        "action when DMARC fails and the policy applied (after t=y) is reject"},
       [](Config& c, std::string_view v) { return set_action(c.dmarc_reject, v); }},
      {{"DMARCQuarantine", "action", "mark",
        "action when DMARC fails and the policy applied (after t=y) is quarantine"},
       [](Config& c, std::string_view v) { return set_action(c.dmarc_quarantine, v); }},
      {{"DMARCMultipleFrom", "action", "reject",
        "action when From: has several addresses or fields (RFC 7489 6.6.1: dmarc=permerror)"},
       [](Config& c, std::string_view v) { return set_action(c.dmarc_multiple_from, v); }},
      {{"DMARCDiscovery", "discovery", "treewalk",
        "how DMARC finds the policy record and organizational domains: treewalk (RFC 9989 DNS "
        "tree walk) or psl (RFC 7489, public suffix list)"},
       [](Config& c, std::string_view v) -> std::string {
         if (util::iequals_ascii(v, "treewalk")) {
           c.dmarc_discovery_psl = false;
         } else if (util::iequals_ascii(v, "psl")) {
           c.dmarc_discovery_psl = true;
         } else {
           return "expected treewalk or psl";
         }
         return {};
       }},
      {{"PublicSuffixList", "path", "/usr/share/publicsuffix/public_suffix_list.dat",
        "public suffix list for DMARC organizational domains (Debian package publicsuffix)"},
       [](Config& c, std::string_view v) -> std::string {
         if (v.empty() || v.front() != '/') return "expected an absolute path";
         c.public_suffix_list = std::string(v);
         return {};
       }},
      {{"IgnoreDMARCFor", "domain-list", "",
        "From: domains whose DMARC policy is not evaluated (no dmarc= entry, no action)"},
       [](Config& c, std::string_view v) { return set_domains(c.ignore_dmarc_for, v); }},
      {{"ARCTrustedSealers", "domain-list", "",
        "ARC sealers (d= of the seal) whose aligned pass overrides a DMARC fail (RFC 8617)"},
       [](Config& c, std::string_view v) { return set_domains(c.arc_trusted_sealers, v); }},
      {{"ARCSign", "bool", "no",
        "add an ARC set with our results (needs ARCSealDomain, ARCSelector, ARCKeyFile)"},
       [](Config& c, std::string_view v) { return set_bool(c.arc_sign, v); }},
      {{"ARCSealDomain", "domain", "", "d= of the ARC sets we add"},
       [](Config& c, std::string_view v) -> std::string {
         std::vector<std::string> one;
         if (std::string why = set_domains(one, v); !why.empty()) return why;
         if (one.size() != 1) return "expected one domain";
         c.arc_seal_domain = one.front();
         return {};
       }},
      {{"ARCSelector", "selector", "", "s= of the ARC sets we add (its key: <s>._domainkey.<d>)"},
       [](Config& c, std::string_view v) -> std::string {
         const bool ok =
             !v.empty() && v.size() <= 63 && std::all_of(v.begin(), v.end(), [](char ch) {
               return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
             });
         if (!ok) return "expected a selector (letters, digits, '-', '_'; at most 63)";
         c.arc_selector = std::string(v);
         return {};
       }},
      {{"ARCKeyFile", "path", "",
        "RSA private key (PEM, mode 0600 or 0400) that signs our ARC sets"},
       [](Config& c, std::string_view v) -> std::string {
         if (v.empty() || v.front() != '/') return "expected an absolute path";
         c.arc_key_file = std::string(v);
         return {};
       }},
      {{"TempError", "action", "accept",
        "action when a DNS temporary error leaves the verdict open (never reject)"},
       [](Config& c, std::string_view v) { return set_safe_action(c.temp_error, v); }},
      {{"OnInternalError", "action", "accept",
        "action when authmilter itself fails on a message (never reject)"},
       [](Config& c, std::string_view v) { return set_safe_action(c.on_internal_error, v); }},
      {{"MarkHeader", "header", "X-Spam-Flag: YES", "header added by the mark action"},
       [](Config& c, std::string_view v) -> std::string {
         std::string why;
         auto header = parse_mark_header(v, &why);
         if (!header) return why;
         c.mark_header = std::move(*header);
         return {};
       }},
      {{"AddReceivedSPF", "bool", "no", "also add a Received-SPF header (RFC 7208 9.1)"},
       [](Config& c, std::string_view v) { return set_bool(c.add_received_spf, v); }},
      {{"MaxHeaderBytes", "size", "1M", "most header bytes kept per message (1k to 64M)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto n = parse_size(v, kMinMaxHeaderBytes, kMaxMaxHeaderBytes);
         if (!n) return expected_size(kMinMaxHeaderBytes, kMaxMaxHeaderBytes);
         c.max_header_bytes = static_cast<std::size_t>(*n);
         return {};
       }},
      // DMARC aggregate reports (RFC 9990, issue 14; docs/reports.md).
      {{"ReportStore", "store", "none",
        "where DMARC report records go: none, sqlite:/path or postgresql://user@host/db"},
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_report_store(v)) {
           return "expected none, sqlite:/absolute/path or postgresql://[user[:password]@]host"
                  "[:port]/db";
         }
         c.report_store = util::iequals_ascii(v, "none") ? "none" : std::string(v);
         return {};
       }},
      {{"ReportOrgName", "string", "",
        "reporting organization named in aggregate reports (default: AuthservID)"},
       [](Config& c, std::string_view v) -> std::string {
         if (v.size() > kMaxReportFieldLength || !printable_text(v)) {
           return "expected printable text of at most " + std::to_string(kMaxReportFieldLength) +
                  " characters";
         }
         c.report_org_name = std::string(v);
         return {};
       }},
      {{"ReportEmail", "address", "",
        "sender and contact address of aggregate reports (default: postmaster@AuthservID)"},
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_mailbox(v)) return "expected an address local@domain.example";
         c.report_email = std::string(v);
         return {};
       }},
      {{"ReportSMTP", "host:port", "",
        "SMTP server that takes aggregate reports (default: the local sendmail program)"},
       [](Config& c, std::string_view v) -> std::string {
         if (!valid_host_port(v)) return "expected HOST:PORT or [IPv6]:PORT";
         c.report_smtp = std::string(v);
         return {};
       }},
      {{"ReportRetention", "seconds", "31d",
        "how long report records and report state are kept (1d to 3650d)"},
       [](Config& c, std::string_view v) -> std::string {
         const auto s = parse_seconds(v, kMinReportRetention, kMaxReportRetention);
         if (!s) return "expected a duration from 1d to 3650d (s, m, h and d allowed: 31d)";
         c.report_retention = *s;
         return {};
       }},
  };
}

}  // namespace

const std::vector<Row>& rows() {
  static const std::vector<Row> kRows = make_rows();
  return kRows;
}

const Row* find_row(std::string_view name) {
  const auto& all = rows();
  const auto it = std::find_if(all.begin(), all.end(), [&](const Row& row) {
    return util::iequals_ascii(row.parameter.name, name);
  });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace authmilter::config::detail

namespace authmilter::config {

const std::vector<Parameter>& parameters() {
  static const std::vector<Parameter> kParameters = [] {
    std::vector<Parameter> out;
    for (const auto& row : detail::rows()) out.push_back(row.parameter);
    return out;
  }();
  return kParameters;
}

std::string print_defaults() {
  std::string out;
  for (const Parameter& p : parameters()) {
    out += "# ";
    out += p.doc;
    out += " (";
    out += p.type;
    out += ")\n";
    if (p.default_value.empty()) {
      out += "#";
      out += p.name;
      out += "\n";
    } else {
      out += p.name;
      out += std::string(p.name.size() < 16 ? 16 - p.name.size() : 1, ' ');
      out += p.default_value;
      out += "\n";
    }
  }
  return out;
}

}  // namespace authmilter::config

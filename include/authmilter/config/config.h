// authmilter::config — the configuration file (DESIGN §7) as one typed struct.
//
// Format: OpenDKIM/OpenDMARC style, `Key value` per line, keys case-insensitive, leading and
//   trailing white space ignored, the value is the rest of the line (it may hold spaces).
//   `#` starts a comment at the start of a line or after white space ("a#b" stays a value).
//   CRLF line ends and a leading UTF-8 byte order mark are tolerated.
//   Unknown keys, missing or bad values, duplicate keys, NUL bytes and other control
//   characters are errors reported as "file:line: message"; the message names the expected
//   form. Cross-checks: MessageTimeout must exceed DNSTimeout; TempError and OnInternalError
//   may not be `reject` (DNS trouble and our own faults must never bounce mail).
// One table of parameters (parameters()) drives the parser, `--print-defaults` and the
//   documentation test that fails when a key is missing from docs/authmilter.conf.5 or from
//   conf/authmilter.conf.
// Keys (grow as features land): Socket, AuthservID, UserID, UMask, PidFile, Syslog, LogLevel,
//   DNSServers, DNSTimeout, MessageTimeout, CacheSize, CacheMaxTTL, WorkerThreads, InternalHosts,
//   SPFHelo, SPFFail, SPFSoftFail, TempError, OnInternalError, MarkHeader, AddReceivedSPF,
//   MaxHeaderBytes, ReportStore, ReportOrgName, ReportEmail, ReportSMTP, ReportRetention.
// Limits: kMaxLineLength bytes per line, kMaxFileSize bytes per file, kMaxDnsServers servers.
// Security: the file is read before privileges are dropped; it holds no secrets. Values are
//   validated here so later code (header writer, socket set-up) never sees CR/LF or controls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/config/cidr.h"

namespace authmilter::config {

// Bounds of MaxSignatures and DKIMMinKeyBits.
inline constexpr std::size_t kMaxMaxSignatures = 50;
inline constexpr unsigned kMinDkimKeyBits = 512;
inline constexpr unsigned kMaxDkimKeyBits = 8192;
// Longest line (without its line end) and largest file; real files are a few kB.
inline constexpr std::size_t kMaxLineLength = 4096;
inline constexpr std::size_t kMaxFileSize = 1024 * 1024;
// Most DNSServers entries; resolv.conf allows 3, c-ares has no limit worth relying on.
inline constexpr std::size_t kMaxDnsServers = 16;
// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
inline constexpr std::size_t kMaxUnixSocketPath = 107;
// RFC 5322 §2.1.1: a header line may not exceed 998 characters.
inline constexpr std::size_t kMaxMarkHeaderLength = 998;
// An authserv-id is normally a host name (at most 253 characters).
inline constexpr std::size_t kMaxAuthservIdLength = 255;
// Linux user and group names are at most 32 characters (useradd).
inline constexpr std::size_t kMaxUserNameLength = 32;

// Bounds of the numeric parameters (each tested at and past its ends).
inline constexpr std::chrono::milliseconds kMinDnsTimeout{100};
inline constexpr std::chrono::milliseconds kMaxDnsTimeout{60 * 1000};
inline constexpr std::chrono::milliseconds kMinMessageTimeout{1000};
// Postfix's milter_command_timeout is 30 s by default; more than 300 s keeps an SMTP client
// waiting past any sane timeout (RFC 5321 §4.5.3.2 gives the client 10 min for DATA in all).
inline constexpr std::chrono::milliseconds kMaxMessageTimeout{300 * 1000};
inline constexpr std::size_t kMaxCacheSize = 10'000'000;
inline constexpr std::size_t kMaxWorkerThreads = 256;
inline constexpr std::uint32_t kMinCacheMaxTtl = 1;
inline constexpr std::uint32_t kMaxCacheMaxTtl = 7 * 86400;
inline constexpr std::size_t kMinMaxHeaderBytes = 1024;
inline constexpr std::size_t kMaxMaxHeaderBytes = 64 * 1024 * 1024;
inline constexpr std::uint32_t kMaxUmask = 0777;
// ReportRetention bounds (seconds) and the longest ReportOrgName.
inline constexpr std::uint32_t kMinReportRetention = 86400;
inline constexpr std::uint32_t kMaxReportRetention = 3650u * 86400u;
inline constexpr std::size_t kMaxReportFieldLength = 255;

// What to do with a message (DESIGN §6).
enum class Action { kAccept, kMark, kQuarantine, kTempfail, kReject };
std::string_view to_string(Action action);  // "accept", "mark", ...

// When to check the HELO identity: only for the null sender (RFC 7208 §2.3 minimum), or
// always (reported as a second spf= entry with smtp.helo).
// LogFormat: the per-message summary line as key=value text or one JSON object.
enum class LogFormat { kText, kJson };
std::string_view to_string(LogFormat format);  // "text", "json"

enum class HeloCheck { kNullSender, kAlways };

// When to run SenderID on the PRA (RFC 4406/4407): never; only when SPF on MAIL FROM is
// non-authoritative (none, neutral, temperror, permerror), so an SPF pass or fail is final;
// or on every message.
enum class SenderIdMode { kOff, kFallback, kAlways };
std::string_view to_string(SenderIdMode mode);
std::string_view to_string(HeloCheck check);  // "null-sender", "always"

struct Config {
  std::string socket = "unix:/run/authmilter/authmilter.sock";  // canonical, see parse_socket
  std::string authserv_id;  // absent or "HOSTNAME" in the file: host_name() (set by defaults())
  std::string user_id;      // "user" or "user:group"; empty: keep the current user
  std::uint32_t umask = 0007;
  std::string pid_file;  // absolute path; empty: none
  bool syslog = true;
  std::string log_level = "info";  // trace, debug, info, warning, error (always lower case)
  LogFormat log_format = LogFormat::kText;
  std::string metrics_listen;  // "127.0.0.1:9795" or "[::1]:9795"; empty: no /metrics

  // Normalised to "a.b.c.d:port" or "[v6]:port" (port 53 when not given); empty: resolv.conf.
  std::vector<std::string> dns_servers;
  std::chrono::milliseconds dns_timeout{5000};
  std::chrono::milliseconds message_timeout{20000};
  std::size_t cache_size = 10000;  // DNS cache entries; 0: no cache
  std::uint32_t cache_max_ttl = 86400;
  std::size_t worker_threads = 0;  // the shared check pool (work::Pool); 0: 4 per core

  CidrList internal_hosts;  // default 127.0.0.1, ::1 (set by defaults()); "none": empty
  CidrList trusted_relays;  // our own relays: judge the first untrusted Received: hop
  std::vector<std::string> trusted_authserv_ids;  // A-R from these (via trusted relays) reused
  std::vector<std::string> own_domains;           // our domains (From:/PRA spoofing, BATV)
  CidrList own_domain_sender_networks;            // may send as our domains
  std::vector<std::string> own_domain_sender_includes;  // SPF-style include: domains, ditto
  Action own_domain_spoof = Action::kAccept;
  std::string batv_key_file;  // empty: BATV off
  Action batv_fail = Action::kReject;

  bool iprev = true;                    // RFC 8601 §3 reverse-then-forward DNS of the client
  Action iprev_fail = Action::kAccept;  // iprev=fail or permerror (no confirmed client name)
  HeloCheck spf_helo = HeloCheck::kNullSender;
  Action spf_fail = Action::kAccept;
  Action spf_softfail = Action::kAccept;
  SenderIdMode sender_id = SenderIdMode::kFallback;
  Action pra_fail = Action::kMark;
  std::size_t max_signatures = 5;  // DKIM signatures judged per message
  bool dkim_allow_sha1 = false;    // rsa-sha1 signatures: judged (yes) or dkim=policy (no)
  unsigned dkim_min_key_bits = 1024;
  Action dmarc_reject = Action::kReject;
  Action dmarc_quarantine = Action::kMark;
  Action dmarc_multiple_from = Action::kReject;
  std::string public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";
  bool dmarc_discovery_psl = false;  // DMARCDiscovery: treewalk (RFC 9989) or psl (RFC 7489)
  std::vector<std::string> ignore_dmarc_for;  // From: domains, lower-case
  // ARC (RFC 8617): sealers whose ARC-Authentication-Results may override a DMARC fail.
  std::vector<std::string> arc_trusted_sealers;  // domains (the seal's d=), lower-case
  bool arc_sign = false;                         // add our own ARC set (needs the three below)
  std::string arc_seal_domain;                   // d= of our seal, lower-case
  std::string arc_selector;                      // s= of our seal
  std::string arc_key_file;                      // RSA private key (PEM), absolute path
  Action temp_error = Action::kAccept;           // never kReject
  Action on_internal_error = Action::kAccept;    // never kReject
  std::string mark_header = "X-Spam-Flag: YES";  // normalised "Name: value"
  bool add_received_spf = false;
  std::size_t max_header_bytes = 1024 * 1024;  // headers kept per message

  // DMARC aggregate reports (RFC 9990; report/store.h, docs/reports.md).
  std::string report_store = "none";            // none | sqlite:/path | postgresql://...
  std::string report_org_name;                  // empty: authserv_id
  std::string report_email;                     // empty: postmaster@authserv_id
  std::string report_smtp;                      // host:port; empty: the local sendmail program
  std::uint32_t report_retention = 31 * 86400;  // seconds

  // The built-in defaults, with internal_hosts and authserv_id filled in.
  static Config defaults();
  bool operator==(const Config&) const = default;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;  // message is "file:line: text"
};

// Reads and validates a config file; throws ConfigError ("path: why" when the file itself
// cannot be read, is not a regular file or is larger than kMaxFileSize).
Config load(const std::string& path);
// Parses config text; `name` is used in error messages. Throws ConfigError.
Config parse(std::string_view text, std::string_view name);

// One row of the parameter table.
struct Parameter {
  std::string_view name;           // canonical spelling, e.g. "MessageTimeout"
  std::string_view type;           // "string", "bool", "duration", "action", "cidr-list", ...
  std::string_view default_value;  // as written in the file; empty: unset by default
  std::string_view doc;            // one line for --print-defaults and the man page check
};
const std::vector<Parameter>& parameters();
// "Key value" lines for every parameter with its default, each after a "# doc" line, for
// --print-defaults. Parameters that are unset by default appear as a commented "#Key" line.
// The output parses back to Config::defaults().
std::string print_defaults();

// A milter socket as libmilter's smfi_setconn() takes it. Accepted: "unix:/abs/path",
// "local:/abs/path" (same thing), "inet:PORT@HOST", "inet6:PORT@HOST" with PORT 1..65535 and
// HOST an IP literal of that family (brackets allowed) or a host name. Prefixes are
// case-insensitive. Also used for the -p command-line option.
struct SocketSpec {
  enum class Kind { kUnix, kInet, kInet6 };
  Kind kind = Kind::kUnix;
  std::string path;               // kUnix: absolute path, at most kMaxUnixSocketPath bytes
  std::uint16_t port = 0;         // kInet, kInet6
  std::string host;               // kInet, kInet6: without brackets
  std::string to_string() const;  // canonical: "unix:/path", "inet:8895@127.0.0.1", ...
};
// nullopt on error, with `why` (when given) set to the expected form or the specific problem.
std::optional<SocketSpec> parse_socket(std::string_view text, std::string* why = nullptr);

// Splits a validated MarkHeader value "Name: value" into {"Name", "value"}.
std::pair<std::string_view, std::string_view> split_header(std::string_view header);

// This host's name from gethostname(), as OpenDKIM's AuthservID HOSTNAME; "localhost" when
// that fails or does not give a usable authserv-id.
std::string host_name();

}  // namespace authmilter::config

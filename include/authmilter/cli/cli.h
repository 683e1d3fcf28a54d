// authmilter::cli — the command line (DESIGN §8): daemon start-up and offline `check`.
//
//   authmilter [-c FILE] [-f] [-p SOCKET] [-v]        run the milter (-f: foreground, stderr)
//   authmilter check [-c FILE] --client-ip IP --helo NAME --mail-from ADDR [--rcpt ADDR]
//                    [--json] [--zone ZONEFILE] FILE.eml
//                                                      judge one message offline (--zone:
//                                                      DNS answers from a zone file)
//   authmilter report [-c FILE] [--from TIME] [--to TIME] [--out DIR] [--send]
//                                                      RFC 9990 aggregate reports from the
//                                                      ReportStore (report/, docs/reports.md)
//   authmilter --check-config [-c FILE] | --print-defaults | --version | --help
// The daemon's start-up and stop are daemon/daemon.h's; the services of `check` are built by
//   daemon/service_set.h as the daemon's are.
// Exit codes: 0 success; 1 runtime failure (socket, DNS set-up); 2 usage; 78 (EX_CONFIG)
//   configuration error, as sendmail's sysexits.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authmilter/config/config.h"
#include "authmilter/mail/header.h"

namespace authmilter::cli {

inline constexpr const char* kDefaultConfigPath = "/etc/authmilter/authmilter.conf";
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;
// check mode reads at most this much of a message file (beyond: error, not a silent cut).
inline constexpr std::size_t kMaxCheckMessageBytes = 64 * 1024 * 1024;

int main_with_args(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `authmilter check ...` with the arguments after "check".
int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `authmilter report ...` with the arguments after "report" (docs/reports.md): one line per
// report and per destination on `out` (key=value), errors on `err`. Exit 0 when every
// report was written and every verified destination sent or already sent; 1 when one failed
// (a later run retries it; nothing is sent twice); 2 usage; 78 configuration.
int run_report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Splits a message into header fields (mail/header.h: the value exactly as after the colon,
// folding kept as CRLF + WSP, as libmilter passes it with SMFIP_HDR_LEADSPC) and the body;
// accepts CRLF or LF line ends. `check` feeds these to a Transaction exactly as the milter
// callbacks do.
struct ParsedMessage {
  std::vector<mail::HeaderField> headers;
  std::string body;
};
ParsedMessage parse_message(std::string_view raw);

// The configuration at `path` (config::Config::defaults() for an empty path), or nullopt after
// writing the error to `err`: the one way the daemon, `check` and `report` read the file, so
// all three report a bad file alike and exit kExitConfig.
std::optional<config::Config> load_config_or_explain(const std::string& path, std::ostream& err);

}  // namespace authmilter::cli

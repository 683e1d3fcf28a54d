// `authmilter report`: RFC 9990 aggregate reports from the ReportStore (cli.h, docs/reports.md).
#include <openssl/rand.h>
#include <signal.h>
#include <time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>

#include "authmilter/cli/cli.h"
#include "authmilter/config/config.h"
#include "authmilter/daemon/service_set.h"
#include "authmilter/dmarc/org_domain.h"
#include "authmilter/dmarc/record.h"
#include "authmilter/log/log.h"
#include "authmilter/report/aggregate.h"
#include "authmilter/report/delivery.h"
#include "authmilter/report/store.h"

namespace authmilter::cli {
namespace {

constexpr const char* kReportUsage =
    "usage: authmilter report [-c FILE] [--from TIME] [--to TIME] [--out DIR] [--send]\n"
    "  TIME in ISO 8601 UTC (2026-12-04T00:00:00Z or 2026-12-04); default: the previous UTC\n"
    "  day. --out DIR: write the gzipped reports there (default without --send: the current\n"
    "  directory). --send: mail each report to its rua mailto: destinations, once.\n";

constexpr std::int64_t kDay = 86400;
// The DNS budget of one destination's verification and of a policy record lookup.
constexpr std::chrono::seconds kLookupBudget{20};
// Longest file name most file systems take (NAME_MAX).
constexpr std::size_t kMaxFileName = 255;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "YYYY-MM-DDTHH:MM:SSZ" (also "+00:00" for Z) or "YYYY-MM-DD" (midnight UTC).
std::optional<std::int64_t> parse_time(std::string_view text) {
  tm parts{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  char tail[8] = {0};
  const std::string s(text);
  if (s.size() == 10) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d", &year, &month, &day) != 3) return std::nullopt;
  } else if (s.size() == 20 || s.size() == 25) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7s", &year, &month, &day, &hour, &minute,
                    &second, tail) != 7) {
      return std::nullopt;
    }
    if (std::string_view(tail) != "Z" && std::string_view(tail) != "+00:00") return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  const time_t t = timegm(&parts);
  if (parts.tm_mday != day) return std::nullopt;  // 2026-02-30 normalised away
  return static_cast<std::int64_t>(t);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("no random bytes");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c_char : raw) {
    const auto c = static_cast<unsigned char>(c_char);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

struct ReportOptions {
  std::string config_path = kDefaultConfigPath;
  std::optional<std::int64_t> from;
  std::optional<std::int64_t> to;
  std::string out_dir;
  bool send = false;
};

// The rua URIs the domain publishes now, when the records carry none.
std::vector<std::string> published_rua(std::string_view policy_domain, dns::Resolver& resolver) {
  const dns::Answer answer = resolver.lookup("_dmarc." + std::string(policy_domain),
                                             dns::RrType::kTxt, dns::Clock::now() + kLookupBudget);
  for (const dns::Record& record : answer.records) {
    if (!dmarc::is_dmarc_record(record.data)) continue;
    return dmarc::parse_record(record.data).rua;
  }
  return {};
}

bool write_file(const std::filesystem::path& path, std::string_view data, std::string* why) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!file) {
      *why = "cannot write " + temporary.string();
      return false;
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    *why = "cannot rename to " + path.string() + ": " + error.message();
    return false;
  }
  return true;
}

}  // namespace

int run_report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ReportOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "-h" || a == "--help") {
      out << kReportUsage;
      return 0;
    }
    if (a == "--send") {
      options.send = true;
    } else if (a == "-c" && has_value) {
      options.config_path = args[++i];
    } else if (a == "--out" && has_value) {
      options.out_dir = args[++i];
    } else if ((a == "--from" || a == "--to") && has_value) {
      const auto t = parse_time(args[++i]);
      if (!t) {
        err << "authmilter report: " << a << " " << args[i]
            << ": expected ISO 8601 UTC, e.g. 2026-12-04T00:00:00Z\n";
        return kExitUsage;
      }
      (a == "--from" ? options.from : options.to) = *t;
    } else {
      err << "authmilter report: bad argument '" << a << "'\n" << kReportUsage;
      return kExitUsage;
    }
  }
  const std::optional<config::Config> loaded = load_config_or_explain(options.config_path, err);
  if (!loaded) return kExitConfig;
  const config::Config& cfg = *loaded;
  std::string why;
  const auto spec = report::parse_store_spec(cfg.report_store, &why);
  if (!spec || spec->kind == report::StoreKind::kNone) {
    err << "authmilter report: ReportStore is none in " << options.config_path
        << ": nothing is recorded, so there is nothing to report\n";
    return kExitConfig;
  }
  const std::int64_t now = now_seconds();
  const std::int64_t today = now - now % kDay;
  const std::int64_t from = options.from.value_or(options.to ? *options.to - kDay : today - kDay);
  const std::int64_t to = options.to.value_or(options.from ? *options.from + kDay : today);
  if (from >= to) {
    err << "authmilter report: --from must be before --to\n";
    return kExitUsage;
  }
  if (to > now) {
    // A period still running would be reported once and miss its later messages.
    err << "authmilter report: the period ends in the future (" << to
        << "): it can be reported once it is over\n";
    return kExitUsage;
  }
  if (options.out_dir.empty() && !options.send) options.out_dir = ".";
  signal(SIGPIPE, SIG_IGN);  // sendmail(1) or the SMTP server may go away mid-message

  const std::string org_name = cfg.report_org_name.empty() ? cfg.authserv_id : cfg.report_org_name;
  const std::string email =
      cfg.report_email.empty() ? "postmaster@" + cfg.authserv_id : cfg.report_email;
  const std::string receiver = email.substr(email.rfind('@') + 1);

  int rc = 0;
  try {
    std::unique_ptr<report::Store> store = report::open_store(*spec);
    std::unique_ptr<dns::CaresResolver> resolver;
    std::unique_ptr<dmarc::OrgDomainFinder> org;
    std::unique_ptr<report::Mailer> mailer;
    if (options.send) {
      org = dmarc::OrgDomainFinder::load(cfg.public_suffix_list, &why);
      if (!org) throw std::runtime_error("PublicSuffixList " + cfg.public_suffix_list + ": " + why);
      resolver = daemon::make_resolver(cfg);
      if (cfg.report_smtp.empty()) {
        mailer = std::make_unique<report::SendmailMailer>();
      } else {
        mailer = std::make_unique<report::SmtpMailer>(cfg.report_smtp, receiver);
      }
    }
    for (const std::string& domain : store->policy_domains(from, to)) {
      const std::vector<report::Record> records = store->records(domain, from, to);
      const report::AggregateReport aggregate = report::aggregate(records);
      const std::string report_id = store->report_id_for(
          domain, from, to, std::to_string(from) + "." + random_hex(8) + "@" + receiver);
      const report::ReportMeta meta{org_name, email, report_id, from, to};
      const std::string gzipped = report::gzip(report::to_xml(aggregate, meta));
      const std::string unique_id = report_id.substr(0, report_id.find('@'));
      const std::string file_name =
          report::report_file_name(receiver, domain, from, to - 1, unique_id);
      std::string line;
      log::append_field(line, "report", domain);
      log::append_field(line, "report_id", report_id);
      log::append_field(line, "messages", std::to_string(aggregate.messages));
      log::append_field(line, "rows", std::to_string(aggregate.rows.size()));
      if (!options.out_dir.empty()) {
        if (file_name.size() > kMaxFileName) {
          log::append_field(line, "file_error", "file name longer than 255 bytes");
          rc = 1;
        } else if (!write_file(std::filesystem::path(options.out_dir) / file_name, gzipped, &why)) {
          log::append_field(line, "file_error", why);
          rc = 1;
        } else {
          log::append_field(line, "file", file_name);
        }
      }
      out << line << "\n";
      if (!options.send) continue;

      std::vector<std::string> rua = aggregate.rua;
      if (rua.empty()) rua = published_rua(domain, *resolver);
      const report::Destinations destinations = report::resolve_destinations(
          domain, rua, *resolver, *org, dns::Clock::now() + kLookupBudget);
      for (const std::string& refused : destinations.refused) {
        std::string l;
        log::append_field(l, "report", domain);
        log::append_field(l, "refused", refused);
        out << l << "\n";
      }
      for (const std::string& deferred : destinations.deferred) {
        std::string l;
        log::append_field(l, "report", domain);
        log::append_field(l, "deferred", deferred);
        out << l << "\n";
      }
      if (rua.empty()) {
        std::string l;
        log::append_field(l, "report", domain);
        log::append_field(l, "no_destination", "the domain asks for no aggregate reports");
        out << l << "\n";
      }
      const report::MailParts parts{org_name,  email,   receiver, report_id, domain,
                                    file_name, gzipped, from,     to - 1};
      for (const report::Mailbox& to_box : destinations.send_to) {
        std::string l;
        log::append_field(l, "report", domain);
        log::append_field(l, "to", to_box.address);
        if (!store->claim_delivery(report_id, to_box.address)) {
          log::append_field(l, "status", "already_sent");
          out << l << "\n";
          continue;
        }
        try {
          mailer->send(email, to_box, report::report_mail(parts, to_box, now_seconds()));
          store->finish_delivery(report_id, to_box.address, true);
          log::append_field(l, "status", "sent");
        } catch (const report::DeliveryError& e) {
          store->finish_delivery(report_id, to_box.address, false);
          log::append_field(l, "status", "failed");
          log::append_field(l, "error", e.what());
          rc = 1;
        }
        out << l << "\n";
      }
    }
    const std::uint64_t purged =
        store->purge(now - static_cast<std::int64_t>(cfg.report_retention));
    std::string l;
    log::append_field(l, "purged_records", std::to_string(purged));
    out << l << "\n";
  } catch (const std::exception& e) {
    err << "authmilter report: " << e.what() << "\n";
    return 1;
  }
  return rc;
}

}  // namespace authmilter::cli

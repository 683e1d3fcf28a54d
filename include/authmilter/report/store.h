// authmilter::report::Store — where DMARC report records live between the milter and
// `authmilter report` (issue 14; DESIGN §7 ReportStore).
//
// What: one interface, two implementations on the databases' own client libraries:
//   sqlite:/path        SQLite (libsqlite3), WAL journal, one file (the systemd unit's
//                       StateDirectory); one writer at a time, readers alongside.
//   postgresql://...    PostgreSQL (libpq); several gateways write into one database and any
//   postgres://...      one of them (or a cron job elsewhere) reports for all.
//   The schema is created and migrated by open_store() under a version number
//   (kSchemaVersion, table authmilter_schema); a database newer than this program is refused.
//   Two processes migrating at once serialise on BEGIN IMMEDIATE (SQLite) or an advisory
//   lock (PostgreSQL).
// Reporting state: a report for (policy domain, period) gets one report_id, the first
//   claimant's (report_id_for()); each destination of a report is claimed once
//   (claim_delivery(): INSERT that only one process can win), so re-running `report`, or two
//   gateways running it at once, never sends twice. A failed delivery releases its claim
//   (a later run retries it); a process killed mid-delivery leaves the claim taken: at most
//   once, never twice.
// Limits: connect and statement time-outs (kPgTimeoutSeconds, SQLite busy_timeout) so a
//   database that hangs turns into a StoreError instead of a stuck writer thread.
// Thread-safety: one Store per thread (the Recorder's writer thread, the report command).
// Security: values go in as bound parameters only, never into SQL text. The PostgreSQL URI
//   may hold a password: it is never logged (describe() drops it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/report/record.h"

namespace authmilter::report {

inline constexpr int kSchemaVersion = 1;
inline constexpr int kPgTimeoutSeconds = 10;
inline constexpr int kSqliteBusyMilliseconds = 10000;

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class StoreKind { kNone, kSqlite, kPostgresql };

struct StoreSpec {
  StoreKind kind = StoreKind::kNone;
  std::string target;  // the SQLite path, or the whole PostgreSQL URI
  // "sqlite:/path" or "postgresql://host:port/db" (no user or password): for logs.
  std::string describe() const;
};
// "none", "sqlite:/abs/path", "postgresql://..." or "postgres://..."; nullopt (and `why`)
// otherwise.
std::optional<StoreSpec> parse_store_spec(std::string_view text, std::string* why = nullptr);

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // All or nothing, in one transaction.
  virtual void insert(std::span<const Record> records) = 0;
  // Policy domains with records in [begin, end) (seconds since the epoch), sorted.
  virtual std::vector<std::string> policy_domains(std::int64_t begin, std::int64_t end) = 0;
  // That domain's records in [begin, end), oldest first.
  virtual std::vector<Record> records(std::string_view policy_domain, std::int64_t begin,
                                      std::int64_t end) = 0;
  // The report_id of (domain, begin, end): `proposed` when this call created it, otherwise
  // the one stored first.
  virtual std::string report_id_for(std::string_view policy_domain, std::int64_t begin,
                                    std::int64_t end, std::string_view proposed) = 0;
  // True when this call claimed (report_id, destination) for sending; false when it is
  // already sent or being sent.
  virtual bool claim_delivery(std::string_view report_id, std::string_view destination) = 0;
  // After a claimed delivery: sent (kept for ever, until purged) or failed (claim released).
  virtual void finish_delivery(std::string_view report_id, std::string_view destination,
                               bool sent) = 0;
  // Destinations already sent for a report.
  virtual std::vector<std::string> sent_destinations(std::string_view report_id) = 0;
  // Deletes records, reports and deliveries older than `before`; returns the records deleted.
  virtual std::uint64_t purge(std::int64_t before) = 0;
  virtual int schema_version() = 0;
};

// Opens (creating or migrating the schema). Throws StoreError; kind kNone is an error.
std::unique_ptr<Store> open_store(const StoreSpec& spec);

// The record lists as stored in one text column (internal; exposed for tests): fields
// separated by TAB, items by LF, '%', TAB, LF and CR percent-encoded.
std::string encode_items(const std::vector<std::vector<std::string>>& items);
std::vector<std::vector<std::string>> decode_items(std::string_view text);

}  // namespace authmilter::report

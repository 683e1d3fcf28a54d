// The SQLite ReportStore (store.h): WAL journal, busy time-out, schema under a version.
#include <sqlite3.h>

#include <chrono>
#include <memory>

#include "authmilter/report/store.h"
#include "store_rows.h"

namespace authmilter::report {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);  // closed on every path, also when the open failed
    if (rc != SQLITE_OK) fail("open");
    sqlite3_busy_timeout(db_.get(), kSqliteBusyMilliseconds);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    migrate();
  }

  void insert(std::span<const Record> records) override {
    if (records.empty()) return;
    exec("BEGIN IMMEDIATE");
    try {
      Stmt stmt = prepare(detail::insert_statement());
      for (const Record& record : records) {
        sqlite3_reset(stmt.get());
        sqlite3_bind_int64(stmt.get(), 1, record.time);
        const std::vector<std::string> columns = detail::to_columns(record);
        for (std::size_t i = 0; i < columns.size(); ++i)
          bind(stmt, static_cast<int>(i + 2), columns[i]);
        step_done(stmt, "insert");
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::vector<std::string> policy_domains(std::int64_t begin, std::int64_t end) override {
    Stmt stmt = prepare(
        "SELECT DISTINCT policy_domain FROM dmarc_records WHERE t >= ?1 AND t < ?2 "
        "ORDER BY policy_domain");
    sqlite3_bind_int64(stmt.get(), 1, begin);
    sqlite3_bind_int64(stmt.get(), 2, end);
    std::vector<std::string> domains;
    while (step_row(stmt, "select")) domains.push_back(text(stmt, 0));
    return domains;
  }

  std::vector<Record> records(std::string_view policy_domain, std::int64_t begin,
                              std::int64_t end) override {
    Stmt stmt = prepare(detail::to_sqlite_parameters(detail::select_statement()));
    bind(stmt, 1, policy_domain);
    sqlite3_bind_int64(stmt.get(), 2, begin);
    sqlite3_bind_int64(stmt.get(), 3, end);
    std::vector<Record> out;
    const int columns = static_cast<int>(detail::kRecordColumns.size());
    while (step_row(stmt, "select")) {
      std::vector<std::string> values;
      for (int i = 0; i < columns; ++i) values.push_back(text(stmt, i + 1));
      out.push_back(detail::from_columns(sqlite3_column_int64(stmt.get(), 0), values));
    }
    return out;
  }

  std::string report_id_for(std::string_view policy_domain, std::int64_t begin, std::int64_t end,
                            std::string_view proposed) override {
    Stmt insert = prepare(
        "INSERT INTO dmarc_reports (policy_domain, period_begin, period_end, report_id, created) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
    bind(insert, 1, policy_domain);
    sqlite3_bind_int64(insert.get(), 2, begin);
    sqlite3_bind_int64(insert.get(), 3, end);
    bind(insert, 4, proposed);
    sqlite3_bind_int64(insert.get(), 5, now_seconds());
    step_done(insert, "insert report");
    Stmt select = prepare(
        "SELECT report_id FROM dmarc_reports WHERE policy_domain = ?1 AND period_begin = ?2 "
        "AND period_end = ?3");
    bind(select, 1, policy_domain);
    sqlite3_bind_int64(select.get(), 2, begin);
    sqlite3_bind_int64(select.get(), 3, end);
    if (!step_row(select, "select report"))
      throw StoreError("sqlite " + path_ + ": report row vanished");
    return text(select, 0);
  }

  bool claim_delivery(std::string_view report_id, std::string_view destination) override {
    Stmt stmt = prepare(
        "INSERT INTO dmarc_deliveries (report_id, destination, status, updated) "
        "VALUES (?1, ?2, 'sending', ?3) ON CONFLICT DO NOTHING");
    bind(stmt, 1, report_id);
    bind(stmt, 2, destination);
    sqlite3_bind_int64(stmt.get(), 3, now_seconds());
    step_done(stmt, "claim");
    return sqlite3_changes(db_.get()) == 1;
  }

  void finish_delivery(std::string_view report_id, std::string_view destination,
                       bool sent) override {
    Stmt stmt = prepare(sent ? "UPDATE dmarc_deliveries SET status = 'sent', updated = ?3 "
                               "WHERE report_id = ?1 AND destination = ?2"
                             : "DELETE FROM dmarc_deliveries WHERE report_id = ?1 AND "
                               "destination = ?2 AND status = 'sending'");
    bind(stmt, 1, report_id);
    bind(stmt, 2, destination);
    sqlite3_bind_int64(stmt.get(), 3, now_seconds());
    step_done(stmt, "finish delivery");
  }

  std::vector<std::string> sent_destinations(std::string_view report_id) override {
    Stmt stmt = prepare(
        "SELECT destination FROM dmarc_deliveries WHERE report_id = ?1 AND status = 'sent' "
        "ORDER BY destination");
    bind(stmt, 1, report_id);
    std::vector<std::string> out;
    while (step_row(stmt, "select")) out.push_back(text(stmt, 0));
    return out;
  }

  std::uint64_t purge(std::int64_t before) override {
    exec("BEGIN IMMEDIATE");
    try {
      Stmt records = prepare("DELETE FROM dmarc_records WHERE t < ?1");
      sqlite3_bind_int64(records.get(), 1, before);
      step_done(records, "purge");
      const auto deleted = static_cast<std::uint64_t>(sqlite3_changes(db_.get()));
      Stmt deliveries = prepare(
          "DELETE FROM dmarc_deliveries WHERE report_id IN (SELECT report_id FROM dmarc_reports "
          "WHERE period_end <= ?1)");
      sqlite3_bind_int64(deliveries.get(), 1, before);
      step_done(deliveries, "purge");
      Stmt reports = prepare("DELETE FROM dmarc_reports WHERE period_end <= ?1");
      sqlite3_bind_int64(reports.get(), 1, before);
      step_done(reports, "purge");
      exec("COMMIT");
      return deleted;
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  int schema_version() override {
    Stmt stmt = prepare("SELECT version FROM authmilter_schema");
    if (!step_row(stmt, "select")) return 0;
    return sqlite3_column_int(stmt.get(), 0);
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw StoreError("sqlite " + path_ + ": " + what + ": " +
                     (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
  }

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message != nullptr ? message : "error";
      sqlite3_free(message);
      throw StoreError("sqlite " + path_ + ": " + text);
    }
  }

  Stmt prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      fail("prepare");
    }
    return Stmt(raw);
  }

  void bind(const Stmt& stmt, int index, std::string_view value) {
    if (sqlite3_bind_text64(stmt.get(), index, value.data(), value.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8) != SQLITE_OK) {
      fail("bind");
    }
  }

  void step_done(const Stmt& stmt, const char* what) {
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) fail(what);
  }

  bool step_row(const Stmt& stmt, const char* what) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(what);
  }

  static std::string text(const Stmt& stmt, int column) {
    const unsigned char* value = sqlite3_column_text(stmt.get(), column);
    const int bytes = sqlite3_column_bytes(stmt.get(), column);
    return value == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(value), static_cast<std::size_t>(bytes));
  }

  void migrate() {
    exec("BEGIN IMMEDIATE");
    try {
      exec("CREATE TABLE IF NOT EXISTS authmilter_schema (version INTEGER NOT NULL)");
      const int version = schema_version();
      if (version > kSchemaVersion) {
        throw StoreError("sqlite " + path_ + ": schema version " + std::to_string(version) +
                         " is newer than this program's (" + std::to_string(kSchemaVersion) + ")");
      }
      if (version < 1) {
        for (const std::string& sql : detail::schema_statements("INTEGER PRIMARY KEY")) exec(sql);
        exec("INSERT INTO authmilter_schema (version) VALUES (1)");
      }
      // Later versions: `if (version < 2) { ALTER ...; UPDATE authmilter_schema ... }`.
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::string path_;
  Db db_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace authmilter::report

// The PostgreSQL ReportStore (store.h) on libpq: connect and statement time-outs, the schema
// migrated under an advisory lock so gateways starting together do not race.
#include <libpq-fe.h>

#include <chrono>
#include <memory>

#include "authmilter/report/store.h"
#include "store_rows.h"

namespace authmilter::report {
namespace {

// Any constant: the advisory lock two processes migrating at once serialise on.
constexpr long long kMigrationLock = 0x61757468'6d696c74;  // "authmilt"

struct ConnFinish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Conn = std::unique_ptr<PGconn, ConnFinish>;
using Result = std::unique_ptr<PGresult, ResultClear>;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PostgresqlStore final : public Store {
 public:
  PostgresqlStore(const std::string& uri, std::string description)
      : description_(std::move(description)) {
    const std::string timeout = std::to_string(kPgTimeoutSeconds);
    const std::string options = "-c statement_timeout=" + std::to_string(kPgTimeoutSeconds * 1000) +
                                " -c lock_timeout=" + std::to_string(kPgTimeoutSeconds * 1000);
    // expand_dbname: the URI is the "dbname" value; the later keywords add to it.
    const char* keywords[] = {"dbname",     "connect_timeout", "options", "application_name",
                              "keepalives", "keepalives_idle", nullptr};
    const char* values[] = {uri.c_str(), timeout.c_str(), options.c_str(), "authmilter", "1",
                            "30",        nullptr};
    conn_.reset(PQconnectdbParams(keywords, values, 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) fail("connect");
    migrate();
  }

  void insert(std::span<const Record> records) override {
    if (records.empty()) return;
    command("BEGIN");
    try {
      for (const Record& record : records) {
        std::vector<std::string> values = detail::to_columns(record);
        values.insert(values.begin(), std::to_string(record.time));
        run(detail::insert_statement(), values, PGRES_COMMAND_OK);
      }
      command("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }

  std::vector<std::string> policy_domains(std::int64_t begin, std::int64_t end) override {
    const Result result =
        run("SELECT DISTINCT policy_domain FROM dmarc_records WHERE t >= $1 AND t < $2 "
            "ORDER BY policy_domain",
            {std::to_string(begin), std::to_string(end)}, PGRES_TUPLES_OK);
    std::vector<std::string> domains;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      domains.push_back(value(result, row, 0));
    }
    return domains;
  }

  std::vector<Record> records(std::string_view policy_domain, std::int64_t begin,
                              std::int64_t end) override {
    const Result result = run(
        detail::select_statement(),
        {std::string(policy_domain), std::to_string(begin), std::to_string(end)}, PGRES_TUPLES_OK);
    std::vector<Record> out;
    const int columns = static_cast<int>(detail::kRecordColumns.size());
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      std::vector<std::string> values;
      for (int i = 0; i < columns; ++i) values.push_back(value(result, row, i + 1));
      out.push_back(detail::from_columns(std::stoll(value(result, row, 0)), values));
    }
    return out;
  }

  std::string report_id_for(std::string_view policy_domain, std::int64_t begin, std::int64_t end,
                            std::string_view proposed) override {
    const std::vector<std::string> key{std::string(policy_domain), std::to_string(begin),
                                       std::to_string(end)};
    run("INSERT INTO dmarc_reports (policy_domain, period_begin, period_end, report_id, created) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        {key[0], key[1], key[2], std::string(proposed), std::to_string(now_seconds())},
        PGRES_COMMAND_OK);
    const Result result =
        run("SELECT report_id FROM dmarc_reports WHERE policy_domain = $1 AND period_begin = $2 "
            "AND period_end = $3",
            key, PGRES_TUPLES_OK);
    if (PQntuples(result.get()) != 1) throw StoreError(description_ + ": report row vanished");
    return value(result, 0, 0);
  }

  bool claim_delivery(std::string_view report_id, std::string_view destination) override {
    const Result result =
        run("INSERT INTO dmarc_deliveries (report_id, destination, status, updated) "
            "VALUES ($1, $2, 'sending', $3) ON CONFLICT DO NOTHING",
            {std::string(report_id), std::string(destination), std::to_string(now_seconds())},
            PGRES_COMMAND_OK);
    return std::string_view(PQcmdTuples(result.get())) == "1";
  }

  void finish_delivery(std::string_view report_id, std::string_view destination,
                       bool sent) override {
    if (sent) {
      run("UPDATE dmarc_deliveries SET status = 'sent', updated = $3 WHERE report_id = $1 AND "
          "destination = $2",
          {std::string(report_id), std::string(destination), std::to_string(now_seconds())},
          PGRES_COMMAND_OK);
    } else {
      run("DELETE FROM dmarc_deliveries WHERE report_id = $1 AND destination = $2 AND "
          "status = 'sending'",
          {std::string(report_id), std::string(destination)}, PGRES_COMMAND_OK);
    }
  }

  std::vector<std::string> sent_destinations(std::string_view report_id) override {
    const Result result =
        run("SELECT destination FROM dmarc_deliveries WHERE report_id = $1 AND status = 'sent' "
            "ORDER BY destination",
            {std::string(report_id)}, PGRES_TUPLES_OK);
    std::vector<std::string> out;
    for (int row = 0; row < PQntuples(result.get()); ++row) out.push_back(value(result, row, 0));
    return out;
  }

  std::uint64_t purge(std::int64_t before) override {
    const std::vector<std::string> at{std::to_string(before)};
    command("BEGIN");
    try {
      const Result records = run("DELETE FROM dmarc_records WHERE t < $1", at, PGRES_COMMAND_OK);
      run("DELETE FROM dmarc_deliveries WHERE report_id IN (SELECT report_id FROM dmarc_reports "
          "WHERE period_end <= $1)",
          at, PGRES_COMMAND_OK);
      run("DELETE FROM dmarc_reports WHERE period_end <= $1", at, PGRES_COMMAND_OK);
      command("COMMIT");
      return std::stoull(PQcmdTuples(records.get()));
    } catch (...) {
      rollback();
      throw;
    }
  }

  int schema_version() override {
    const Result result = run("SELECT version FROM authmilter_schema", {}, PGRES_TUPLES_OK);
    if (PQntuples(result.get()) == 0) return 0;
    return std::stoi(value(result, 0, 0));
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    std::string message = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    throw StoreError(description_ + ": " + what + ": " + message);
  }

  Result run(const std::string& sql, const std::vector<std::string>& values,
             ExecStatusType expected) {
    std::vector<const char*> params;
    for (const std::string& v : values) params.push_back(v.c_str());
    Result result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                               params.data(), nullptr, nullptr, 0));
    if (!result || PQresultStatus(result.get()) != expected) {
      std::string message = result ? PQresultErrorMessage(result.get()) : "";
      if (message.empty()) fail("query");
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
        message.pop_back();
      }
      for (char& c : message) {
        if (c == '\n') c = ' ';
      }
      throw StoreError(description_ + ": " + message);
    }
    return result;
  }

  void command(const std::string& sql) { run(sql, {}, PGRES_COMMAND_OK); }
  void rollback() { Result(PQexec(conn_.get(), "ROLLBACK")); }

  static std::string value(const Result& result, int row, int column) {
    return std::string(PQgetvalue(result.get(), row, column),
                       static_cast<std::size_t>(PQgetlength(result.get(), row, column)));
  }

  void migrate() {
    command("BEGIN");
    try {
      run("SELECT pg_advisory_xact_lock($1)", {std::to_string(kMigrationLock)}, PGRES_TUPLES_OK);
      command("CREATE TABLE IF NOT EXISTS authmilter_schema (version INTEGER NOT NULL)");
      const int version = schema_version();
      if (version > kSchemaVersion) {
        throw StoreError(description_ + ": schema version " + std::to_string(version) +
                         " is newer than this program's (" + std::to_string(kSchemaVersion) + ")");
      }
      if (version < 1) {
        for (const std::string& sql : detail::schema_statements("BIGSERIAL PRIMARY KEY")) {
          command(sql);
        }
        command("INSERT INTO authmilter_schema (version) VALUES (1)");
      }
      command("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }

  std::string description_;
  Conn conn_;
};

}  // namespace

std::unique_ptr<Store> open_postgresql_store(const std::string& uri) {
  StoreSpec spec{StoreKind::kPostgresql, uri};
  return std::make_unique<PostgresqlStore>(uri, spec.describe());
}

}  // namespace authmilter::report

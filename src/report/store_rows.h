// authmilter::report::detail — one Record as a row of text columns, shared by the SQLite and
// PostgreSQL stores so both keep the same schema (kSchemaStatements) and column order.
// Internal to the report module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "authmilter/report/record.h"

namespace authmilter::report::detail {

// The text columns of dmarc_records after id and t, in order.
extern const std::vector<std::string_view> kRecordColumns;
// The schema, version kSchemaVersion; `id_type` is the primary key column's type
// ("INTEGER PRIMARY KEY" for SQLite, "BIGSERIAL PRIMARY KEY" for PostgreSQL).
std::vector<std::string> schema_statements(std::string_view id_type);

std::vector<std::string> to_columns(const Record& record);
// nullopt-free: missing or malformed columns give empty fields (the store never holds those,
// but a hand-edited database must not crash the report).
Record from_columns(std::int64_t time, const std::vector<std::string>& columns);

// "INSERT INTO dmarc_records (t, c1, ...) VALUES ($1, $2, ...)"
std::string insert_statement();
// "SELECT t, c1, ... FROM dmarc_records WHERE policy_domain = $1 AND t >= $2 AND t < $3
//  ORDER BY t, id"
std::string select_statement();
// PostgreSQL numbered parameters ($1) as SQLite's (?1).
std::string to_sqlite_parameters(std::string_view sql);

}  // namespace authmilter::report::detail

#include "authmilter/report/store.h"

#include <cstdint>

#include "authmilter/util/ascii.h"
#include "store_rows.h"

namespace authmilter::report {

std::unique_ptr<Store> open_sqlite_store(const std::string& path);     // sqlite_store.cc
std::unique_ptr<Store> open_postgresql_store(const std::string& uri);  // postgresql_store.cc

namespace {

bool has_control(std::string_view text) {
  for (const char c_char : text) {
    const auto c = static_cast<unsigned char>(c_char);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void append_escaped(std::string& out, std::string_view field) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c_char : field) {
    const auto c = static_cast<unsigned char>(c_char);
    if (c == '%' || c == '\t' || c == '\n' || c == '\r') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string unescape(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '%' && i + 2 < field.size()) {
      const int hi = hex_value(field[i + 1]);
      const int lo = hex_value(field[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

std::string StoreSpec::describe() const {
  switch (kind) {
    case StoreKind::kNone:
      return "none";
    case StoreKind::kSqlite:
      return "sqlite:" + target;
    case StoreKind::kPostgresql: {
      // postgresql://user:password@host:port/db?x -> postgresql://host:port/db
      const std::size_t scheme_end = target.find("://");
      std::string rest = target.substr(scheme_end + 3);
      const std::size_t query = rest.find('?');
      if (query != std::string::npos) rest.erase(query);
      const std::size_t path = rest.find('/');
      const std::size_t at = rest.rfind('@', path == std::string::npos ? rest.size() : path);
      if (at != std::string::npos) rest.erase(0, at + 1);
      return "postgresql://" + rest;
    }
  }
  return "none";
}

std::optional<StoreSpec> parse_store_spec(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<StoreSpec> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  constexpr std::string_view kExpected =
      "expected none, sqlite:/absolute/path or postgresql://[user[:password]@]host[:port]/db";
  if (has_control(text) || text.empty()) return fail(std::string(kExpected));
  if (util::iequals_ascii(text, "none")) return StoreSpec{};
  if (util::istarts_with_ascii(text, "sqlite:")) {
    const std::string_view path = text.substr(7);
    if (path.size() < 2 || path.front() != '/' || path.back() == '/') {
      return fail("expected sqlite: and an absolute file path");
    }
    return StoreSpec{StoreKind::kSqlite, std::string(path)};
  }
  if (util::istarts_with_ascii(text, "postgresql://") ||
      util::istarts_with_ascii(text, "postgres://")) {
    const std::size_t rest = text.find("://") + 3;
    if (rest >= text.size() || text.find(' ') != std::string_view::npos) {
      return fail(std::string(kExpected));
    }
    return StoreSpec{StoreKind::kPostgresql, std::string(text)};
  }
  return fail(std::string(kExpected));
}

std::unique_ptr<Store> open_store(const StoreSpec& spec) {
  switch (spec.kind) {
    case StoreKind::kSqlite:
      return open_sqlite_store(spec.target);
    case StoreKind::kPostgresql:
      return open_postgresql_store(spec.target);
    case StoreKind::kNone:
      break;
  }
  throw StoreError("ReportStore is none: no report store configured");
}

std::string encode_items(const std::vector<std::vector<std::string>>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back('\n');
    for (std::size_t f = 0; f < items[i].size(); ++f) {
      if (f > 0) out.push_back('\t');
      append_escaped(out, items[i][f]);
    }
  }
  return out;
}

std::vector<std::vector<std::string>> decode_items(std::string_view text) {
  std::vector<std::vector<std::string>> items;
  if (text.empty()) return items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    std::vector<std::string> fields;
    std::size_t f = 0;
    while (true) {
      std::size_t tab = line.find('\t', f);
      if (tab == std::string_view::npos) tab = line.size();
      fields.push_back(unescape(line.substr(f, tab - f)));
      if (tab == line.size()) break;
      f = tab + 1;
    }
    items.push_back(std::move(fields));
    start = end + 1;
  }
  return items;
}

namespace detail {

const std::vector<std::string_view> kRecordColumns = {
    "source_ip", "header_from", "envelope_from", "envelope_to", "policy_domain", "p",
    "sp",        "np",          "adkim",         "aspf",        "testing",       "discovery",
    "psd",       "disposition", "dmarc_dkim",    "dmarc_spf",   "reasons",       "dkim",
    "spf",       "rua"};

std::vector<std::string> schema_statements(std::string_view id_type) {
  std::string records = "CREATE TABLE IF NOT EXISTS dmarc_records (id " + std::string(id_type) +
                        ", t BIGINT NOT NULL";
  for (std::string_view column : kRecordColumns) {
    records += ", " + std::string(column) + " TEXT NOT NULL";
  }
  records += ")";
  return {
      records,
      "CREATE INDEX IF NOT EXISTS dmarc_records_by_time ON dmarc_records (t, policy_domain)",
      "CREATE TABLE IF NOT EXISTS dmarc_reports (policy_domain TEXT NOT NULL, "
      "period_begin BIGINT NOT NULL, period_end BIGINT NOT NULL, report_id TEXT NOT NULL "
      "UNIQUE, created BIGINT NOT NULL, PRIMARY KEY (policy_domain, period_begin, period_end))",
      "CREATE TABLE IF NOT EXISTS dmarc_deliveries (report_id TEXT NOT NULL, destination TEXT "
      "NOT NULL, status TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (report_id, "
      "destination))",
  };
}

std::vector<std::string> to_columns(const Record& r) {
  std::vector<std::vector<std::string>> reasons;
  for (const auto& reason : r.reasons) reasons.push_back({reason.type, reason.comment});
  std::vector<std::vector<std::string>> dkim;
  for (const auto& d : r.dkim) dkim.push_back({d.domain, d.selector, d.result});
  std::vector<std::vector<std::string>> spf;
  if (r.spf) spf.push_back({r.spf->domain, r.spf->scope, r.spf->result});
  std::vector<std::vector<std::string>> rua;
  for (const auto& uri : r.rua) rua.push_back({uri});
  return {r.source_ip,
          r.header_from,
          r.envelope_from,
          r.envelope_to,
          r.policy_domain,
          r.p,
          r.sp,
          r.np,
          r.adkim,
          r.aspf,
          r.testing,
          r.discovery_method,
          r.psd,
          r.disposition,
          r.dmarc_dkim,
          r.dmarc_spf,
          encode_items(reasons),
          encode_items(dkim),
          encode_items(spf),
          encode_items(rua)};
}

Record from_columns(std::int64_t time, const std::vector<std::string>& c) {
  auto at = [&](std::size_t i) -> const std::string& {
    static const std::string kEmpty;
    return i < c.size() ? c[i] : kEmpty;
  };
  auto field = [](const std::vector<std::string>& item, std::size_t i) {
    return i < item.size() ? item[i] : std::string();
  };
  Record r;
  r.time = time;
  r.source_ip = at(0);
  r.header_from = at(1);
  r.envelope_from = at(2);
  r.envelope_to = at(3);
  r.policy_domain = at(4);
  r.p = at(5);
  r.sp = at(6);
  r.np = at(7);
  r.adkim = at(8);
  r.aspf = at(9);
  r.testing = at(10);
  r.discovery_method = at(11);
  r.psd = at(12);
  r.disposition = at(13);
  r.dmarc_dkim = at(14);
  r.dmarc_spf = at(15);
  for (const auto& item : decode_items(at(16))) {
    r.reasons.push_back({field(item, 0), field(item, 1)});
  }
  for (const auto& item : decode_items(at(17))) {
    r.dkim.push_back({field(item, 0), field(item, 1), field(item, 2)});
  }
  for (const auto& item : decode_items(at(18))) {
    r.spf = SpfAuth{field(item, 0), field(item, 1), field(item, 2)};
  }
  for (const auto& item : decode_items(at(19))) r.rua.push_back(field(item, 0));
  return r;
}

std::string insert_statement() {
  std::string sql = "INSERT INTO dmarc_records (t";
  for (std::string_view column : kRecordColumns) sql += ", " + std::string(column);
  sql += ") VALUES ($1";
  for (std::size_t i = 0; i < kRecordColumns.size(); ++i) sql += ", $" + std::to_string(i + 2);
  sql += ")";
  return sql;
}

std::string select_statement() {
  std::string sql = "SELECT t";
  for (std::string_view column : kRecordColumns) sql += ", " + std::string(column);
  sql += " FROM dmarc_records WHERE policy_domain = $1 AND t >= $2 AND t < $3 ORDER BY t, id";
  return sql;
}

std::string to_sqlite_parameters(std::string_view sql) {
  std::string out(sql);
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

}  // namespace detail
}  // namespace authmilter::report

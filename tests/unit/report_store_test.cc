// The SQLite ReportStore: schema and version, records in and out, report ids, delivery claims
// (nothing twice), purge; the store spec parser; the list encoding.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "authmilter/report/store.h"
#include "temp_dir.h"

namespace authmilter::report {
namespace {

using TempDir = authmilter::testing::TempDir;

Record sample(std::int64_t time, std::string ip = "192.0.2.1", std::string domain = "example.org") {
  Record r;
  r.time = time;
  r.source_ip = std::move(ip);
  r.header_from = domain;
  r.envelope_from = "bounce." + domain;
  r.envelope_to = "example.net";
  r.policy_domain = domain;
  r.p = "reject";
  r.sp = "quarantine";
  r.adkim = "r";
  r.aspf = "s";
  r.discovery_method = "psl";
  r.disposition = "reject";
  r.dmarc_dkim = "fail";
  r.dmarc_spf = "fail";
  r.reasons = {{"local_policy", "DMARCReject mark\twith\ttabs\nand % lines"}};
  r.dkim = {{domain, "s1", "fail"}, {"other.example", "sel", "pass"}};
  r.spf = SpfAuth{"bounce." + domain, "mfrom", "softfail"};
  r.rua = {"mailto:dmarc@" + domain, "mailto:x@y.example!10m"};
  return r;
}

StoreSpec sqlite_spec(const TempDir& dir) {
  return StoreSpec{StoreKind::kSqlite, dir.path() + "/reports.db"};
}

TEST(ReportStoreSpec, ParsesTheThreeForms) {
  auto none = parse_store_spec("none");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->kind, StoreKind::kNone);
  auto lite = parse_store_spec("sqlite:/var/lib/authmilter/reports.db");
  ASSERT_TRUE(lite);
  EXPECT_EQ(lite->kind, StoreKind::kSqlite);
  EXPECT_EQ(lite->target, "/var/lib/authmilter/reports.db");
  auto pg = parse_store_spec("postgresql://milter:s3cret@db.example:5433/reports?sslmode=require");
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->kind, StoreKind::kPostgresql);
  EXPECT_EQ(pg->describe(), "postgresql://db.example:5433/reports");  // no password in logs
  EXPECT_TRUE(parse_store_spec("postgres://localhost/db"));
}

TEST(ReportStoreSpec, RefusesOtherForms) {
  std::string why;
  EXPECT_FALSE(parse_store_spec("sqlite:relative.db", &why));
  EXPECT_NE(why.find("absolute"), std::string::npos);
  EXPECT_FALSE(parse_store_spec("mysql://x/y"));
  EXPECT_FALSE(parse_store_spec(""));
  EXPECT_FALSE(parse_store_spec("sqlite:/a\n.db"));
  EXPECT_FALSE(parse_store_spec("postgresql://"));
}

TEST(ReportStoreItems, RoundTripsAwkwardFields) {
  const std::vector<std::vector<std::string>> items{{"a\tb", "c\nd", "100%"}, {"", "", ""}, {"\r"}};
  EXPECT_EQ(decode_items(encode_items(items)), items);
  EXPECT_TRUE(decode_items("").empty());
}

TEST(SqliteStore, CreatesTheSchemaWithItsVersion) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  EXPECT_EQ(store->schema_version(), kSchemaVersion);
  store.reset();
  // Opening again finds the version and migrates nothing.
  EXPECT_EQ(open_store(sqlite_spec(dir))->schema_version(), kSchemaVersion);
}

TEST(SqliteStore, UsesWal) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/reports.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteStore, RefusesANewerSchema) {
  TempDir dir;
  open_store(sqlite_spec(dir)).reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/reports.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE authmilter_schema SET version = 99", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  try {
    open_store(sqlite_spec(dir));
    FAIL() << "a newer schema was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, OpenFailureIsAStoreError) {
  EXPECT_THROW(open_store(StoreSpec{StoreKind::kSqlite, "/nonexistent-dir/x/reports.db"}),
               StoreError);
  EXPECT_THROW(open_store(StoreSpec{}), StoreError);
}

TEST(SqliteStore, RecordsComeBackAsTheyWentIn) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  const std::vector<Record> in{sample(1000), sample(1500, "2001:db8::1"),
                               sample(1200, "192.0.2.9", "other.example"), sample(2000)};
  store->insert(in);
  EXPECT_EQ(store->policy_domains(1000, 2000),
            (std::vector<std::string>{"example.org", "other.example"}));
  const std::vector<Record> out = store->records("example.org", 1000, 2000);  // end exclusive
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], in[0]);
  EXPECT_EQ(out[1], in[1]);
  EXPECT_TRUE(store->records("example.org", 0, 1000).empty());
  EXPECT_TRUE(store->records("nobody.example", 0, 5000).empty());
}

TEST(SqliteStore, EightBitAndLongFieldsSurvive) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  Record r = sample(10, "192.0.2.1",
                    std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                        "." + std::string(61, 'd'));
  ASSERT_EQ(r.header_from.size(), 253u);
  r.dkim[0].selector = "s\xC3\xA9l";  // UTF-8
  store->insert(std::vector<Record>{r});
  const auto out = store->records(r.policy_domain, 0, 100);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], r);
}

TEST(SqliteStore, OneReportIdPerDomainAndPeriod) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  EXPECT_EQ(store->report_id_for("example.org", 0, 86400, "first"), "first");
  EXPECT_EQ(store->report_id_for("example.org", 0, 86400, "second"), "first");
  EXPECT_EQ(store->report_id_for("example.org", 86400, 172800, "third"), "third");
  // A second process (connection) sees the same.
  auto other = open_store(sqlite_spec(dir));
  EXPECT_EQ(other->report_id_for("example.org", 0, 86400, "fourth"), "first");
}

TEST(SqliteStore, ADeliveryIsClaimedOnce) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  auto other = open_store(sqlite_spec(dir));
  EXPECT_TRUE(store->claim_delivery("r1", "a@example.org"));
  EXPECT_FALSE(other->claim_delivery("r1", "a@example.org"));  // being sent elsewhere
  EXPECT_TRUE(other->claim_delivery("r1", "b@example.org"));
  store->finish_delivery("r1", "a@example.org", true);
  other->finish_delivery("r1", "b@example.org", false);        // failed: released
  EXPECT_FALSE(store->claim_delivery("r1", "a@example.org"));  // sent: never again
  EXPECT_EQ(store->sent_destinations("r1"), std::vector<std::string>{"a@example.org"});
  EXPECT_TRUE(store->claim_delivery("r1", "b@example.org"));  // retried later
}

TEST(SqliteStore, PurgeDeletesWhatIsOlder) {
  TempDir dir;
  auto store = open_store(sqlite_spec(dir));
  store->insert(std::vector<Record>{sample(100), sample(200), sample(300)});
  store->report_id_for("example.org", 0, 150, "old");
  store->report_id_for("example.org", 150, 400, "new");
  store->claim_delivery("old", "a@example.org");
  EXPECT_EQ(store->purge(200), 1u);
  EXPECT_EQ(store->records("example.org", 0, 1000).size(), 2u);
  EXPECT_EQ(store->report_id_for("example.org", 0, 150, "again"), "again");  // state gone
  EXPECT_EQ(store->report_id_for("example.org", 150, 400, "x"), "new");
  EXPECT_TRUE(store->claim_delivery("old", "a@example.org"));
}

}  // namespace
}  // namespace authmilter::report

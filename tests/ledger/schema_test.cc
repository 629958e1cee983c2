// Opening files: migrations, idempotent reopen, and refusal of files that are
// not ledgers this build can use.
#include "host/ledger/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "host/ledger/ledger.h"
#include "tests/ledger/test_util.h"

namespace kiln {
namespace {

using testing::OpenOrDie;
using testing::RawDb;
using testing::SampleRun;
using testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Status OpenStatus(const std::string& path) {
  std::unique_ptr<Ledger> ledger;
  Status s = Ledger::Open(path, LedgerOptions(), &ledger);
  EXPECT_EQ(ledger == nullptr, !s.ok());
  return s;
}

TEST(SchemaTest, CurrentVersionIsTwo) {
  ASSERT_EQ(LedgerMigrations().size(), 2u);
  EXPECT_EQ(LedgerMigrations()[0].version, 1);
  EXPECT_EQ(LedgerMigrations().back().version, 2);
}

TEST(SchemaTest, CreatesNewFile) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  OpenOrDie(path);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.Query("PRAGMA application_id"), std::to_string(kLedgerApplicationId));
  EXPECT_EQ(raw.Query("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master "
                      "WHERE name NOT LIKE 'sqlite_%' ORDER BY name)"),
            "backfills,run_log,runs,runs_by_backfill,runs_by_partition,runs_by_processor,runs_by_start,"
            "runs_in_flight");
}

TEST(SchemaTest, MigratesEmptyDatabaseAtVersionZero) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = 0; VACUUM");  // a real, empty SQLite file
  }
  EXPECT_FALSE(ReadFile(path).empty());
  auto ledger = OpenOrDie(path);
  RunRecord run = SampleRun();
  ASSERT_TRUE(ledger->BeginRun(&run).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
}

TEST(SchemaTest, ZeroByteFileBecomesALedger) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  std::ofstream(path).close();
  auto ledger = OpenOrDie(path);
  ASSERT_NE(ledger, nullptr);
}

TEST(SchemaTest, ReopenIsIdempotent) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  std::string schema_before;
  {
    auto ledger = OpenOrDie(path);
    RunRecord run = SampleRun();
    ASSERT_TRUE(ledger->BeginRun(&run).ok());
  }
  {
    RawDb raw(path);
    schema_before = raw.Query("SELECT group_concat(sql, ';') FROM sqlite_master");
  }
  for (int i = 0; i < 3; ++i) {
    auto ledger = OpenOrDie(path);
    RunRecord got;
    ASSERT_TRUE(ledger->GetRun(1, &got).ok());
    EXPECT_EQ(got.processor, "orders");
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.Query("SELECT group_concat(sql, ';') FROM sqlite_master"), schema_before);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM runs"), "1");
}

// The migration machinery on a made-up history: version 1 as shipped, then a
// version 2 that a newer build adds.
TEST(SchemaTest, AppliesOnlyNewerMigrationsInOrder) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  const Migration v1[] = {{1, "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1)"}};
  const Migration v2[] = {v1[0], {2, "ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'; INSERT INTO t VALUES (2, 'y')"}};
  Db db;
  ASSERT_TRUE(db.Open(path, true, 1000).ok());
  ASSERT_TRUE(MigrateSchema(&db, v1).ok());
  ASSERT_TRUE(MigrateSchema(&db, v1).ok());  // nothing to do
  ASSERT_TRUE(MigrateSchema(&db, v2).ok());
  ASSERT_TRUE(MigrateSchema(&db, v2).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.Query("SELECT group_concat(a || b, ',') FROM t"), "1x,2y");

  // The older build now refuses the file.
  int64_t version = 0;
  Status s = CheckLedgerFile(&db, v1, &version);
  EXPECT_EQ(s.code(), Status::Code::kRefused);
  EXPECT_EQ(s.message(), "ledger " + path + ": schema version 2 is newer than this kilnd supports (1)");
}

TEST(SchemaTest, FailedMigrationLeavesFileUntouched) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  const Migration good[] = {{1, "CREATE TABLE t (a INTEGER)"}};
  const Migration bad[] = {good[0], {2, "CREATE TABLE extra (a); CREATE TABLE t (a)"}};
  Db db;
  ASSERT_TRUE(db.Open(path, true, 1000).ok());
  ASSERT_TRUE(MigrateSchema(&db, good).ok());
  Status s = MigrateSchema(&db, bad);
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_EQ(s.message(), "ledger " + path + ": migration to schema version 2 failed: table t already exists");
  EXPECT_FALSE(db.InTransaction());
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "1");
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_master WHERE name = 'extra'"), "0");
}

TEST(SchemaTest, RefusesNewerSchema) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  OpenOrDie(path);
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = 7");
  }
  Status s = OpenStatus(path);
  EXPECT_EQ(s.code(), Status::Code::kRefused);
  EXPECT_EQ(s.message(), "ledger " + path + ": schema version 7 is newer than this kilnd supports (2)");
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "7");
}

TEST(SchemaTest, RefusesFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>('a' + i % 26);
  {
    std::ofstream out(path, std::ios::binary);
    out << garbage;
  }
  Status s = OpenStatus(path);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message(), "ledger " + path + ": not a Kiln ledger (file is not a database)");
  EXPECT_EQ(ReadFile(path), garbage);  // not a byte changed
}

TEST(SchemaTest, RefusesDatabaseOfAnotherApplication) {
  TempDir dir;
  std::string path = dir.File("other.db");
  {
    RawDb raw(path);
    raw.Exec("CREATE TABLE invoices (id INTEGER)");
  }
  Status s = OpenStatus(path);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(s.message(), "ledger " + path + ": not a Kiln ledger (database has tables of another application)");
  {
    RawDb raw(path);
    EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "delete");  // we did not switch it to WAL
    raw.Exec("DROP TABLE invoices; PRAGMA application_id = 1234");
  }
  s = OpenStatus(path);
  EXPECT_EQ(s.message(), "ledger " + path + ": not a Kiln ledger (database belongs to another application)");
}

}  // namespace
}  // namespace kiln

// Helpers shared by the ledger tests: a temporary directory and sample runs.
#ifndef KILN_TESTS_LEDGER_TEST_UTIL_H_
#define KILN_TESTS_LEDGER_TEST_UTIL_H_

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "host/ledger/ledger.h"

namespace kiln::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/kiln-ledger-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A running run with every mandatory field set.
inline RunRecord SampleRun(const std::string& processor = "orders", int64_t start_ms = 1700000000000) {
  RunRecord r;
  r.processor = processor;
  r.plugin_name = "orders_csv";
  r.plugin_version = "1.4.0";
  r.plugin_hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.partition = "2024-03-01";
  r.trigger = Trigger::kSchedule;
  r.scheduled_ms = start_ms - 5;
  r.start_ms = start_ms;
  r.status = RunStatus::kRunning;
  return r;
}

inline std::unique_ptr<Ledger> OpenOrDie(const std::string& path, LedgerOptions options = LedgerOptions()) {
  std::unique_ptr<Ledger> ledger;
  Status s = Ledger::Open(path, options, &ledger);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return ledger;
}

// A raw SQLite connection for poking at the file behind the Ledger's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err != nullptr ? err : "?");
    }
    sqlite3_free(err);
  }
  // The first column of the first row, as text ("" if no row or NULL).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace kiln::testing

#endif  // KILN_TESTS_LEDGER_TEST_UTIL_H_

// Helpers shared by the crash-loop and resource-fault tests: a scratch
// directory with a kilnd config, and a read-only look into the ledger with
// the SQLite C API (never through kilnd's own Ledger class, so what the tests
// see is what is on disk, not what kilnd believes).
#ifndef KILN_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
#define KILN_TESTS_RELIABILITY_RELIABILITY_UTIL_H_

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"

namespace kiln::testing {

// The ledger at `path`, opened read-only (mode=ro): a test looking at it
// never changes it, whether kilnd is running or was just killed. On a
// read-only file system, where SQLite cannot create the -shm file of a WAL
// database, pass `immutable` (nothing may be writing it then).
class LedgerView {
 public:
  explicit LedgerView(const std::string& path, bool immutable = false) {
    const std::string uri = "file:" + path + (immutable ? "?mode=ro&immutable=1" : "?mode=ro");
    if (sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
      error_ = db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open";
      sqlite3_close(db_);
      db_ = nullptr;
      return;
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~LedgerView() { sqlite3_close(db_); }
  LedgerView(const LedgerView&) = delete;
  LedgerView& operator=(const LedgerView&) = delete;

  bool ok() const { return db_ != nullptr; }
  const std::string& error() const { return error_; }

  // Every row of `sql`, each row's columns joined by '|'; on an SQLite
  // error, one row "error: <message>".
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    if (db_ == nullptr) return {"error: " + error_};
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return {std::string("error: ") + sqlite3_errmsg(db_)};
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i > 0) row += '|';
        const unsigned char* t = sqlite3_column_text(st, i);
        row += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) rows = {std::string("error: ") + sqlite3_errmsg(db_)};
    sqlite3_finalize(st);
    return rows;
  }
  std::string One(const std::string& sql) {
    std::vector<std::string> rows = Rows(sql);
    return rows.empty() ? std::string() : rows[0];
  }
  int64_t Int(const std::string& sql) {
    const std::string v = One(sql);
    return v.empty() || v == "NULL" || v.rfind("error:", 0) == 0 ? -1 : std::stoll(v);
  }
  std::string IntegrityCheck() {
    std::vector<std::string> rows = Rows("PRAGMA integrity_check");
    std::string out;
    for (const std::string& r : rows) out += (out.empty() ? "" : "; ") + r;
    return out;
  }
  // (partition -> number of succeeded runs) of `processor`.
  std::map<std::string, int> Succeeded(const std::string& processor) {
    std::map<std::string, int> out;
    for (const std::string& row :
         Rows("SELECT partition, count(*) FROM runs WHERE status = 'succeeded' AND processor = '" + processor +
              "' GROUP BY partition")) {
      const size_t bar = row.find('|');
      if (bar == std::string::npos) continue;
      out[row.substr(0, bar)] = std::stoi(row.substr(bar + 1));
    }
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

// A scratch directory removed at the end, whatever is inside, unless
// KILN_KEEP_SCRATCH is set (to read kilnd's logs after a failure).
class ScratchDir {
 public:
  explicit ScratchDir(const char* prefix) {
    std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    if (std::getenv("KILN_KEEP_SCRATCH") == nullptr) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Dates from `first` (YYYY-MM-DD), `n` consecutive days, in the proleptic
// Gregorian calendar.
inline std::vector<std::string> Days(int y, int m, int d, int n) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    out.push_back(buf);
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const int month_days = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
    if (++d > month_days) {
      d = 1;
      if (++m > 12) {
        m = 1;
        ++y;
      }
    }
  }
  return out;
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_RELIABILITY_RELIABILITY_UTIL_H_

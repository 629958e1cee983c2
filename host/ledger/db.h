// Db and Stmt: thin RAII owners of a sqlite3 connection and a prepared
// statement, turning SQLite result codes into kiln::Status.
//
// Every error message is "ledger PATH: what happened", so the caller can pass
// a Status straight to the user. Neither class is thread-safe; the Ledger
// gives each connection to one thread at a time.
#ifndef KILN_HOST_LEDGER_DB_H_
#define KILN_HOST_LEDGER_DB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "host/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kiln {

// True for an error caused by another connection holding the lock
// (SQLITE_BUSY, SQLITE_LOCKED: "ledger PATH: database is locked") once
// busy_timeout has passed: worth waiting for, unlike a damaged file.
bool IsLockedError(const Status& s);

class Db {
 public:
  Db() = default;
  ~Db() { Close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating if `create`) the database file. No statement runs yet, so
  // a file that is not a database is only noticed by the first Exec/Prepare.
  Status Open(const std::string& path, bool create, int busy_timeout_ms);
  void Close();

  // Runs one or more statements that return no rows.
  Status Exec(const char* sql);
  // Runs a statement whose single result is one integer ("PRAGMA user_version").
  Status QueryInt(const char* sql, int64_t* out);
  Status QueryText(const char* sql, std::string* out);

  // "ledger PATH: <message>", with a Status code chosen from the SQLite code.
  // A write the operating system refused says why: "ledger PATH: write
  // failed: No space left on device" (SQLITE_FULL), "ledger PATH: disk I/O
  // error: Read-only file system" (SQLITE_IOERR, with the errno SQLite
  // recorded).
  Status Error(int rc) const;
  Status Error(int rc, std::string_view message) const;

  // True if a transaction is open. SQLite rolls a transaction back by itself
  // on some errors (disk full, I/O error); callers check this to know.
  bool InTransaction() const;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepare(Db* db, std::string_view sql);

  // Parameters are numbered from 1, as in SQLite.
  void BindInt64(int i, int64_t v);
  void BindDouble(int i, double v);
  void BindText(int i, std::string_view v);
  void BindNull(int i);
  void BindOptional(int i, const std::optional<int64_t>& v);
  void BindOptional(int i, const std::optional<double>& v);
  void BindOptional(int i, const std::optional<std::string>& v);

  // Advances the statement: *row is true if a row is ready to read, false
  // when the statement is done.
  Status Step(bool* row);
  // Steps a statement that returns no rows to completion, then resets it.
  Status Run();
  // Makes the statement ready to run again and drops bound values.
  void Reset();
  // Releases the statement; its connection cannot close while it lives.
  void Finalize();

  // Columns are numbered from 0, as in SQLite.
  bool IsNull(int col) const;
  int64_t Int64(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<int64_t> OptInt64(int col) const;
  std::optional<double> OptDouble(int col) const;
  std::optional<std::string> OptText(int col) const;

 private:
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_DB_H_

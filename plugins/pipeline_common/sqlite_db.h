// A small RAII layer over the SQLite C API for the reference pipeline.
// Every failure throws std::runtime_error (kiln::Error derives from it, and
// the plugin boundary turns either into a failed phase with the message).
#ifndef KILN_PLUGINS_PIPELINE_COMMON_SQLITE_DB_H_
#define KILN_PLUGINS_PIPELINE_COMMON_SQLITE_DB_H_

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace kiln::pipeline {

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      if (s_) sqlite3_finalize(s_);
      db_ = o.db_;
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    if (s_) sqlite3_finalize(s_);
  }

  Stmt& Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& Bind(int i, int v) { return Check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& Bind(int i, double v) { return Check(sqlite3_bind_double(s_, i, v)); }
  Stmt& Bind(int i, std::string_view v) {
    return Check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, std::nullopt_t) { return Check(sqlite3_bind_null(s_, i)); }
  template <typename T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : Bind(i, std::nullopt);
  }

  // Steps once: true while there is a row.
  bool Step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " + sqlite3_sql(s_));
  }
  // Steps to the end (a statement without rows).
  void Run() {
    while (Step()) {
    }
  }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  bool IsNull(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  double Real(int c) const { return sqlite3_column_double(s_, c); }
  std::string Text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  std::optional<double> OptReal(int c) const { return IsNull(c) ? std::nullopt : std::optional<double>(Real(c)); }
  std::optional<int64_t> OptInt(int c) const { return IsNull(c) ? std::nullopt : std::optional<int64_t>(Int(c)); }

 private:
  Stmt& Check(int rc) {
    if (rc != SQLITE_OK) throw std::runtime_error(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
    return *this;
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  Db& operator=(Db&& o) noexcept {
    if (this != &o) {
      Close();
      db_ = std::exchange(o.db_, nullptr);
      path_ = std::move(o.path_);
    }
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { Close(); }

  enum class Mode { kReadOnly, kReadWrite, kCreate };

  // Opens `path`; `what` names the database in errors ("season database").
  static Db Open(const std::string& path, Mode mode, std::string_view what) {
    Db d;
    d.path_ = path;
    int flags = SQLITE_OPEN_NOMUTEX;
    if (mode == Mode::kReadOnly) flags |= SQLITE_OPEN_READONLY;
    else if (mode == Mode::kReadWrite) flags |= SQLITE_OPEN_READWRITE;
    else flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &d.db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string why = d.db_ ? sqlite3_errmsg(d.db_) : sqlite3_errstr(rc);
      throw std::runtime_error("cannot open " + std::string(what) + " " + path + ": " + why);
    }
    sqlite3_busy_timeout(d.db_, 60000);
    return d;
  }

  void Close() {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
  bool is_open() const { return db_ != nullptr; }
  const std::string& path() const { return path_; }
  sqlite3* get() const { return db_; }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string why = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error("sqlite (" + path_ + "): " + why);
    }
  }
  // Switches the database to WAL and creates `schema` (CREATE ... IF NOT
  // EXISTS). A backfill starts several workers, which may open a new database
  // at the same moment: switching the journal mode needs an exclusive lock
  // SQLite does not wait for (it answers "database is locked" at once rather
  // than risk a deadlock), so that step is retried for up to 60 s (the
  // busy timeout Open sets); the schema is written in a transaction, which does wait.
  void Setup(const std::string& schema) {
    for (int waited_ms = 0;; waited_ms += 5) {
      const int rc = sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) break;
      if (rc != SQLITE_BUSY || waited_ms >= 60000) {
        throw std::runtime_error("sqlite (" + path_ + "): " + sqlite3_errmsg(db_));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Exec("BEGIN IMMEDIATE");
    try {
      Exec(schema);
      Exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  Stmt Prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error("sqlite (" + path_ + "): " + sqlite3_errmsg(db_) + " in: " + sql);
    }
    return Stmt(db_, s);
  }
  bool HasTable(const std::string& name) {
    Stmt s = Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    s.Bind(1, name);
    return s.Step();
  }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE .. COMMIT, rolled back when left without Commit().
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) { db_.Exec("BEGIN IMMEDIATE"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!done_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Commit() {
    db_.Exec("COMMIT");
    done_ = true;
  }

 private:
  Db& db_;
  bool done_ = false;
};

}  // namespace kiln::pipeline

#endif  // KILN_PLUGINS_PIPELINE_COMMON_SQLITE_DB_H_

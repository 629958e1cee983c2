#include "host/ledger/db.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>

namespace kiln {

bool IsLockedError(const Status& s) {
  // SQLite's words for BUSY and LOCKED, passed through unchanged (tests and
  // users know them): "database is locked", "database table is locked".
  const std::string& m = s.message();
  return s.code() == Status::Code::kIOError && m.size() >= 9 && m.compare(m.size() - 9, 9, "is locked") == 0;
}

Status Db::Open(const std::string& path, bool create, int busy_timeout_ms) {
  Close();
  path_ = path;
  // NOMUTEX: each connection is used by one thread at a time (the Ledger
  // holds a mutex or a dedicated thread per connection), so SQLite's own
  // per-call locking would be pure cost.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // Even on failure SQLite usually hands back a handle carrying the message.
    Status s = db_ != nullptr ? Error(rc) : Error(rc, sqlite3_errstr(rc));
    Close();
    return s;
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  return Status::OK();
}

void Db::Close() {
  if (db_ != nullptr) {
    // close_v2 defers the close until stray statements are finalized, so a
    // forgotten Stmt cannot make this leak the handle.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Db::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  Status s = Error(rc, err != nullptr ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return s;
}

Status Db::QueryInt(const char* sql, int64_t* out) {
  Stmt st;
  Status s = st.Prepare(this, sql);
  bool row = false;
  if (s.ok()) s = st.Step(&row);
  if (!s.ok()) return s;
  *out = row ? st.Int64(0) : 0;
  return Status::OK();
}

Status Db::QueryText(const char* sql, std::string* out) {
  Stmt st;
  Status s = st.Prepare(this, sql);
  bool row = false;
  if (s.ok()) s = st.Step(&row);
  if (!s.ok()) return s;
  *out = row ? st.Text(0) : std::string();
  return Status::OK();
}

Status Db::Error(int rc) const {
  return Error(rc, db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
}

Status Db::Error(int rc, std::string_view message) const {
  std::string msg = "ledger " + path_ + ": ";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      // The one case a user is likely to hit by pointing --ledger at the
      // wrong file; say so plainly instead of SQLite's terse text.
      return Status::Corruption(msg + "not a Kiln ledger (file is not a database)");
    case SQLITE_CORRUPT:
      return Status::Corruption(msg.append(message));
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
      return Status::InvalidArgument(msg.append(message));
    case SQLITE_FULL:
      // SQLite's "database or disk is full": the unix VFS returns it for a
      // write that hit ENOSPC (the ledger sets no max_page_count).
      return Status::IOError(msg + "write failed: " + std::strerror(ENOSPC));
    case SQLITE_IOERR:
      // SQLite records the errno of a failed I/O call (only for IOERR and
      // CANTOPEN; for other codes it may be stale).
      if (db_ != nullptr && sqlite3_system_errno(db_) != 0) {
        return Status::IOError(msg.append(message) + ": " + std::strerror(sqlite3_system_errno(db_)));
      }
      return Status::IOError(msg.append(message));
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_INTERNAL:
      return Status::Internal(msg.append(message));
    default:  // BUSY, LOCKED, CANTOPEN, READONLY, NOMEM, ...
      return Status::IOError(msg.append(message));
  }
}

bool Db::InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

Stmt::~Stmt() { Finalize(); }

void Stmt::Finalize() {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
}

Status Stmt::Prepare(Db* db, std::string_view sql) {
  Finalize();
  db_ = db;
  int rc = sqlite3_prepare_v3(db->get(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) return db->Error(rc);
  return Status::OK();
}

void Stmt::BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
void Stmt::BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
void Stmt::BindText(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void Stmt::BindNull(int i) { sqlite3_bind_null(stmt_, i); }
void Stmt::BindOptional(int i, const std::optional<int64_t>& v) {
  v ? BindInt64(i, *v) : BindNull(i);
}
void Stmt::BindOptional(int i, const std::optional<double>& v) {
  v ? BindDouble(i, *v) : BindNull(i);
}
void Stmt::BindOptional(int i, const std::optional<std::string>& v) {
  v ? BindText(i, *v) : BindNull(i);
}

Status Stmt::Step(bool* row) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    *row = true;
    return Status::OK();
  }
  *row = false;
  if (rc == SQLITE_DONE) return Status::OK();
  return db_->Error(rc);
}

Status Stmt::Run() {
  bool row = false;
  Status s;
  do {
    s = Step(&row);
  } while (s.ok() && row);
  Reset();
  return s;
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
int64_t Stmt::Int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
std::optional<int64_t> Stmt::OptInt64(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int64(col);
}
std::optional<double> Stmt::OptDouble(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Double(col);
}
std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

}  // namespace kiln

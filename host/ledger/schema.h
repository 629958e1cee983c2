// The ledger's schema and how a database file is brought up to it.
//
// The schema version lives in `PRAGMA user_version` and the file is marked
// as ours with `PRAGMA application_id`, so `file ledger.db` and the ledger
// itself can both tell a Kiln ledger from any other SQLite database. Changes
// to the schema are only ever appended to the migration list: a migration
// that shipped is never edited, because databases in the field already ran it.
#ifndef KILN_HOST_LEDGER_SCHEMA_H_
#define KILN_HOST_LEDGER_SCHEMA_H_

#include <cstdint>
#include <span>

#include "host/base/status.h"
#include "host/ledger/db.h"

namespace kiln {

// "KILN" in ASCII.
inline constexpr int64_t kLedgerApplicationId = 0x4b494c4e;

struct Migration {
  int version;      // user_version after this migration; 1, 2, 3, ... in order
  const char* sql;  // one or more statements
};

// The migrations this build knows, oldest first. The last version is the
// newest schema this build can read and write.
std::span<const Migration> LedgerMigrations();

// Reads the file's identity without writing anything. Refuses a file that is
// not a database, a database of another application, and a ledger whose
// schema is newer than the last of `migrations` (Status::Refused). Leaves the
// file's current schema version in *version (0: a new, empty database).
Status CheckLedgerFile(Db* db, std::span<const Migration> migrations, int64_t* version);

// Applies every migration newer than the file's user_version, all in one
// transaction: a failure leaves the file exactly as it was. Safe to call on
// an up-to-date file (it does nothing) and against another process opening
// the same file at the same time (the check is repeated under the lock).
Status MigrateSchema(Db* db, std::span<const Migration> migrations);

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_SCHEMA_H_

#include "host/ledger/schema.h"

#include <string>

namespace kiln {

namespace {

// Version 1: the runs table.
//
// Phase durations are columns, not a JSON blob, so "which runs spent more
// than a minute in save" is plain SQL. Enum columns carry CHECK constraints
// so that a bug (or a hand edit) cannot store a status the host cannot read
// back. AUTOINCREMENT keeps ids unique for the life of the file even if old
// runs are pruned: a run id printed in a log must never name another run.
constexpr const char kSchemaV1[] = R"sql(
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  processor       TEXT    NOT NULL,
  plugin_name     TEXT    NOT NULL,
  plugin_version  TEXT    NOT NULL,
  plugin_hash     TEXT    NOT NULL,
  partition       TEXT    CHECK (partition IS NULL OR partition GLOB
                                 '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  trigger         TEXT    NOT NULL CHECK (trigger IN
                    ('schedule', 'manual', 'backfill', 'retry', 'catchup')),
  scheduled_ms    INTEGER,
  start_ms        INTEGER NOT NULL,
  end_ms          INTEGER,
  configure_ms    REAL,
  init_ms         REAL,
  extract_ms      REAL,
  validate_ms     REAL,
  transform_ms    REAL,
  save_ms         REAL,
  post_process_ms REAL,
  status          TEXT    NOT NULL CHECK (status IN ('queued', 'running',
                    'succeeded', 'failed', 'timed_out', 'cancelled', 'abandoned')),
  attempt         INTEGER NOT NULL DEFAULT 1,
  records         INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  backfill_id     INTEGER
);
-- Listing newest first, overall and per processor.
CREATE INDEX runs_by_start ON runs (start_ms);
CREATE INDEX runs_by_processor ON runs (processor, start_ms);
-- Dependency checks: did processor P succeed for partition D?
CREATE INDEX runs_by_partition ON runs (processor, partition, status);
-- Runs in flight are few; a partial index keeps MarkAbandoned at daemon
-- start cheap however long the history grows.
CREATE INDEX runs_in_flight ON runs (status) WHERE status IN ('queued', 'running');
)sql";

// Version 2: backfills and the lines each run logged.
//
// backfills.processors is the processor and, with cascade, its transitive
// dependents, upstream first, joined by commas (names never contain one):
// a backfill is read whole, never searched by member. The CHECK on
// finished_ms keeps "finished" and "has an end time" from disagreeing.
// runs.backfill_id stays a plain column: SQLite cannot add a foreign key to
// an existing table, and v1 ledgers may hold ids with no backfills row.
//
// run_log has no foreign key to runs either (the ledger checks the run
// exists when it appends), so pruning old runs needs no pragma to be set;
// WITHOUT ROWID stores the lines clustered by (run_id, seq), which is the
// only order they are ever read in.
constexpr const char kSchemaV2[] = R"sql(
CREATE TABLE backfills (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  processor   TEXT    NOT NULL,
  processors  TEXT    NOT NULL,
  start_date  TEXT    NOT NULL CHECK (start_date GLOB
                '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  end_date    TEXT    NOT NULL CHECK (end_date GLOB
                '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  parallel    INTEGER NOT NULL CHECK (parallel >= 1),
  cascade     INTEGER NOT NULL CHECK (cascade IN (0, 1)),
  reprocess   TEXT    NOT NULL CHECK (reprocess IN ('none', 'failed', 'all')),
  state       TEXT    NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
  created_ms  INTEGER NOT NULL,
  finished_ms INTEGER,
  CHECK (start_date <= end_date),
  CHECK ((state = 'running') = (finished_ms IS NULL))
);
CREATE TABLE run_log (
  run_id   INTEGER NOT NULL,
  seq      INTEGER NOT NULL CHECK (seq >= 1),
  ts_ms    INTEGER NOT NULL,
  level    TEXT    NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
  message  TEXT    NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
-- Backfill bookkeeping: the latest run of each (processor, partition) of a
-- backfill. Partial: most runs belong to no backfill.
CREATE INDEX runs_by_backfill ON runs (backfill_id, processor, partition)
  WHERE backfill_id IS NOT NULL;
)sql";

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
};

// Strips the "ledger PATH: " prefix Db puts on every message, to re-wrap it.
std::string Detail(const Db& db, const Status& s) {
  std::string prefix = "ledger " + db.path() + ": ";
  const std::string& m = s.message();
  return m.compare(0, prefix.size(), prefix) == 0 ? m.substr(prefix.size()) : m;
}

Status WithMessage(const Status& s, std::string msg) {
  switch (s.code()) {
    case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kIOError: return Status::IOError(std::move(msg));
    default: return Status::Internal(std::move(msg));
  }
}

}  // namespace

std::span<const Migration> LedgerMigrations() { return kMigrations; }

Status CheckLedgerFile(Db* db, std::span<const Migration> migrations, int64_t* version) {
  const std::string prefix = "ledger " + db->path() + ": ";
  int64_t app_id = 0, user_version = 0, objects = 0;
  // The first statement to touch the file: SQLITE_NOTADB surfaces here.
  Status s = db->QueryInt("PRAGMA application_id", &app_id);
  if (s.ok()) s = db->QueryInt("PRAGMA user_version", &user_version);
  if (s.ok()) s = db->QueryInt("SELECT count(*) FROM sqlite_master", &objects);
  if (!s.ok()) return s;

  if (app_id != 0 && app_id != kLedgerApplicationId) {
    return Status::Corruption(prefix + "not a Kiln ledger (database belongs to another application)");
  }
  const int64_t supported = migrations.empty() ? 0 : migrations.back().version;
  if (user_version > supported) {
    return Status::Refused(prefix + "schema version " + std::to_string(user_version) +
                           " is newer than this kilnd supports (" + std::to_string(supported) + ")");
  }
  // An unmarked file is acceptable only if it is empty: we must not add our
  // tables to some other program's database because --ledger named it.
  if (app_id == 0 && (user_version != 0 || objects != 0)) {
    return Status::Corruption(prefix + "not a Kiln ledger (database has tables of another application)");
  }
  *version = user_version;
  return Status::OK();
}

Status MigrateSchema(Db* db, std::span<const Migration> migrations) {
  int64_t version = 0;
  Status s = CheckLedgerFile(db, migrations, &version);
  if (!s.ok()) return s;
  if (!migrations.empty() && version == migrations.back().version) return Status::OK();

  // IMMEDIATE takes the write lock now, so a second process migrating the
  // same file waits here (busy_timeout) and then sees our result.
  s = db->Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = CheckLedgerFile(db, migrations, &version);
  for (const Migration& m : migrations) {
    if (!s.ok()) break;
    if (m.version <= version) continue;
    s = db->Exec(m.sql);
    if (s.ok()) {
      // user_version lives in the file header and is transactional, so it
      // moves together with the tables it describes.
      s = db->Exec(("PRAGMA user_version = " + std::to_string(m.version)).c_str());
    }
    if (!s.ok()) {
      s = WithMessage(s, "ledger " + db->path() + ": migration to schema version " +
                             std::to_string(m.version) + " failed: " + Detail(*db, s));
    }
  }
  if (s.ok()) s = db->Exec(("PRAGMA application_id = " + std::to_string(kLedgerApplicationId)).c_str());
  if (s.ok()) s = db->Exec("COMMIT");
  if (!s.ok() && db->InTransaction()) db->Exec("ROLLBACK");
  return s;
}

}  // namespace kiln

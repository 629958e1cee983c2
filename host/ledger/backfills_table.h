// The SQL that reads and writes rows of the backfills and run_log tables
// (schema version 2), shared by the write connection (BackfillWriter) and
// the read connection (ReadBackfill).
#ifndef KILN_HOST_LEDGER_BACKFILLS_TABLE_H_
#define KILN_HOST_LEDGER_BACKFILLS_TABLE_H_

#include <cstdint>
#include <vector>

#include "host/base/status.h"
#include "host/ledger/backfill_record.h"
#include "host/ledger/db.h"

namespace kiln {

// The column list every SELECT of whole backfills uses, in ReadBackfill's order.
extern const char kBackfillColumns[];

// Fills *out from the current row of a statement that selected kBackfillColumns.
Status ReadBackfill(const Db& db, const Stmt& st, BackfillRecord* out);

// Refuses a backfill the schema would refuse, or whose processors list does
// not fit its processor and cascade flag, with a message a user can act on.
Status ValidateBackfill(const Db& db, const BackfillRecord& rec);

// Refuses log lines the schema would refuse: an unknown level, or seqs that
// do not increase from 1 or more.
Status ValidateRunLog(const Db& db, int64_t run_id, const std::vector<LogLineRecord>& lines);

// `lines` as stored: unchanged if there are at most kMaxRunLogLines, else the
// first kMaxRunLogLines - 1 and a warn line "(N more lines dropped)" with the
// seq of the first dropped line and the time of the last.
std::vector<LogLineRecord> CapRunLog(const std::vector<LogLineRecord>& lines);

// The writes, as statements prepared once on the write connection. Each runs
// inside a transaction the caller opened; none commits.
class BackfillWriter {
 public:
  Status Prepare(Db* db);
  void Finalize();

  Status Insert(const BackfillRecord& rec, int64_t* id);
  // A running backfill ends: `state` (not running) and finished_ms. NotFound
  // for an unknown id; InvalidArgument if it has already finished.
  Status Finish(int64_t id, BackfillState state, int64_t finished_ms);
  // Stores the lines of run `run_id` (already capped), all or none. NotFound
  // for an unknown run; InvalidArgument if the run already has a log.
  Status AppendLog(int64_t run_id, const std::vector<LogLineRecord>& lines);

 private:
  Db* db_ = nullptr;
  Stmt insert_, finish_, state_of_;
  Stmt run_exists_, has_log_, insert_line_;
  Stmt savepoint_, release_, rollback_to_;
};

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_BACKFILLS_TABLE_H_

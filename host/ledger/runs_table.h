// The SQL that reads and writes rows of the runs table, shared by the write
// connection (RunWriter) and the read connection (ReadRun).
#ifndef KILN_HOST_LEDGER_RUNS_TABLE_H_
#define KILN_HOST_LEDGER_RUNS_TABLE_H_

#include <cstdint>
#include <vector>

#include "host/base/status.h"
#include "host/ledger/db.h"
#include "host/ledger/run_record.h"

namespace kiln {

// The column list every SELECT of whole runs uses, in ReadRun's order.
extern const char kRunColumns[];

// Fills *out from the current row of a statement that selected kRunColumns.
Status ReadRun(const Db& db, const Stmt& st, RunRecord* out);

// Refuses a record the schema would refuse, with a message a user can act on
// rather than "CHECK constraint failed".
Status ValidateRun(const Db& db, const RunRecord& rec);

// The writes, as statements prepared once on the write connection. Each runs
// inside a transaction the caller opened; none commits.
class RunWriter {
 public:
  Status Prepare(Db* db);
  void Finalize();

  Status Insert(const RunRecord& rec, int64_t* id);
  Status Start(int64_t id, int64_t start_ms);
  Status Finish(const RunRecord& rec);
  // Every queued or running run becomes abandoned; *out gets them, by id.
  Status Abandon(int64_t end_ms, std::vector<RunRecord>* out);

 private:
  // After an UPDATE ... WHERE id = ? AND status IN (...) touched no row:
  // NotFound if the run does not exist, else InvalidArgument naming its status.
  Status WhyNotUpdated(int64_t id, const char* wanted);

  Db* db_ = nullptr;
  Stmt insert_, start_, finish_, abandon_, status_of_;
};

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_RUNS_TABLE_H_

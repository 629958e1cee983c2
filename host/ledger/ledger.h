// Ledger: the durable record of every run, in one SQLite file.
//
//   std::unique_ptr<Ledger> ledger;
//   Status s = Ledger::Open("/var/lib/kiln/ledger.db", LedgerOptions(), &ledger);
//   std::vector<RunRecord> lost;
//   s = ledger->MarkAbandoned(NowMs(), &lost);   // once, at daemon start
//   RunRecord run = ...;                          // status running
//   s = ledger->BeginRun(&run);                   // run.id is now set
//   ... run the plugin ...
//   run.status = RunStatus::kSucceeded; run.end_ms = NowMs();
//   s = ledger->FinishRun(run);                   // on disk when this returns
//   s = ledger->AppendRunLog(run.id, lines);      // what the plugin logged
//
// A backfill is one row too (CreateBackfill ... FinishBackfill); its runs
// carry its id in RunRecord::backfill_id, and BackfillOutcomes and
// LatestFinished tell a resumed or new backfill which partitions still need
// a run.
//
// Every write returns only once it is committed with synchronous=FULL, so a
// run the daemon reports as finished survives a crash or power loss. Writes
// from many threads are group committed (see writer.h). Reads use a second
// connection and, thanks to WAL, never wait for writes.
//
// All methods are thread-safe and return a Status whose message names the
// file: "ledger /var/lib/kiln/ledger.db: database is locked". Nothing throws.
#ifndef KILN_HOST_LEDGER_LEDGER_H_
#define KILN_HOST_LEDGER_LEDGER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/base/status.h"
#include "host/ledger/backfill_record.h"
#include "host/ledger/db.h"
#include "host/ledger/run_record.h"
#include "host/ledger/writer.h"

namespace kiln {

struct LedgerOptions {
  // Batch concurrent writes into shared transactions. Off: one transaction
  // (and one fsync) per write, for comparison in benchmarks.
  bool group_commit = true;
  // Most writes committed in one transaction.
  size_t max_batch = 1024;
  // How long to wait for a lock held by another process (kilnctl, sqlite3).
  int busy_timeout_ms = 5000;
};

// Which runs ListRuns returns. Unset fields match everything.
struct RunFilter {
  std::optional<std::string> processor;
  std::optional<RunStatus> status;
  std::optional<int64_t> since_ms;  // start_ms >= since_ms
  std::optional<std::string> partition;
  size_t limit = 100;  // 0: no limit
};

class Ledger {
 public:
  // Opens or creates the ledger at `path` and brings its schema up to date.
  // Refuses a file that is not a Kiln ledger (Corruption) and a ledger
  // written by a newer kilnd (Refused).
  static Status Open(const std::string& path, const LedgerOptions& options,
                     std::unique_ptr<Ledger>* out);

  ~Ledger();  // Close()
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Commits every write already submitted, then closes the file. Later
  // calls fail with "ledger PATH: ledger is closed".
  void Close();

  // Inserts a run, usually queued or running (a run that finished before it
  // was recorded may be inserted whole), and sets rec->id.
  Status BeginRun(RunRecord* rec);
  // A queued run starts: status running, start_ms = `start_ms`.
  Status StartRun(int64_t id, int64_t start_ms);
  // Records the end of run rec.id: end_ms, status (which must be final),
  // phase_ms, records and error. NotFound for an unknown id; InvalidArgument
  // if the run has already finished.
  Status FinishRun(const RunRecord& rec);
  // For the daemon at start: every run still queued or running was in flight
  // when the last daemon died. Each becomes abandoned with end_ms = `end_ms`;
  // *abandoned gets them as they now are, by id, for retry policy to decide.
  Status MarkAbandoned(int64_t end_ms, std::vector<RunRecord>* abandoned);

  // "ledger PATH: run 42 not found" (NotFound) for an unknown id.
  Status GetRun(int64_t id, RunRecord* out);
  // Runs matching `filter`, newest (by start_ms, then id) first.
  Status ListRuns(const RunFilter& filter, std::vector<RunRecord>* out);
  // The succeeded run of `processor` for `partition` (none: unpartitioned)
  // that ended last: a dependency check. NotFound if there is none.
  Status LastSucceeded(std::string_view processor, const std::optional<std::string>& partition,
                       RunRecord* out);
  // The latest slot (scheduled_ms) of `processor` that a schedule or catchup
  // run was recorded for: where catch-up resumes after downtime. NotFound if
  // the processor never ran on its schedule.
  Status LastScheduled(std::string_view processor, int64_t* scheduled_ms);
  // PRAGMA integrity_check: OK, or Corruption with SQLite's first complaint.
  Status CheckIntegrity();

  // Backfills. Inserts a backfill, usually running (finished_ms unset), and
  // sets rec->id. InvalidArgument for a record the ledger cannot store: see
  // BackfillRecord for the rules (processors start with processor, dates
  // YYYY-MM-DD with start <= end, parallel >= 1, finished_ms set exactly
  // when the state is not running).
  Status CreateBackfill(BackfillRecord* rec);
  // A running backfill ends in `state`, which must not be running. NotFound
  // "ledger PATH: backfill 7 not found" for an unknown id; InvalidArgument
  // "ledger PATH: backfill 7 is succeeded, not running" if it has already
  // finished.
  Status FinishBackfill(int64_t id, BackfillState state, int64_t finished_ms);
  // "ledger PATH: backfill 7 not found" (NotFound) for an unknown id.
  Status GetBackfill(int64_t id, BackfillRecord* out);
  // Backfills in `state` (all if unset), newest (by created_ms, then id)
  // first; at most `limit` of them, 0 meaning all.
  Status ListBackfills(std::optional<BackfillState> state, size_t limit, std::vector<BackfillRecord>* out);
  // For each (processor, partition) with at least one run in backfill `id`:
  // the status of its latest run (highest id), ordered by processor, then
  // partition. Empty, not NotFound, for a backfill with no runs.
  Status BackfillOutcomes(int64_t id, std::vector<PartitionOutcome>* out);
  // For `processor` and each date in [start_date, end_date] that has a
  // finished run (succeeded, failed, timed_out, cancelled or abandoned;
  // queued and running runs are ignored), of any trigger: the status of the
  // latest (highest id) such run, ordered by date. What reprocess none and
  // failed decide from. InvalidArgument for dates that are not YYYY-MM-DD or
  // a start after the end.
  Status LatestFinished(std::string_view processor, const std::string& start_date,
                        const std::string& end_date, std::vector<PartitionOutcome>* out);

  // Run logs. Stores the lines run `run_id` logged, once, at its end, in one
  // transaction. Seqs must increase from 1 or more (1..n, as the runner
  // numbers them) and levels be debug, info, warn or error. Of more than
  // kMaxRunLogLines lines only the first kMaxRunLogLines - 1 are stored, then
  // one warn line "(N more lines dropped)". NotFound for an unknown run;
  // InvalidArgument "ledger PATH: run 7 already has a log" on a second call.
  // No lines: nothing to store, OK.
  Status AppendRunLog(int64_t run_id, const std::vector<LogLineRecord>& lines);
  // The stored lines of run `run_id` with seq > after_seq, by seq. Empty for
  // a run without a log (or no such run).
  Status GetRunLog(int64_t run_id, int64_t after_seq, std::vector<LogLineRecord>* out);

  // Writes and transactions so far: with group commit, transactions < writes
  // under concurrent load.
  WriteStats write_stats() const { return writer_ ? writer_->stats() : WriteStats(); }

  const std::string& path() const { return path_; }

 private:
  Ledger(std::string path, const LedgerOptions& options);
  Status OpenFiles();
  Status Closed() const;
  // Reads (processor, partition, status, run id) rows into *out; read_mu_ held.
  Status ReadOutcomes(Stmt* st, std::vector<PartitionOutcome>* out);

  const std::string path_;
  const LedgerOptions options_;
  Db write_db_;  // owned by writer_ after Open
  std::unique_ptr<Writer> writer_;

  std::mutex read_mu_;  // guards read_db_ and the statements on it
  Db read_db_;
  Stmt get_run_;
  bool closed_ = false;
};

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_LEDGER_H_

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

  // Writes and transactions so far: with group commit, transactions < writes
  // under concurrent load.
  WriteStats write_stats() const { return writer_ ? writer_->stats() : WriteStats(); }

  const std::string& path() const { return path_; }

 private:
  Ledger(std::string path, const LedgerOptions& options);
  Status OpenFiles();
  Status Closed() const;

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

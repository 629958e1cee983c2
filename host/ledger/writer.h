// Writer: the single path by which changes reach the ledger file.
//
// With group commit, callers on any thread enqueue a WriteOp and sleep; one
// writer thread takes everything queued, applies it in one transaction, and
// wakes the callers once COMMIT has returned. synchronous=FULL makes that the
// moment the batch is on disk, so a caller that sees OK may tell the world
// the run succeeded. While one batch is being fsynced the next one gathers,
// so batches grow with load by themselves and no timer is needed: an idle
// ledger commits a lone write at once.
//
// Without group commit each call runs its own transaction on the calling
// thread (under a mutex): the baseline the benchmark compares against.
#ifndef KILN_HOST_LEDGER_WRITER_H_
#define KILN_HOST_LEDGER_WRITER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "host/base/status.h"
#include "host/ledger/backfill_record.h"
#include "host/ledger/backfills_table.h"
#include "host/ledger/db.h"
#include "host/ledger/run_record.h"
#include "host/ledger/runs_table.h"

namespace kiln {

// How much work the writer has done; writes / transactions is the mean batch.
struct WriteStats {
  uint64_t writes = 0;        // ops applied, successful or not
  uint64_t transactions = 0;  // transactions begun
};

// One change, owned by the caller, who waits for `done`.
struct WriteOp {
  enum class Kind {
    kInsert, kStart, kFinish, kAbandon,            // runs
    kCreateBackfill, kFinishBackfill, kAppendLog,  // backfills, run_log
  };
  Kind kind = Kind::kInsert;
  const RunRecord* rec = nullptr;                // kInsert, kFinish
  // kStart, kAppendLog: the run; kFinishBackfill: the backfill;
  // kInsert, kCreateBackfill: the id assigned.
  int64_t id = 0;
  // kStart: start time; kAbandon: end time; kFinishBackfill: finished time
  int64_t time_ms = 0;
  std::vector<RunRecord>* abandoned = nullptr;   // kAbandon: the runs it abandoned
  const BackfillRecord* backfill = nullptr;      // kCreateBackfill
  BackfillState backfill_state = BackfillState::kRunning;  // kFinishBackfill
  const std::vector<LogLineRecord>* lines = nullptr;       // kAppendLog, already capped

  Status status;  // the outcome, valid once done
  bool done = false;
  std::condition_variable cv;  // signalled under Writer::mu_ when done
};

class Writer {
 public:
  // `db` is the write connection, already migrated; the Writer uses it from
  // one thread at a time until Stop().
  Writer(Db* db, bool group_commit, size_t max_batch);
  ~Writer() { Stop(); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Status Start();
  // Applies `op` and returns once it is committed (or has failed).
  Status Submit(WriteOp* op);
  // Refuses new ops, commits everything already queued, joins the thread
  // and releases its statements so the connection can close.
  void Stop();

  WriteStats stats() const;

 private:
  void Loop();
  // Applies ops[0..n) in one transaction and sets each op's status.
  void CommitBatch(WriteOp* const* ops, size_t n);
  Status Apply(WriteOp* op);

  Db* const db_;
  const bool group_commit_;
  const size_t max_batch_;
  RunWriter runs_;
  BackfillWriter backfills_;
  Stmt begin_, commit_, rollback_;

  mutable std::mutex mu_;  // guards everything below, and every WriteOp's done flag
  WriteStats stats_;
  std::condition_variable work_cv_;
  std::deque<WriteOp*> queue_;
  bool started_ = false;
  bool stopping_ = false;
  std::thread thread_;

  std::mutex direct_mu_;  // serializes transactions when not group committing
};

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_WRITER_H_

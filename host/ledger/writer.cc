#include "host/ledger/writer.h"

#include <exception>
#include <system_error>

namespace kiln {

Writer::Writer(Db* db, bool group_commit, size_t max_batch)
    : db_(db), group_commit_(group_commit), max_batch_(max_batch == 0 ? 1 : max_batch) {}

Status Writer::Start() {
  // IMMEDIATE: take the write lock at BEGIN, so a competing process makes us
  // wait in busy_timeout up front instead of failing halfway through a batch.
  Status s = runs_.Prepare(db_);
  if (s.ok()) s = backfills_.Prepare(db_);
  if (s.ok()) s = begin_.Prepare(db_, "BEGIN IMMEDIATE");
  if (s.ok()) s = commit_.Prepare(db_, "COMMIT");
  if (s.ok()) s = rollback_.Prepare(db_, "ROLLBACK");
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (group_commit_) {
    try {
      thread_ = std::thread(&Writer::Loop, this);
    } catch (const std::system_error& e) {
      return Status::IOError("ledger " + db_->path() + ": cannot start writer thread: " + e.what());
    }
  }
  started_ = true;
  return Status::OK();
}

Status Writer::Submit(WriteOp* op) {
  if (!group_commit_) {
    std::lock_guard<std::mutex> direct(direct_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_ || stopping_) return Status::IOError("ledger " + db_->path() + ": ledger is closed");
    }
    CommitBatch(&op, 1);
    return op->status;
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (!started_ || stopping_) return Status::IOError("ledger " + db_->path() + ": ledger is closed");
  queue_.push_back(op);
  if (queue_.size() == 1) work_cv_.notify_one();
  op->cv.wait(lock, [op] { return op->done; });
  return op->status;
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  // Wait out a direct-mode transaction that is still running.
  std::lock_guard<std::mutex> direct(direct_mu_);
  runs_.Finalize();
  backfills_.Finalize();
  for (Stmt* st : {&begin_, &commit_, &rollback_}) st->Finalize();
}

void Writer::Loop() {
  std::vector<WriteOp*> batch;
  batch.reserve(max_batch_);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    // Stopping only once the queue is empty is what makes shutdown a flush.
    if (queue_.empty()) return;
    batch.clear();
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    CommitBatch(batch.data(), batch.size());
    lock.lock();
    // Notify under the lock: once `done` is visible the caller may return
    // and destroy the op, cv included.
    for (WriteOp* op : batch) {
      op->done = true;
      op->cv.notify_one();
    }
  }
}

WriteStats Writer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Writer::CommitBatch(WriteOp* const* ops, size_t n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.writes += n;
    stats_.transactions += 1;
  }
  Status s = begin_.Run();
  if (!s.ok()) {
    for (size_t i = 0; i < n; ++i) ops[i]->status = s;
    return;
  }
  // One op failing a check (run not found, say) is that op's error alone: a
  // failed statement undoes only itself, and the rest of the batch commits.
  // But some errors (I/O, disk full) make SQLite roll back the whole
  // transaction; then every op in the batch has failed.
  Status lost;
  for (size_t i = 0; i < n; ++i) {
    ops[i]->status = Apply(ops[i]);
    if (!ops[i]->status.ok() && !db_->InTransaction()) {
      lost = ops[i]->status;
      break;
    }
  }
  if (lost.ok()) {
    s = commit_.Run();
    if (s.ok()) return;
    lost = s;
  }
  if (db_->InTransaction()) rollback_.Run();
  // Ops that had succeeded were rolled back, and ops after the one that lost
  // the transaction never ran: all of them failed with it.
  for (size_t i = 0; i < n; ++i) {
    if (ops[i]->status.ok()) ops[i]->status = lost;
  }
}

Status Writer::Apply(WriteOp* op) {
  try {
    switch (op->kind) {
      case WriteOp::Kind::kInsert: return runs_.Insert(*op->rec, &op->id);
      case WriteOp::Kind::kStart: return runs_.Start(op->id, op->time_ms);
      case WriteOp::Kind::kFinish: return runs_.Finish(*op->rec);
      case WriteOp::Kind::kAbandon: return runs_.Abandon(op->time_ms, op->abandoned);
      case WriteOp::Kind::kCreateBackfill: return backfills_.Insert(*op->backfill, &op->id);
      case WriteOp::Kind::kFinishBackfill: return backfills_.Finish(op->id, op->backfill_state, op->time_ms);
      case WriteOp::Kind::kAppendLog: return backfills_.AppendLog(op->id, *op->lines);
    }
  } catch (const std::exception& e) {  // bad_alloc while copying rows
    return Status::Internal("ledger " + db_->path() + ": " + e.what());
  }
  return Status::Internal("ledger " + db_->path() + ": unknown write");
}

}  // namespace kiln

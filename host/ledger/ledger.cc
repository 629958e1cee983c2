#include "host/ledger/ledger.h"

#include <exception>
#include <utility>

#include "host/ledger/backfills_table.h"
#include "host/ledger/runs_table.h"
#include "host/ledger/schema.h"

namespace kiln {

namespace {

// Runs `fn`, turning an escaping exception (bad_alloc, in practice) into a
// Status: the API promises none crosses it.
template <typename Fn>
Status Guarded(const std::string& path, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal("ledger " + path + ": " + e.what());
  }
}

}  // namespace

Ledger::Ledger(std::string path, const LedgerOptions& options)
    : path_(std::move(path)), options_(options) {}

Ledger::~Ledger() { Close(); }

Status Ledger::Open(const std::string& path, const LedgerOptions& options,
                    std::unique_ptr<Ledger>* out) {
  return Guarded(path, [&] {
    std::unique_ptr<Ledger> ledger(new Ledger(path, options));
    Status s = ledger->OpenFiles();
    if (!s.ok()) return s;
    *out = std::move(ledger);
    return Status::OK();
  });
}

Status Ledger::OpenFiles() {
  Status s = write_db_.Open(path_, /*create=*/true, options_.busy_timeout_ms);
  if (!s.ok()) return s;

  // Look before writing anything: switching the journal mode rewrites the
  // file header, which we must not do to another program's database or to a
  // ledger from a newer kilnd.
  int64_t version = 0;
  s = CheckLedgerFile(&write_db_, LedgerMigrations(), &version);
  if (!s.ok()) return s;

  // WAL: readers do not block the writer, and a commit is one append plus
  // one fsync. synchronous=FULL: that fsync happens at every commit, so a
  // committed run survives power loss, not only a crash of kilnd.
  std::string mode;
  s = write_db_.QueryText("PRAGMA journal_mode = WAL", &mode);
  if (s.ok() && mode != "wal") {
    return Status::IOError("ledger " + path_ + ": cannot use write-ahead logging (journal mode is " + mode + ")");
  }
  if (s.ok()) s = write_db_.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
  if (s.ok()) s = MigrateSchema(&write_db_, LedgerMigrations());
  if (!s.ok()) return s;

  s = read_db_.Open(path_, /*create=*/false, options_.busy_timeout_ms);
  // query_only: a bug on the read path cannot write behind the writer's back.
  if (s.ok()) s = read_db_.Exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON");
  if (s.ok()) s = get_run_.Prepare(&read_db_, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1");
  if (!s.ok()) return s;

  writer_ = std::make_unique<Writer>(&write_db_, options_.group_commit, options_.max_batch);
  return writer_->Start();
}

void Ledger::Close() {
  if (writer_) writer_->Stop();
  std::lock_guard<std::mutex> lock(read_mu_);
  if (closed_) return;
  closed_ = true;
  // Statements first: a connection closes only once its statements are gone.
  get_run_.Finalize();
  read_db_.Close();
  write_db_.Close();
}

Status Ledger::Closed() const { return Status::IOError("ledger " + path_ + ": ledger is closed"); }

Status Ledger::BeginRun(RunRecord* rec) {
  return Guarded(path_, [&] {
    Status s = ValidateRun(write_db_, *rec);
    if (!s.ok()) return s;
    WriteOp op;
    op.kind = WriteOp::Kind::kInsert;
    op.rec = rec;
    s = writer_->Submit(&op);
    if (s.ok()) rec->id = op.id;
    return s;
  });
}

Status Ledger::StartRun(int64_t id, int64_t start_ms) {
  return Guarded(path_, [&] {
    WriteOp op;
    op.kind = WriteOp::Kind::kStart;
    op.id = id;
    op.time_ms = start_ms;
    return writer_->Submit(&op);
  });
}

Status Ledger::FinishRun(const RunRecord& rec) {
  return Guarded(path_, [&] {
    if (!IsTerminal(rec.status)) {
      return Status::InvalidArgument("ledger " + path_ + ": run " + std::to_string(rec.id) +
                                     " cannot finish with status " + RunStatusName(rec.status));
    }
    WriteOp op;
    op.kind = WriteOp::Kind::kFinish;
    op.rec = &rec;
    return writer_->Submit(&op);
  });
}

Status Ledger::MarkAbandoned(int64_t end_ms, std::vector<RunRecord>* abandoned) {
  return Guarded(path_, [&] {
    WriteOp op;
    op.kind = WriteOp::Kind::kAbandon;
    op.time_ms = end_ms;
    op.abandoned = abandoned;
    return writer_->Submit(&op);
  });
}

Status Ledger::GetRun(int64_t id, RunRecord* out) {
  return Guarded(path_, [&] {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    get_run_.BindInt64(1, id);
    bool row = false;
    Status s = get_run_.Step(&row);
    if (s.ok() && row) s = ReadRun(read_db_, get_run_, out);
    get_run_.Reset();
    if (s.ok() && !row) s = Status::NotFound("ledger " + path_ + ": run " + std::to_string(id) + " not found");
    return s;
  });
}

Status Ledger::ListRuns(const RunFilter& f, std::vector<RunRecord>* out) {
  return Guarded(path_, [&] {
    // Only the clauses in use go into the SQL, so SQLite picks the index
    // that fits; values are always bound, never spliced into the text.
    std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE 1";
    if (f.processor) sql += " AND processor = ?1";
    if (f.status) sql += " AND status = ?2";
    if (f.since_ms) sql += " AND start_ms >= ?3";
    if (f.partition) sql += " AND partition = ?4";
    sql += " ORDER BY start_ms DESC, id DESC";
    if (f.limit != 0) sql += " LIMIT ?5";

    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_, sql);
    if (!s.ok()) return s;
    if (f.processor) st.BindText(1, *f.processor);
    if (f.status) st.BindText(2, RunStatusName(*f.status));
    if (f.since_ms) st.BindInt64(3, *f.since_ms);
    if (f.partition) st.BindText(4, *f.partition);
    if (f.limit != 0) st.BindInt64(5, static_cast<int64_t>(f.limit));

    std::vector<RunRecord> runs;
    bool row = false;
    while ((s = st.Step(&row)).ok() && row) {
      runs.emplace_back();
      s = ReadRun(read_db_, st, &runs.back());
      if (!s.ok()) break;
    }
    if (s.ok()) *out = std::move(runs);
    return s;
  });
}

Status Ledger::LastSucceeded(std::string_view processor, const std::optional<std::string>& partition,
                             RunRecord* out) {
  return Guarded(path_, [&] {
    // "partition IS ?2" matches NULL to NULL, so one statement serves
    // partitioned and unpartitioned processors alike.
    std::string sql = std::string("SELECT ") + kRunColumns +
                      " FROM runs WHERE processor = ?1 AND partition IS ?2 AND status = 'succeeded'"
                      " ORDER BY end_ms DESC, id DESC LIMIT 1";
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_, sql);
    if (!s.ok()) return s;
    st.BindText(1, processor);
    st.BindOptional(2, partition);
    bool row = false;
    s = st.Step(&row);
    if (s.ok() && row) return ReadRun(read_db_, st, out);
    if (!s.ok()) return s;
    return Status::NotFound("ledger " + path_ + ": processor " + std::string(processor) +
                            " has no succeeded run for " +
                            (partition ? "partition " + *partition : std::string("no partition")));
  });
}

Status Ledger::LastScheduled(std::string_view processor, int64_t* scheduled_ms) {
  return Guarded(path_, [&] {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_,
                          "SELECT MAX(scheduled_ms) FROM runs WHERE processor = ?1"
                          " AND trigger IN ('schedule', 'catchup')");
    if (!s.ok()) return s;
    st.BindText(1, processor);
    bool row = false;
    s = st.Step(&row);
    if (!s.ok()) return s;
    if (!row || st.IsNull(0)) {
      return Status::NotFound("ledger " + path_ + ": processor " + std::string(processor) +
                              " has no scheduled run");
    }
    *scheduled_ms = st.Int64(0);
    return Status::OK();
  });
}

Status Ledger::CheckIntegrity() {
  return Guarded(path_, [&] {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    std::string result;
    Status s = read_db_.QueryText("PRAGMA integrity_check", &result);
    if (!s.ok()) return s;
    if (result != "ok") return Status::Corruption("ledger " + path_ + ": integrity check failed: " + result);
    return Status::OK();
  });
}

Status Ledger::CreateBackfill(BackfillRecord* rec) {
  return Guarded(path_, [&] {
    Status s = ValidateBackfill(write_db_, *rec);
    if (!s.ok()) return s;
    WriteOp op;
    op.kind = WriteOp::Kind::kCreateBackfill;
    op.backfill = rec;
    s = writer_->Submit(&op);
    if (s.ok()) rec->id = op.id;
    return s;
  });
}

Status Ledger::FinishBackfill(int64_t id, BackfillState state, int64_t finished_ms) {
  return Guarded(path_, [&] {
    if (state == BackfillState::kRunning) {
      return Status::InvalidArgument("ledger " + path_ + ": backfill " + std::to_string(id) +
                                     " cannot finish with state running");
    }
    WriteOp op;
    op.kind = WriteOp::Kind::kFinishBackfill;
    op.id = id;
    op.backfill_state = state;
    op.time_ms = finished_ms;
    return writer_->Submit(&op);
  });
}

Status Ledger::GetBackfill(int64_t id, BackfillRecord* out) {
  return Guarded(path_, [&] {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_, std::string("SELECT ") + kBackfillColumns + " FROM backfills WHERE id = ?1");
    if (!s.ok()) return s;
    st.BindInt64(1, id);
    bool row = false;
    s = st.Step(&row);
    if (s.ok() && row) return ReadBackfill(read_db_, st, out);
    if (!s.ok()) return s;
    return Status::NotFound("ledger " + path_ + ": backfill " + std::to_string(id) + " not found");
  });
}

Status Ledger::ListBackfills(std::optional<BackfillState> state, size_t limit, std::vector<BackfillRecord>* out) {
  return Guarded(path_, [&] {
    std::string sql = std::string("SELECT ") + kBackfillColumns + " FROM backfills WHERE 1";
    if (state) sql += " AND state = ?1";
    sql += " ORDER BY created_ms DESC, id DESC";
    if (limit != 0) sql += " LIMIT ?2";

    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_, sql);
    if (!s.ok()) return s;
    if (state) st.BindText(1, BackfillStateName(*state));
    if (limit != 0) st.BindInt64(2, static_cast<int64_t>(limit));

    std::vector<BackfillRecord> backfills;
    bool row = false;
    while ((s = st.Step(&row)).ok() && row) {
      backfills.emplace_back();
      s = ReadBackfill(read_db_, st, &backfills.back());
      if (!s.ok()) break;
    }
    if (s.ok()) *out = std::move(backfills);
    return s;
  });
}

Status Ledger::ReadOutcomes(Stmt* st, std::vector<PartitionOutcome>* out) {
  std::vector<PartitionOutcome> outcomes;
  Status s;
  bool row = false;
  while ((s = st->Step(&row)).ok() && row) {
    PartitionOutcome o;
    o.processor = st->Text(0);
    o.partition = st->Text(1);
    o.run_id = st->Int64(3);
    std::string status = st->Text(2);
    if (!ParseRunStatus(status, &o.status)) {
      return Status::Corruption("ledger " + path_ + ": run " + std::to_string(o.run_id) + " has unknown status \"" +
                                status + "\"");
    }
    outcomes.push_back(std::move(o));
  }
  if (s.ok()) *out = std::move(outcomes);
  return s;
}

Status Ledger::BackfillOutcomes(int64_t id, std::vector<PartitionOutcome>* out) {
  return Guarded(path_, [&] {
    // With max() SQLite takes the bare columns (status) from the row that
    // holds the maximum: the latest run of each group. runs_by_backfill
    // serves both the WHERE and the GROUP BY.
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_,
                          "SELECT processor, partition, status, max(id) FROM runs"
                          " WHERE backfill_id = ?1 GROUP BY processor, partition"
                          " ORDER BY processor, partition");
    if (!s.ok()) return s;
    st.BindInt64(1, id);
    return ReadOutcomes(&st, out);
  });
}

Status Ledger::LatestFinished(std::string_view processor, const std::string& start_date,
                              const std::string& end_date, std::vector<PartitionOutcome>* out) {
  return Guarded(path_, [&] {
    const std::string prefix = "ledger " + path_ + ": ";
    if (!LooksLikePartition(start_date)) {
      return Status::InvalidArgument(prefix + "start date \"" + start_date + "\" is not a YYYY-MM-DD date");
    }
    if (!LooksLikePartition(end_date)) {
      return Status::InvalidArgument(prefix + "end date \"" + end_date + "\" is not a YYYY-MM-DD date");
    }
    if (start_date > end_date) {
      return Status::InvalidArgument(prefix + "start date " + start_date + " is after end date " + end_date);
    }
    // YYYY-MM-DD sorts as text in date order, so BETWEEN is a date range;
    // runs_by_partition (processor, partition, status) covers the search.
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_,
                          "SELECT processor, partition, status, max(id) FROM runs"
                          " WHERE processor = ?1 AND partition BETWEEN ?2 AND ?3"
                          " AND status IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'abandoned')"
                          " GROUP BY partition ORDER BY partition");
    if (!s.ok()) return s;
    st.BindText(1, processor);
    st.BindText(2, start_date);
    st.BindText(3, end_date);
    return ReadOutcomes(&st, out);
  });
}

Status Ledger::AppendRunLog(int64_t run_id, const std::vector<LogLineRecord>& lines) {
  return Guarded(path_, [&] {
    Status s = ValidateRunLog(write_db_, run_id, lines);
    if (!s.ok() || lines.empty()) return s;
    // Capped here, before the writer thread sees it: a runaway plugin costs
    // the ledger at most kMaxRunLogLines rows.
    std::vector<LogLineRecord> capped;
    const std::vector<LogLineRecord>* stored = &lines;
    if (lines.size() > kMaxRunLogLines) {
      capped = CapRunLog(lines);
      stored = &capped;
    }
    WriteOp op;
    op.kind = WriteOp::Kind::kAppendLog;
    op.id = run_id;
    op.lines = stored;
    return writer_->Submit(&op);
  });
}

Status Ledger::GetRunLog(int64_t run_id, int64_t after_seq, std::vector<LogLineRecord>* out) {
  return Guarded(path_, [&] {
    std::lock_guard<std::mutex> lock(read_mu_);
    if (closed_) return Closed();
    Stmt st;
    Status s = st.Prepare(&read_db_,
                          "SELECT seq, ts_ms, level, message FROM run_log"
                          " WHERE run_id = ?1 AND seq > ?2 ORDER BY seq");
    if (!s.ok()) return s;
    st.BindInt64(1, run_id);
    st.BindInt64(2, after_seq);
    std::vector<LogLineRecord> lines;
    bool row = false;
    while ((s = st.Step(&row)).ok() && row) {
      LogLineRecord line;
      line.seq = st.Int64(0);
      line.ts_ms = st.Int64(1);
      line.level = st.Text(2);
      line.message = st.Text(3);
      lines.push_back(std::move(line));
    }
    if (s.ok()) *out = std::move(lines);
    return s;
  });
}

}  // namespace kiln

#include "host/ledger/runs_table.h"

#include <sqlite3.h>

#include <algorithm>
#include <string>

namespace kiln {

const char kRunColumns[] =
    "id, processor, plugin_name, plugin_version, plugin_hash, partition, trigger, "
    "scheduled_ms, start_ms, end_ms, configure_ms, init_ms, extract_ms, validate_ms, "
    "transform_ms, save_ms, post_process_ms, status, attempt, records, error, backfill_id";

namespace {

// Column of the first phase in kRunColumns; the others follow in Phase order.
constexpr int kFirstPhaseColumn = 10;

std::string Prefix(const Db& db) { return "ledger " + db.path() + ": "; }

// The error column is NULL rather than '' for runs without an error, so
// "WHERE error IS NOT NULL" finds the failures.
void BindError(Stmt* st, int i, const std::string& error) {
  if (error.empty()) {
    st->BindNull(i);
  } else {
    st->BindText(i, error);
  }
}

void BindPhases(Stmt* st, int first, const RunRecord& rec) {
  for (size_t p = 0; p < kPhaseCount; ++p) st->BindOptional(first + static_cast<int>(p), rec.phase_ms[p]);
}

}  // namespace

Status ReadRun(const Db& db, const Stmt& st, RunRecord* out) {
  RunRecord r;
  r.id = st.Int64(0);
  r.processor = st.Text(1);
  r.plugin_name = st.Text(2);
  r.plugin_version = st.Text(3);
  r.plugin_hash = st.Text(4);
  r.partition = st.OptText(5);
  std::string trigger = st.Text(6);
  r.scheduled_ms = st.OptInt64(7);
  r.start_ms = st.Int64(8);
  r.end_ms = st.OptInt64(9);
  for (size_t p = 0; p < kPhaseCount; ++p) r.phase_ms[p] = st.OptDouble(kFirstPhaseColumn + static_cast<int>(p));
  std::string status = st.Text(17);
  r.attempt = static_cast<int32_t>(st.Int64(18));
  r.records = st.Int64(19);
  r.error = st.Text(20);
  r.backfill_id = st.OptInt64(21);
  // The CHECK constraints make these unreachable short of a hand edit.
  if (!ParseTrigger(trigger, &r.trigger)) {
    return Status::Corruption(Prefix(db) + "run " + std::to_string(r.id) + " has unknown trigger \"" + trigger + "\"");
  }
  if (!ParseRunStatus(status, &r.status)) {
    return Status::Corruption(Prefix(db) + "run " + std::to_string(r.id) + " has unknown status \"" + status + "\"");
  }
  *out = std::move(r);
  return Status::OK();
}

Status ValidateRun(const Db& db, const RunRecord& rec) {
  if (rec.processor.empty()) return Status::InvalidArgument(Prefix(db) + "run has no processor name");
  if (rec.partition && !LooksLikePartition(*rec.partition)) {
    return Status::InvalidArgument(Prefix(db) + "run partition \"" + *rec.partition + "\" is not a YYYY-MM-DD date");
  }
  return Status::OK();
}

Status RunWriter::Prepare(Db* db) {
  db_ = db;
  Status s = insert_.Prepare(db,
      "INSERT INTO runs (processor, plugin_name, plugin_version, plugin_hash, partition, trigger, "
      "scheduled_ms, start_ms, end_ms, configure_ms, init_ms, extract_ms, validate_ms, transform_ms, "
      "save_ms, post_process_ms, status, attempt, records, error, backfill_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)");
  if (s.ok()) {
    s = start_.Prepare(db, "UPDATE runs SET status = 'running', start_ms = ?2 WHERE id = ?1 AND status = 'queued'");
  }
  if (s.ok()) {
    s = finish_.Prepare(db,
        "UPDATE runs SET end_ms = ?2, status = ?3, configure_ms = ?4, init_ms = ?5, extract_ms = ?6, "
        "validate_ms = ?7, transform_ms = ?8, save_ms = ?9, post_process_ms = ?10, records = ?11, error = ?12 "
        "WHERE id = ?1 AND status IN ('queued', 'running')");
  }
  if (s.ok()) {
    // The reason goes into error only if the run has none yet.
    s = abandon_.Prepare(db, std::string(
        "UPDATE runs SET status = 'abandoned', end_ms = coalesce(end_ms, ?1), "
        "error = coalesce(error, 'kilnd stopped while the run was in flight') "
        "WHERE status IN ('queued', 'running') RETURNING ") + kRunColumns);
  }
  if (s.ok()) s = status_of_.Prepare(db, "SELECT status FROM runs WHERE id = ?1");
  return s;
}

void RunWriter::Finalize() {
  for (Stmt* st : {&insert_, &start_, &finish_, &abandon_, &status_of_}) st->Finalize();
}

Status RunWriter::Insert(const RunRecord& rec, int64_t* id) {
  insert_.BindText(1, rec.processor);
  insert_.BindText(2, rec.plugin_name);
  insert_.BindText(3, rec.plugin_version);
  insert_.BindText(4, rec.plugin_hash);
  insert_.BindOptional(5, rec.partition);
  insert_.BindText(6, TriggerName(rec.trigger));
  insert_.BindOptional(7, rec.scheduled_ms);
  insert_.BindInt64(8, rec.start_ms);
  insert_.BindOptional(9, rec.end_ms);
  BindPhases(&insert_, 10, rec);
  insert_.BindText(17, RunStatusName(rec.status));
  insert_.BindInt64(18, rec.attempt);
  insert_.BindInt64(19, rec.records);
  BindError(&insert_, 20, rec.error);
  insert_.BindOptional(21, rec.backfill_id);
  Status s = insert_.Run();
  if (s.ok()) *id = sqlite3_last_insert_rowid(db_->get());
  return s;
}

Status RunWriter::Start(int64_t id, int64_t start_ms) {
  start_.BindInt64(1, id);
  start_.BindInt64(2, start_ms);
  Status s = start_.Run();
  if (!s.ok()) return s;
  if (sqlite3_changes(db_->get()) == 0) return WhyNotUpdated(id, "queued");
  return Status::OK();
}

Status RunWriter::Finish(const RunRecord& rec) {
  finish_.BindInt64(1, rec.id);
  finish_.BindOptional(2, rec.end_ms);
  finish_.BindText(3, RunStatusName(rec.status));
  BindPhases(&finish_, 4, rec);
  finish_.BindInt64(11, rec.records);
  BindError(&finish_, 12, rec.error);
  Status s = finish_.Run();
  if (!s.ok()) return s;
  if (sqlite3_changes(db_->get()) == 0) return WhyNotUpdated(rec.id, "in flight");
  return Status::OK();
}

Status RunWriter::Abandon(int64_t end_ms, std::vector<RunRecord>* out) {
  out->clear();
  abandon_.BindInt64(1, end_ms);
  Status s;
  bool row = false;
  while ((s = abandon_.Step(&row)).ok() && row) {
    RunRecord r;
    s = ReadRun(*db_, abandon_, &r);
    if (!s.ok()) break;
    out->push_back(std::move(r));
  }
  abandon_.Reset();
  if (!s.ok()) {
    out->clear();
    return s;
  }
  // RETURNING gives rows in no promised order.
  std::sort(out->begin(), out->end(), [](const RunRecord& a, const RunRecord& b) { return a.id < b.id; });
  return Status::OK();
}

Status RunWriter::WhyNotUpdated(int64_t id, const char* wanted) {
  status_of_.BindInt64(1, id);
  bool row = false;
  Status s = status_of_.Step(&row);
  std::string status = row ? status_of_.Text(0) : std::string();
  status_of_.Reset();
  if (!s.ok()) return s;
  const std::string run = "run " + std::to_string(id);
  if (!row) return Status::NotFound(Prefix(*db_) + run + " not found");
  return Status::InvalidArgument(Prefix(*db_) + run + " is " + status + ", not " + wanted);
}

}  // namespace kiln

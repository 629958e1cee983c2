#include "host/ledger/backfills_table.h"

#include <sqlite3.h>

#include <set>
#include <string>

namespace kiln {

const char kBackfillColumns[] =
    "id, processor, processors, start_date, end_date, parallel, cascade, reprocess, state, "
    "created_ms, finished_ms";

namespace {

std::string Prefix(const Db& db) { return "ledger " + db.path() + ": "; }

std::string JoinProcessors(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

std::vector<std::string> SplitProcessors(const std::string& joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  size_t begin = 0;
  for (;;) {
    size_t comma = joined.find(',', begin);
    out.push_back(joined.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (comma == std::string::npos) return out;
    begin = comma + 1;
  }
}

}  // namespace

Status ReadBackfill(const Db& db, const Stmt& st, BackfillRecord* out) {
  BackfillRecord b;
  b.id = st.Int64(0);
  b.processor = st.Text(1);
  b.processors = SplitProcessors(st.Text(2));
  b.start_date = st.Text(3);
  b.end_date = st.Text(4);
  b.parallel = static_cast<int>(st.Int64(5));
  b.cascade = st.Int64(6) != 0;
  std::string reprocess = st.Text(7);
  std::string state = st.Text(8);
  b.created_ms = st.Int64(9);
  b.finished_ms = st.OptInt64(10);
  // The CHECK constraints make these unreachable short of a hand edit.
  if (!ParseReprocess(reprocess, &b.reprocess)) {
    return Status::Corruption(Prefix(db) + "backfill " + std::to_string(b.id) + " has unknown reprocess \"" +
                              reprocess + "\"");
  }
  if (!ParseBackfillState(state, &b.state)) {
    return Status::Corruption(Prefix(db) + "backfill " + std::to_string(b.id) + " has unknown state \"" + state +
                              "\"");
  }
  *out = std::move(b);
  return Status::OK();
}

Status ValidateBackfill(const Db& db, const BackfillRecord& rec) {
  const std::string prefix = Prefix(db) + "backfill ";
  if (rec.processor.empty()) return Status::InvalidArgument(prefix + "has no processor name");
  if (rec.processors.empty() || rec.processors.front() != rec.processor) {
    return Status::InvalidArgument(prefix + "processors must start with its processor \"" + rec.processor + "\"");
  }
  if (!rec.cascade && rec.processors.size() != 1) {
    return Status::InvalidArgument(prefix + "without cascade covers only its processor, not " +
                                   std::to_string(rec.processors.size()) + " processors");
  }
  std::set<std::string> seen;
  for (const std::string& name : rec.processors) {
    if (name.empty()) return Status::InvalidArgument(prefix + "processors include an empty name");
    if (name.find(',') != std::string::npos) {
      return Status::InvalidArgument(prefix + "processor name \"" + name + "\" contains a comma");
    }
    if (!seen.insert(name).second) {
      return Status::InvalidArgument(prefix + "processors list \"" + name + "\" twice");
    }
  }
  if (!LooksLikePartition(rec.start_date)) {
    return Status::InvalidArgument(prefix + "start date \"" + rec.start_date + "\" is not a YYYY-MM-DD date");
  }
  if (!LooksLikePartition(rec.end_date)) {
    return Status::InvalidArgument(prefix + "end date \"" + rec.end_date + "\" is not a YYYY-MM-DD date");
  }
  if (rec.start_date > rec.end_date) {
    return Status::InvalidArgument(prefix + "start date " + rec.start_date + " is after its end date " +
                                   rec.end_date);
  }
  if (rec.parallel < 1) {
    return Status::InvalidArgument(prefix + "parallel must be at least 1, not " + std::to_string(rec.parallel));
  }
  const bool running = rec.state == BackfillState::kRunning;
  if (running == rec.finished_ms.has_value()) {
    return Status::InvalidArgument(prefix + "in state " + BackfillStateName(rec.state) +
                                   (running ? " cannot have" : " needs") + " a finished time");
  }
  return Status::OK();
}

Status ValidateRunLog(const Db& db, int64_t run_id, const std::vector<LogLineRecord>& lines) {
  const std::string prefix = Prefix(db) + "run " + std::to_string(run_id) + " log ";
  int64_t prev = 0;
  for (const LogLineRecord& line : lines) {
    if (line.seq <= prev) {
      return Status::InvalidArgument(prefix + "seq " + std::to_string(line.seq) +
                                     (prev == 0 ? std::string(" is not positive")
                                                : " does not follow seq " + std::to_string(prev)));
    }
    if (!IsLogLevel(line.level)) {
      return Status::InvalidArgument(prefix + "line " + std::to_string(line.seq) + " has unknown level \"" +
                                     line.level + "\"");
    }
    prev = line.seq;
  }
  return Status::OK();
}

std::vector<LogLineRecord> CapRunLog(const std::vector<LogLineRecord>& lines) {
  if (lines.size() <= kMaxRunLogLines) return lines;
  std::vector<LogLineRecord> out(lines.begin(), lines.begin() + (kMaxRunLogLines - 1));
  const size_t dropped = lines.size() - (kMaxRunLogLines - 1);
  LogLineRecord marker;
  marker.seq = lines[kMaxRunLogLines - 1].seq;
  marker.ts_ms = lines.back().ts_ms;
  marker.level = "warn";
  marker.message = "(" + std::to_string(dropped) + " more lines dropped)";
  out.push_back(std::move(marker));
  return out;
}

Status BackfillWriter::Prepare(Db* db) {
  db_ = db;
  Status s = insert_.Prepare(db,
      "INSERT INTO backfills (processor, processors, start_date, end_date, parallel, cascade, reprocess, "
      "state, created_ms, finished_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (s.ok()) {
    s = finish_.Prepare(db,
        "UPDATE backfills SET state = ?2, finished_ms = ?3 WHERE id = ?1 AND state = 'running'");
  }
  if (s.ok()) s = state_of_.Prepare(db, "SELECT state FROM backfills WHERE id = ?1");
  if (s.ok()) s = run_exists_.Prepare(db, "SELECT 1 FROM runs WHERE id = ?1");
  if (s.ok()) s = has_log_.Prepare(db, "SELECT 1 FROM run_log WHERE run_id = ?1 LIMIT 1");
  if (s.ok()) {
    s = insert_line_.Prepare(db, "INSERT INTO run_log (run_id, seq, ts_ms, level, message) VALUES (?1, ?2, ?3, ?4, ?5)");
  }
  // A log is many statements: the savepoint makes it all or nothing without
  // failing the other writes of the batch.
  if (s.ok()) s = savepoint_.Prepare(db, "SAVEPOINT run_log");
  if (s.ok()) s = release_.Prepare(db, "RELEASE run_log");
  if (s.ok()) s = rollback_to_.Prepare(db, "ROLLBACK TO run_log");
  return s;
}

void BackfillWriter::Finalize() {
  for (Stmt* st : {&insert_, &finish_, &state_of_, &run_exists_, &has_log_, &insert_line_, &savepoint_, &release_,
                   &rollback_to_}) {
    st->Finalize();
  }
}

Status BackfillWriter::Insert(const BackfillRecord& rec, int64_t* id) {
  insert_.BindText(1, rec.processor);
  insert_.BindText(2, JoinProcessors(rec.processors));
  insert_.BindText(3, rec.start_date);
  insert_.BindText(4, rec.end_date);
  insert_.BindInt64(5, rec.parallel);
  insert_.BindInt64(6, rec.cascade ? 1 : 0);
  insert_.BindText(7, ReprocessName(rec.reprocess));
  insert_.BindText(8, BackfillStateName(rec.state));
  insert_.BindInt64(9, rec.created_ms);
  insert_.BindOptional(10, rec.finished_ms);
  Status s = insert_.Run();
  if (s.ok()) *id = sqlite3_last_insert_rowid(db_->get());
  return s;
}

Status BackfillWriter::Finish(int64_t id, BackfillState state, int64_t finished_ms) {
  finish_.BindInt64(1, id);
  finish_.BindText(2, BackfillStateName(state));
  finish_.BindInt64(3, finished_ms);
  Status s = finish_.Run();
  if (!s.ok()) return s;
  if (sqlite3_changes(db_->get()) != 0) return Status::OK();

  state_of_.BindInt64(1, id);
  bool row = false;
  s = state_of_.Step(&row);
  std::string current = row ? state_of_.Text(0) : std::string();
  state_of_.Reset();
  if (!s.ok()) return s;
  const std::string backfill = "backfill " + std::to_string(id);
  if (!row) return Status::NotFound(Prefix(*db_) + backfill + " not found");
  return Status::InvalidArgument(Prefix(*db_) + backfill + " is " + current + ", not running");
}

Status BackfillWriter::AppendLog(int64_t run_id, const std::vector<LogLineRecord>& lines) {
  const std::string run = "run " + std::to_string(run_id);
  bool row = false;
  run_exists_.BindInt64(1, run_id);
  Status s = run_exists_.Step(&row);
  run_exists_.Reset();
  if (!s.ok()) return s;
  if (!row) return Status::NotFound(Prefix(*db_) + run + " not found");
  has_log_.BindInt64(1, run_id);
  s = has_log_.Step(&row);
  has_log_.Reset();
  if (!s.ok()) return s;
  if (row) return Status::InvalidArgument(Prefix(*db_) + run + " already has a log");

  s = savepoint_.Run();
  if (!s.ok()) return s;
  for (const LogLineRecord& line : lines) {
    insert_line_.BindInt64(1, run_id);
    insert_line_.BindInt64(2, line.seq);
    insert_line_.BindInt64(3, line.ts_ms);
    insert_line_.BindText(4, line.level);
    insert_line_.BindText(5, line.message);
    s = insert_line_.Run();
    if (!s.ok()) break;
  }
  // After an error that rolled back the whole transaction the savepoint is
  // gone with it; the writer sees that and fails the batch.
  if (!s.ok() && db_->InTransaction()) rollback_to_.Run();
  if (db_->InTransaction()) {
    Status r = release_.Run();
    if (s.ok()) s = r;
  }
  return s;
}

}  // namespace kiln

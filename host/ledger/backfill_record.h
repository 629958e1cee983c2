// BackfillRecord and the per-run log: the rows schema version 2 adds, as the
// host sees them.
//
// As in run_record.h, enums are stored as their lowercase names ("cancelled",
// "failed") so the sqlite3 shell shows what it means and reordering an enum
// can never relabel history.
#ifndef KILN_HOST_LEDGER_BACKFILL_RECORD_H_
#define KILN_HOST_LEDGER_BACKFILL_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/ledger/run_record.h"

namespace kiln {

enum class BackfillState {
  kRunning,
  kSucceeded,
  kFailed,
  kCancelled,
};

// Which partitions a backfill runs again.
enum class Reprocess {
  kNone,    // only dates with no finished run
  kFailed,  // also dates whose latest finished run did not succeed
  kAll,     // every date in the range
};

// "running", "cancelled", ...; ParseX returns false on an unknown name.
const char* BackfillStateName(BackfillState s);
bool ParseBackfillState(std::string_view name, BackfillState* out);
const char* ReprocessName(Reprocess r);
bool ParseReprocess(std::string_view name, Reprocess* out);

struct BackfillRecord {
  int64_t id = 0;  // assigned by Ledger::CreateBackfill
  std::string processor;
  // `processor` first, then (with cascade) its transitive dependents,
  // upstream first. Without cascade exactly {processor}. Names may not
  // contain ',': the column is the names joined by commas.
  std::vector<std::string> processors;
  std::string start_date, end_date;  // "YYYY-MM-DD", start_date <= end_date
  int parallel = 1;                  // >= 1
  bool cascade = false;
  Reprocess reprocess = Reprocess::kNone;
  BackfillState state = BackfillState::kRunning;
  int64_t created_ms = 0;            // unix ms
  std::optional<int64_t> finished_ms;  // set exactly when state is not running

  bool operator==(const BackfillRecord&) const = default;
};

// The latest run of one (processor, partition) pair, for backfill bookkeeping.
struct PartitionOutcome {
  std::string processor;
  std::string partition;  // "" for a run without a partition
  RunStatus status = RunStatus::kQueued;
  int64_t run_id = 0;

  bool operator==(const PartitionOutcome&) const = default;
};

// One line a run logged.
struct LogLineRecord {
  int64_t seq = 0;  // 1, 2, 3, ... within the run
  int64_t ts_ms = 0;
  std::string level;  // "debug", "info", "warn" or "error"
  std::string message;

  bool operator==(const LogLineRecord&) const = default;
};

// The most log lines stored for one run. Ledger::AppendRunLog keeps the first
// kMaxRunLogLines - 1 and replaces the rest by one warn line
// "(N more lines dropped)", so at most kMaxRunLogLines lines are stored.
inline constexpr size_t kMaxRunLogLines = 1000;

// True for the four level names the run_log table accepts.
bool IsLogLevel(std::string_view level);

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_BACKFILL_RECORD_H_

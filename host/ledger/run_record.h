// RunRecord: one row of the ledger, as the host sees it.
//
// Enums are stored as their lowercase names ("succeeded", "backfill") rather
// than integers so that an operator can read the ledger with the sqlite3 shell
// and so that reordering an enum can never silently relabel history.
#ifndef KILN_HOST_LEDGER_RUN_RECORD_H_
#define KILN_HOST_LEDGER_RUN_RECORD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

enum class RunStatus {
  kQueued,
  kRunning,
  kSucceeded,
  kFailed,
  kTimedOut,
  kCancelled,
  kAbandoned,  // in flight when the daemon died; set by Ledger::MarkAbandoned
};

enum class Trigger {
  kSchedule,
  kManual,
  kBackfill,
  kRetry,
  kCatchup,
};

// The plugin lifecycle phases whose durations are recorded, in call order.
enum class Phase {
  kConfigure,
  kInit,
  kExtract,
  kValidate,
  kTransform,
  kSave,
  kPostProcess,
};
inline constexpr size_t kPhaseCount = 7;

// "succeeded", "timed_out", ...; ParseX returns false on an unknown name.
const char* RunStatusName(RunStatus s);
bool ParseRunStatus(std::string_view name, RunStatus* out);
const char* TriggerName(Trigger t);
bool ParseTrigger(std::string_view name, Trigger* out);
// "configure", "post_process", ...: also the stem of the ledger column
// ("post_process_ms").
const char* PhaseName(Phase p);

// queued and running are the only statuses a run can leave.
bool IsTerminal(RunStatus s);

struct RunRecord {
  int64_t id = 0;  // assigned by Ledger::BeginRun
  std::string processor;
  std::string plugin_name;
  std::string plugin_version;
  std::string plugin_hash;
  std::optional<std::string> partition;  // "YYYY-MM-DD", or none if unpartitioned
  Trigger trigger = Trigger::kSchedule;
  std::optional<int64_t> scheduled_ms;  // unix ms; none for manual runs
  // Unix ms. For a queued run, when it was queued; StartRun moves it to the
  // moment the run actually began.
  int64_t start_ms = 0;
  std::optional<int64_t> end_ms;
  // Milliseconds spent in each phase, indexed by Phase; none if the phase
  // did not run (a run that fails in extract has no save time).
  std::array<std::optional<double>, kPhaseCount> phase_ms{};
  RunStatus status = RunStatus::kQueued;
  int32_t attempt = 1;
  int64_t records = 0;
  std::string error;  // empty unless the run failed
  std::optional<int64_t> backfill_id;

  std::optional<double>& phase(Phase p) { return phase_ms[static_cast<size_t>(p)]; }
  const std::optional<double>& phase(Phase p) const { return phase_ms[static_cast<size_t>(p)]; }

  bool operator==(const RunRecord&) const = default;
};

// True if `s` has the shape of a calendar date "YYYY-MM-DD" (month 01-12,
// day 01-31). The calendar module owns real date logic; the ledger only
// refuses text that could never be a partition.
bool LooksLikePartition(std::string_view s);

}  // namespace kiln

#endif  // KILN_HOST_LEDGER_RUN_RECORD_H_

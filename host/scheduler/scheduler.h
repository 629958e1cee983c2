// The scheduler: decides which runs start when. It owns no threads and does
// no I/O but reading the ledger; kilnd's event loop calls it and carries out
// what it returns, and tests call it with a fake clock.
//
//   - Scheduled slots: each processor's next fire time (FireTimes). When the
//     loop wakes past slots, the latest one fires and the rest are skipped,
//     as a suspended laptop does not replay a night of cron.
//   - Catch-up after downtime: the ledger tells the last slot that ran;
//     missed slots since then run per `catchup` (none, latest, all capped).
//   - Concurrency per processor: a slot that fires while a run is in flight
//     is skipped (forbid), started beside it (allow), or replaces it (the old
//     run is cancelled). Manual, retry and backfill runs queue behind it under
//     forbid and replace instead of being dropped.
//   - Dependencies: a run of a partitioned processor for date D waits until
//     each processor it depends on has succeeded for D, by the ledger; an
//     upstream success releases the runs waiting on it.
//   - Retries: a failed or timed-out run is retried `retries` times with
//     exponential backoff and jitter (not backfill runs: the backfill
//     records the failure, and its own resume covers a crash).
//   - Backfill runs skip the concurrency policy: they are other dates, and
//     the backfill's `parallel` bounds them.
#ifndef KILN_HOST_SCHEDULER_SCHEDULER_H_
#define KILN_HOST_SCHEDULER_SCHEDULER_H_

#include <deque>
#include <map>
#include <queue>
#include <unordered_map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "host/base/date.h"
#include "host/config/config.h"
#include "host/ledger/ledger.h"
#include "host/scheduler/clock.h"
#include "host/scheduler/fire_times.h"

namespace kiln {

// A run the scheduler wants started.
struct RunIntent {
  std::string processor;
  std::optional<Day> partition;
  Trigger trigger = Trigger::kSchedule;
  std::optional<SysMillis> scheduled;  // the slot, for schedule and catchup runs
  int attempt = 1;
  std::optional<int64_t> backfill_id;
};

// What the event loop must do after a scheduler call.
struct Actions {
  std::vector<RunIntent> start;        // start these runs now
  std::vector<std::string> cancel;     // cancel the in-flight runs of these processors
  std::vector<std::string> log;        // decisions worth a log line (skips, waits)
};

class Scheduler {
 public:
  // `ledger` answers catch-up and dependency questions; it must outlive the
  // scheduler. `seed` seeds retry jitter.
  Scheduler(Ledger* ledger, uint64_t seed = std::random_device{}());

  // Installs a config (at start, and on reload). In-flight counts survive a
  // reload; processors that disappeared stop firing; waiting runs of
  // processors that disappeared are dropped.
  void Configure(const Config& config, SysMillis now);

  // At daemon start, after Configure: catch-up for missed slots, and
  // retries of runs that were in flight when the last daemon died.
  void Recover(SysMillis now, const std::vector<RunRecord>& abandoned, Actions* out);

  // Time has reached `now`: due slots and due retries.
  void Tick(SysMillis now, Actions* out);

  // Asks for a run now (manual trigger, backfill partitions). Refused when
  // the processor is unknown or the partition does not fit its plugin.
  Status Submit(const RunIntent& intent, Actions* out);

  // A run the event loop started has ended with `status`.
  void Finished(const RunIntent& intent, RunStatus status, SysMillis now, Actions* out);

  // When Tick next has something to do; nullopt when nothing is scheduled.
  std::optional<SysMillis> NextWakeup() const;

  // For status displays.
  std::optional<SysMillis> NextFire(const std::string& processor) const;
  int InFlight(const std::string& processor) const;
  size_t Waiting() const;

 private:
  struct Slot {
    ProcessorConfig config;
    FireTimes fire_times;
    std::optional<SysMillis> next_fire;
    int in_flight = 0;
    std::deque<RunIntent> backlog;  // waiting for the in-flight run (forbid/replace)
  };
  struct Retry {
    SysMillis due;
    RunIntent intent;
  };

  // Applies dependencies, then concurrency, to a run that is due now.
  void Admit(RunIntent intent, bool from_schedule, Actions* out);
  void Admit(Slot& slot, RunIntent intent, bool from_schedule, Actions* out);
  // Starts the run: counts it in flight.
  void Start(Slot& slot, RunIntent intent, Actions* out);
  // The upstream processors of `slot` that have not succeeded for `day`.
  std::vector<std::string> MissingUpstreams(const Slot& slot, const Day& day);
  std::chrono::milliseconds Backoff(const Slot& slot, int attempt);

  Ledger* ledger_;
  std::mt19937_64 rng_;
  // Processors by name; order_ points at them in config order (upstream
  // before downstream). Unordered-map nodes never move, so the pointers hold
  // until the next Configure.
  std::unordered_map<std::string, Slot> slots_;
  std::vector<Slot*> order_;
  // Next fire times as (time, index into order_), earliest on top: a tick
  // touches only the processors that are due, not all of them.
  using FireEntry = std::pair<SysMillis, size_t>;
  std::priority_queue<FireEntry, std::vector<FireEntry>, std::greater<FireEntry>> fires_;
  std::vector<Retry> retries_;
  std::vector<RunIntent> waiting_;  // for upstream successes
};

// Maps ledger triggers to the ABI's KILN_TRIGGER_* values.
int32_t AbiTrigger(Trigger t);

}  // namespace kiln

#endif  // KILN_HOST_SCHEDULER_SCHEDULER_H_

// Backfills: a processor run over a range of dates, in parallel, resumable,
// optionally cascading to the processors that depend on it.
//
// A backfill is a row in the ledger (its id, range, state); each of its
// partition runs is a ledger run carrying the backfill's id, so what is done
// is always read back from the ledger: after a restart or a kill -9 the
// daemon resumes every running backfill and never redoes a (processor, date)
// that already succeeded in it. The manager lives on kilnd's event loop: it
// decides which partition runs to start; the scheduler and runner start them.
#ifndef KILN_HOST_BACKFILL_BACKFILL_MANAGER_H_
#define KILN_HOST_BACKFILL_BACKFILL_MANAGER_H_

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "host/base/date.h"
#include "host/config/config.h"
#include "host/ledger/ledger.h"
#include "host/scheduler/clock.h"
#include "host/scheduler/scheduler.h"

namespace kiln {

struct BackfillRequest {
  std::string processor;
  std::string start_date, end_date;  // YYYY-MM-DD, inclusive
  int parallel = 1;
  bool cascade = false;
  Reprocess reprocess = Reprocess::kNone;
};

// What a backfill would run, without running it (dry run).
struct BackfillPlan {
  std::vector<std::string> processors;                       // upstream first
  std::map<std::string, std::vector<std::string>> partitions;  // processor -> dates it would run
  std::vector<std::string> skipped;                          // root dates reprocess excluded
};

// A backfill as `kilnctl backfill status` shows it.
struct BackfillProgress {
  BackfillRecord record;
  int64_t total = 0, succeeded = 0, failed = 0, running = 0, pending = 0, skipped = 0;
  std::optional<double> rate_per_min;  // finished pairs per minute since (re)start
  std::optional<double> eta_seconds;
};

class BackfillManager {
 public:
  BackfillManager(Ledger* ledger, int max_parallel);

  void Configure(const Config& config, int max_parallel);

  // Checks a request; creates the backfill (or, when `plan` is given, only
  // computes what it would run). Errors are one line, InvalidArgument.
  Status Start(const BackfillRequest& request, SysMillis now, BackfillRecord* created, BackfillPlan* plan);

  // At daemon start: picks up every backfill the ledger has as running.
  Status Resume(SysMillis now, std::vector<std::string>* log);

  // Runs to start now: up to each backfill's `parallel`, dates in order.
  void Pump(std::vector<RunIntent>* start);

  // A backfill run ended: counts it, cascades, finishes the backfill.
  void Finished(const RunIntent& intent, RunStatus status, SysMillis now, std::vector<std::string>* log);

  // Writes again the final state of backfills that finished while the
  // ledger refused it (disk full, locked). They stay live, and shown as
  // finished, until it lands. Returns how many are still waiting.
  int RetryUnrecorded(std::vector<std::string>* log);

  // Stops a running backfill: no new runs; *running gets the processors and
  // dates of its runs in flight (for the caller to cancel).
  Status Cancel(int64_t id, SysMillis now, std::vector<RunIntent>* running);

  Status Progress(int64_t id, SysMillis now, BackfillProgress* out);
  std::vector<int64_t> Active() const;

 private:
  using Pair = std::pair<std::string, std::string>;  // processor, date
  struct Live {
    BackfillRecord record;
    std::vector<std::string> dates;            // selected root dates, in order
    std::deque<Pair> pending;                  // ready to run, in order
    std::set<Pair> running, succeeded, failed;
    int64_t skipped = 0;
    SysMillis since;                           // for the rate
    int64_t finished_since = 0;
    bool unrecorded = false;                   // finished, final state not yet in the ledger
  };

  // Dates of [start, end] the reprocess rule keeps, and those it skips.
  Status SelectDates(const std::string& processor, const std::string& start, const std::string& end, Reprocess reprocess,
                     const std::set<std::string>& ours, std::vector<std::string>* keep,
                     std::vector<std::string>* skipped);
  // The processor and, with cascade, its transitive dependents, upstream first.
  std::vector<std::string> Closure(const std::string& processor, bool cascade) const;
  // Pairs of `live` whose upstreams (within the backfill) have all succeeded
  // for `date` and that have not run: queue them.
  void Release(Live& live, const std::string& date);
  // Decides and records a finished backfill's outcome; false while the
  // ledger refuses the write (the backfill is then marked unrecorded).
  bool Complete(Live& live, SysMillis now, std::vector<std::string>* log);
  int64_t Total(const Live& live) const;
  int64_t Blocked(const Live& live) const;

  Ledger* ledger_;
  int max_parallel_;
  Config config_;
  std::map<int64_t, Live> live_;
};

}  // namespace kiln

#endif  // KILN_HOST_BACKFILL_BACKFILL_MANAGER_H_

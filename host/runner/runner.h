// The runner: the one place runs are executed, for kilnd and for kilnctl.
//
// Start() hands the run to a worker thread and returns at once: the caller is
// kilnd's event loop, which must never wait for a disk. The worker records
// the run in the ledger, takes a warm instance of the processor, runs the
// lifecycle through Instance::Run, and records the outcome durably before
// reporting it. A watchdog thread enforces
// timeouts by raising the run's cancel flag; plugins see it through the
// host's `cancelled` service. (In-process, a plugin that never looks cannot
// be stopped: process isolation is the answer to that.)
#ifndef KILN_HOST_RUNNER_RUNNER_H_
#define KILN_HOST_RUNNER_RUNNER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "host/base/log.h"
#include "host/config/config.h"
#include "host/ledger/ledger.h"
#include "host/runner/instance_pool.h"
#include "host/scheduler/clock.h"
#include "host/scheduler/scheduler.h"

namespace kiln {

// A run in flight, as status displays see it.
struct ActiveRun {
  int64_t run_id = 0;
  RunIntent intent;
  SysMillis started;
  uint64_t done = 0, total = 0, records = 0;
  std::string phase;  // "" before the first phase
  std::optional<int64_t> backfill_id;
};

class Runner {
 public:
  // Called on the worker thread once the final record is on disk.
  using Done = std::function<void(const RunIntent&, const RunRecord&)>;

  // `worker_path`: the kiln-worker executable (default: beside this one).
  Runner(Ledger* ledger, const Clock* clock, int workers, std::string worker_path = "");
  ~Runner();  // waits for every run to end
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Installs the processors of a config; runs already started keep the pool
  // (and plugin) they started with.
  void Configure(const Config& config);

  // Queues `intent` for a worker. Fails only for an unknown processor; every
  // later failure (the ledger refusing the run included) reaches `done`.
  Status Start(const RunIntent& intent, Done done);

  // Runs still waiting for a worker will not start: they are reported as
  // cancelled with id 0 and never recorded. For shutdown, which drains only
  // the runs already running. Runs retrying a ledger write stop retrying.
  void DropQueued();

  // Raises the cancel flag of every in-flight run of `processor` (all
  // processors when empty), or of run `run_id`.
  void Cancel(const std::string& processor);
  bool CancelRun(int64_t run_id);

  // Blocks until no run is in flight or `deadline` passes; true if idle.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);

  // Runs started and not yet reported, queued for a worker or running.
  size_t InFlight() const;
  std::vector<ActiveRun> Active() const;
  // Why `processor` is paused (its worker kept crashing); empty if it is not.
  std::string Paused(const std::string& processor) const;
  // Log lines after `after_seq` of run `run_id` while it is in flight; false
  // once it is not (its lines are then in the ledger).
  bool RunLog(int64_t run_id, int64_t after_seq, std::vector<LogLineRecord>* out) const;

 private:
  struct Flight {
    int64_t run_id;
    RunIntent intent;
    SysMillis started;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::atomic<bool> cancel{false};
    std::atomic<bool> timed_out{false};
    RunProgress progress;
    std::mutex log_mu;  // the plugin's log lines so far, for `kilnctl logs`
    std::vector<LogLineRecord> log;
    int64_t log_dropped = 0;
    RunLogSink sink;
  };

  // Runs `write` (a ledger write for the run) and, while it fails with an
  // IOError (disk full, read-only, locked by another process, I/O error),
  // logs once and retries with backoff (100 ms doubling to 2 s) until it
  // succeeds or kilnd stops (DropQueued). Other errors return at once.
  Status Persist(const char* what, const LogFields& fields, const std::function<Status()>& write);
  // Runs one intent on the calling worker and returns its final record.
  RunRecord Execute(const std::shared_ptr<InstancePool>& pool, const RunIntent& intent);
  // The run's ledger record as it starts.
  RunRecord NewRecord(const ProcessorConfig& p, const RunIntent& intent) const;
  void Watchdog();

  Ledger* const ledger_;
  const Clock* const clock_;
  const std::string worker_path_;
  boost::asio::thread_pool workers_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // a flight ended, or a deadline was added
  std::map<std::string, std::shared_ptr<InstancePool>, std::less<>> pools_;
  std::map<int64_t, std::shared_ptr<Flight>> flights_;  // running, by run id
  size_t pending_ = 0;                                   // queued or running
  bool stopping_ = false;
  std::atomic<bool> drop_queued_{false};
  std::thread watchdog_;
};

}  // namespace kiln

#endif  // KILN_HOST_RUNNER_RUNNER_H_

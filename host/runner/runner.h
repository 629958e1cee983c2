// The runner: the one place runs are executed, for kilnd and for kilnctl.
//
// Start() records the run in the ledger, takes a warm instance of the
// processor, runs the lifecycle on a worker thread through Instance::Run, and
// records the outcome durably before reporting it. A watchdog thread enforces
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
};

class Runner {
 public:
  // Called on the worker thread once the final record is on disk.
  using Done = std::function<void(const RunIntent&, const RunRecord&)>;

  Runner(Ledger* ledger, const Clock* clock, int workers);
  ~Runner();  // waits for every run to end
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Installs the processors of a config; runs already started keep the pool
  // (and plugin) they started with.
  void Configure(const Config& config);

  // Starts `intent` on a worker. Fails only when the ledger refuses the run
  // or the processor is unknown; a run that fails later is reported to
  // `done` with status failed.
  Status Start(const RunIntent& intent, Done done, int64_t* run_id = nullptr);

  // Raises the cancel flag of every in-flight run of `processor` (all
  // processors when empty), or of run `run_id`.
  void Cancel(const std::string& processor);
  bool CancelRun(int64_t run_id);

  // Blocks until no run is in flight or `deadline` passes; true if idle.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);

  size_t InFlight() const;
  std::vector<ActiveRun> Active() const;

 private:
  struct Flight {
    int64_t run_id;
    RunIntent intent;
    SysMillis started;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::atomic<bool> cancel{false};
    std::atomic<bool> timed_out{false};
    RunProgress progress;
  };

  void Execute(std::shared_ptr<InstancePool> pool, std::shared_ptr<Flight> flight, RunRecord record, Done done);
  void Watchdog();

  Ledger* const ledger_;
  const Clock* const clock_;
  boost::asio::thread_pool workers_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // a flight ended, or a deadline was added
  std::map<std::string, std::shared_ptr<InstancePool>, std::less<>> pools_;
  std::map<int64_t, std::shared_ptr<Flight>> flights_;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace kiln

#endif  // KILN_HOST_RUNNER_RUNNER_H_

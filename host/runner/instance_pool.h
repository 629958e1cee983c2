// Warm instances of one configured processor.
//
// Opening an instance runs configure and init (clients, connections); a pool
// keeps idle ones for the next run. One instance serves one run at a time,
// so a processor with concurrency = "allow" grows a second instance only
// when two runs overlap. With isolation = "process" each instance is a
// kiln-worker process: a worker that crashed is replaced, after a backoff
// that doubles with each crash in a row (never a hot loop), and a processor
// whose worker keeps crashing is paused until the config is reloaded. A
// config reload makes a new pool; the old one goes with the last run that
// holds it, taking its instances (and possibly the plugin image) along.
#ifndef KILN_HOST_RUNNER_INSTANCE_POOL_H_
#define KILN_HOST_RUNNER_INSTANCE_POOL_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/run/instance.h"
#include "host/run/run_target.h"
#include "host/worker/worker_instance.h"

namespace kiln {

class InstancePool {
 public:
  static constexpr int kPauseAfterCrashes = 5;

  InstancePool(ProcessorConfig config, WorkerLimits limits) : config_(std::move(config)), limits_(std::move(limits)) {}

  const ProcessorConfig& config() const { return config_; }

  // An idle instance, or a new one (its configure and init timings go to
  // `opened`). Fails fast while the processor is paused; while its worker is
  // in crash backoff, waits for the backoff to pass (at most 0.8 s).
  Status Acquire(std::unique_ptr<RunTarget>* out, std::vector<PhaseResult>* opened);
  // Returns an instance after a run. One whose run did not succeed is torn
  // down instead: a failed phase may have left it half-way through a run.
  void Release(std::unique_ptr<RunTarget> target, bool run_ok);

  // Why the processor is paused; empty when it is not.
  std::string paused() const;

 private:
  void CountCrash();

  const ProcessorConfig config_;
  const WorkerLimits limits_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<RunTarget>> idle_;
  int crashes_in_a_row_ = 0;
  std::chrono::steady_clock::time_point next_spawn_{};
  std::string paused_;
};

}  // namespace kiln

#endif  // KILN_HOST_RUNNER_INSTANCE_POOL_H_

// A processor instance inside a kiln-worker process (isolation = "process").
//
// kilnd spawns the worker with posix_spawn (never fork: kilnd is threaded),
// in its own process group, with close-on-exec for everything but the
// channel, a scrubbed environment and stdout/stderr on a pipe kilnd reads
// into the run's log. A run is a `run` frame and, eventually, a `result`
// frame; whatever the plugin does in between (crash, hang, exit, allocate
// forever, flood its output) ends as a failed run with its cause, and kilnd
// carries on.
#ifndef KILN_HOST_WORKER_WORKER_INSTANCE_H_
#define KILN_HOST_WORKER_WORKER_INSTANCE_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/run/instance.h"
#include "host/run/run_target.h"
#include "host/worker/frame.h"

namespace kiln {

struct WorkerLimits {
  std::string worker_path;                       // the kiln-worker executable
  std::chrono::milliseconds heartbeat_timeout{10000};
  std::chrono::milliseconds kill_grace{3000};    // cancel -> SIGTERM -> SIGKILL
  size_t output_cap = 1 << 20;                   // stdout/stderr bytes kept per run
};

// Where kiln-worker is: beside the running executable.
std::string DefaultWorkerPath();

class WorkerInstance final : public RunTarget {
 public:
  // Spawns a worker and opens the processor in it (configure, init).
  static Status Spawn(const ProcessorConfig& config, const WorkerLimits& limits,
                      std::unique_ptr<WorkerInstance>* out, std::vector<PhaseResult>* opened);
  ~WorkerInstance() override;  // shutdown, then SIGKILL if it lingers

  void Run(const RunRequest& request, RunResult* result) override;
  bool reusable() const override { return alive_ && runs_ < max_runs_ && !over_memory_; }

  // True when the last run ended with the worker dying (not a plugin error).
  bool crashed() const override { return crashed_; }
  pid_t pid() const { return pid_; }

 private:
  WorkerInstance(const ProcessorConfig& config, const WorkerLimits& limits);
  Status Start();
  // Reads frames until `until` says stop, or the worker dies or stalls.
  // Returns the frame that satisfied `until`, or an error describing the end.
  void DrainOutput(const RunRequest* request);
  std::string DescribeExit();
  void Kill(int sig);
  void Reap();

  const ProcessorConfig config_;
  const WorkerLimits limits_;
  pid_t pid_ = -1;
  int channel_ = -1;      // our end of the socketpair
  int output_ = -1;       // the read end of the worker's stdout/stderr pipe
  RunProgress* state_ = nullptr;  // phase and progress, in a page shared with the worker
  FrameReader reader_;
  std::string partial_output_;  // an unterminated output line
  bool alive_ = false;
  bool crashed_ = false;
  bool over_memory_ = false;
  int runs_ = 0;
  int max_runs_ = 1000;
  int exit_status_ = -1;  // from waitpid, once reaped
};

}  // namespace kiln

#endif  // KILN_HOST_WORKER_WORKER_INSTANCE_H_

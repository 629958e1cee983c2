// What the runner runs a processor on: an Instance in kilnd's own process,
// or a WorkerInstance, the same Instance inside a kiln-worker process.
#ifndef KILN_HOST_RUN_RUN_TARGET_H_
#define KILN_HOST_RUN_RUN_TARGET_H_

namespace kiln {

struct RunRequest;
struct RunResult;

class RunTarget {
 public:
  virtual ~RunTarget() = default;
  // One run: extract .. post_process. Never two at once on one target.
  virtual void Run(const RunRequest& request, RunResult* result) = 0;
  // False once the target must not serve another run (its worker crashed,
  // hit a limit, or served its quota of runs).
  virtual bool reusable() const { return true; }
  // True when the last run ended because the target itself died (a worker
  // crashed), not because the plugin reported an error.
  virtual bool crashed() const { return false; }
};

}  // namespace kiln

#endif  // KILN_HOST_RUN_RUN_TARGET_H_

// Warm instances of one configured processor.
//
// Opening an instance runs configure and init (clients, connections); a pool
// keeps idle ones for the next run. One instance serves one run at a time,
// so a processor with concurrency = "allow" grows a second instance only
// when two runs overlap. A config reload makes a new pool; the old one is
// dropped with the last run that holds it, taking its instances (and, with
// them, possibly the last reference to the plugin image) along.
#ifndef KILN_HOST_RUNNER_INSTANCE_POOL_H_
#define KILN_HOST_RUNNER_INSTANCE_POOL_H_

#include <memory>
#include <mutex>
#include <vector>

#include "host/config/config.h"
#include "host/run/instance.h"

namespace kiln {

class InstancePool {
 public:
  explicit InstancePool(ProcessorConfig config) : config_(std::move(config)) {}

  const ProcessorConfig& config() const { return config_; }

  // An idle instance, or a new one (its configure and init timings go to
  // `opened`).
  Status Acquire(std::unique_ptr<Instance>* out, std::vector<PhaseResult>* opened);
  // Returns an instance after a run. One whose run did not succeed is torn
  // down instead: a failed phase may have left it half-way through a run.
  void Release(std::unique_ptr<Instance> instance, bool healthy);

 private:
  const ProcessorConfig config_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Instance>> idle_;
};

}  // namespace kiln

#endif  // KILN_HOST_RUNNER_INSTANCE_POOL_H_

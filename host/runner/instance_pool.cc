#include "host/runner/instance_pool.h"

namespace kiln {

Status InstancePool::Acquire(std::unique_ptr<Instance>* out, std::vector<PhaseResult>* opened) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      *out = std::move(idle_.back());
      idle_.pop_back();
      return Status::OK();
    }
  }
  // Outside the lock: init may take long (it opens clients).
  return Instance::Open(config_.loaded, config_.name, config_.options, out, opened);
}

void InstancePool::Release(std::unique_ptr<Instance> instance, bool healthy) {
  if (!healthy) return;  // ~Instance runs teardown
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(instance));
}

}  // namespace kiln

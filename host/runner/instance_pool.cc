#include "host/runner/instance_pool.h"

#include <thread>

#include <fmt/format.h>

#include "host/base/log.h"

namespace kiln {
namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(30);

}  // namespace

Status InstancePool::Acquire(std::unique_ptr<RunTarget>* out, std::vector<PhaseResult>* opened) {
  for (;;) {
    std::chrono::steady_clock::duration wait{};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        *out = std::move(idle_.back());
        idle_.pop_back();
        return Status::OK();
      }
      if (!paused_.empty()) return Status::Failed(paused_);
      wait = next_spawn_ - std::chrono::steady_clock::now();
    }
    // After a crash the next worker starts later; a run that needs one waits
    // for it rather than failing (a backfill would lose the partition). The
    // wait is bounded: the backoff doubles from 100 ms and the pool pauses
    // after kPauseAfterCrashes crashes, so at most 0.8 s.
    if (wait <= std::chrono::steady_clock::duration::zero()) break;
    std::this_thread::sleep_for(wait);
  }
  // Outside the lock: init may take long (it opens clients).
  if (config_.isolation == Isolation::kInProcess) {
    std::unique_ptr<Instance> instance;
    Status s = Instance::Open(config_.loaded, config_.name, config_.options, &instance, opened);
    if (s.ok()) *out = std::move(instance);
    return s;
  }
  std::unique_ptr<WorkerInstance> worker;
  Status s = WorkerInstance::Spawn(config_, limits_, &worker, opened);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    CountCrash();
    return s;
  }
  *out = std::move(worker);
  return Status::OK();
}

void InstancePool::Release(std::unique_ptr<RunTarget> target, bool run_ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (target->crashed()) CountCrash();
  else if (run_ok) crashes_in_a_row_ = 0;
  if (!run_ok || !target->reusable()) return;  // the target's destructor tears it down
  idle_.push_back(std::move(target));
}

void InstancePool::CountCrash() {
  ++crashes_in_a_row_;
  const auto backoff = std::min<std::chrono::milliseconds>(kFirstBackoff * (1 << std::min(crashes_in_a_row_ - 1, 16)),
                                                           kMaxBackoff);
  next_spawn_ = std::chrono::steady_clock::now() + backoff;
  if (crashes_in_a_row_ >= kPauseAfterCrashes && paused_.empty()) {
    paused_ = fmt::format(
        "processor '{}' is paused: its worker crashed {} times in a row; fix the plugin, then reload the config",
        config_.name, crashes_in_a_row_);
    LogLine(spdlog::level::err, LogFields{"", config_.name, "", ""}, paused_);
  }
}

std::string InstancePool::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

}  // namespace kiln

// One configured, initialised processor instance, and the run path.
//
// kilnd and `kilnctl run` both run plugins through Instance::Run: the same
// phases, the same checks, the same error text. An Instance holds its Plugin,
// so the image stays loaded while the instance lives.
#ifndef KILN_HOST_RUN_INSTANCE_H_
#define KILN_HOST_RUN_INSTANCE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/base/date.h"
#include "host/base/status.h"
#include "host/loader/plugin.h"
#include "host/run/option_values.h"
#include "host/run/run_context.h"
#include "host/run/run_target.h"

namespace kiln {

struct PhaseResult {
  std::string name;      // "configure", "extract", ...
  double millis = 0;     // wall time spent in the plugin
  uint64_t records = 0;  // records the plugin reported during the phase
  bool ok = false;
};

struct RunRequest {
  std::string run_id;
  std::optional<Day> partition;  // required exactly when the plugin is partitioned
  int32_t trigger = KILN_TRIGGER_MANUAL;
  bool dry_run = false;
  const std::atomic<bool>* cancel = nullptr;  // may be null
  RunProgress* progress = nullptr;            // may be null
  const RunLogSink* log_sink = nullptr;       // may be null
};

struct RunResult {
  Status status;                    // OK, or the first failure, naming the phase
  std::vector<PhaseResult> phases;  // phases that ran, in order
  uint64_t records = 0;
};

class Instance final : public RunTarget {
 public:
  // configure, then init. Timings of both go to `phases` when given. If init
  // fails, teardown runs before Open returns.
  static Status Open(std::shared_ptr<const Plugin> plugin, const std::string& processor,
                     const BoundOptions& options, std::unique_ptr<Instance>* out,
                     std::vector<PhaseResult>* phases = nullptr);
  ~Instance() override;  // teardown

  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // extract, validate, transform, save, post_process. Never two at once on
  // one instance: the caller serialises.
  void Run(const RunRequest& request, RunResult* result) override;

  const Plugin& plugin() const { return *plugin_; }
  const std::string& processor() const { return processor_; }

 private:
  Instance(std::shared_ptr<const Plugin> plugin, std::string processor, BoundOptions options);

  std::shared_ptr<const Plugin> plugin_;
  std::string processor_;
  BoundOptions options_;  // configure's arguments stay valid for the instance's life
  std::unique_ptr<RunContext> context_;  // services outside a run
  void* handle_ = nullptr;               // the plugin's instance pointer
};

}  // namespace kiln

#endif  // KILN_HOST_RUN_INSTANCE_H_

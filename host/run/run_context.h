// The host services behind kiln_host_t for one instance or one run.
//
// A RunContext is what the plugin's opaque `ctx` points to. Progress and
// record counters are atomics so the daemon's control server can read a run's
// progress while the plugin is writing it.
#ifndef KILN_HOST_RUN_RUN_CONTEXT_H_
#define KILN_HOST_RUN_RUN_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "host/base/log.h"
#include "kiln/plugin.h"

namespace kiln {

// Live counters of a run, readable from any thread.
struct RunProgress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> records{0};
  std::atomic<int> phase{-1};  // index into kRequiredMethods, -1 before the first
};

// Receives each line a plugin logs during a run, besides the host's log
// (kilnd keeps them with the run, for `kilnctl logs` and `show`).
using RunLogSink = std::function<void(spdlog::level::level_enum level, std::string_view message)>;

class RunContext {
 public:
  // `cancel`, `progress` and `sink` may be null; all must outlive the context.
  RunContext(LogFields fields, const std::atomic<bool>* cancel, RunProgress* progress,
             const RunLogSink* sink = nullptr);
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  const kiln_host_t* host() const { return &host_; }
  const LogFields& fields() const { return fields_; }
  RunProgress& progress() { return *progress_; }

 private:
  static void Log(void* ctx, int32_t level, const char* message);
  static void Progress(void* ctx, uint64_t done, uint64_t total);
  static void AddRecords(void* ctx, uint64_t count);
  static int32_t Cancelled(void* ctx);

  LogFields fields_;
  const std::atomic<bool>* cancel_;
  const RunLogSink* sink_;
  RunProgress own_progress_;  // used when the caller supplies none
  RunProgress* progress_;
  kiln_host_t host_;
};

}  // namespace kiln

#endif  // KILN_HOST_RUN_RUN_CONTEXT_H_

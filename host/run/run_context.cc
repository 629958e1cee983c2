#include "host/run/run_context.h"

#include <cstring>

namespace kiln {

RunContext::RunContext(LogFields fields, const std::atomic<bool>* cancel, RunProgress* progress,
                       const RunLogSink* sink)
    : fields_(std::move(fields)),
      cancel_(cancel),
      sink_(sink),
      progress_(progress ? progress : &own_progress_) {
  std::memset(&host_, 0, sizeof host_);
  host_.struct_size = sizeof host_;
  host_.ctx = this;
  host_.log = &RunContext::Log;
  host_.progress = &RunContext::Progress;
  host_.add_records = &RunContext::AddRecords;
  host_.cancelled = &RunContext::Cancelled;
}

// The callbacks are entered from plugin code, possibly C: nothing may throw
// out of them.
void RunContext::Log(void* ctx, int32_t level, const char* message) {
  auto* self = static_cast<RunContext*>(ctx);
  spdlog::level::level_enum l = spdlog::level::info;
  switch (level) {
    case KILN_LOG_DEBUG: l = spdlog::level::debug; break;
    case KILN_LOG_WARN: l = spdlog::level::warn; break;
    case KILN_LOG_ERROR: l = spdlog::level::err; break;
    default: break;
  }
  try {
    const std::string_view text = message ? std::string_view(message, strnlen(message, 64 << 10)) : "";
    LogLine(l, self->fields_, text);
    if (self->sink_ && *self->sink_) (*self->sink_)(l, text);
  } catch (...) {
  }
}

void RunContext::Progress(void* ctx, uint64_t done, uint64_t total) {
  auto* self = static_cast<RunContext*>(ctx);
  self->progress_->done.store(done, std::memory_order_relaxed);
  self->progress_->total.store(total, std::memory_order_relaxed);
}

void RunContext::AddRecords(void* ctx, uint64_t count) {
  static_cast<RunContext*>(ctx)->progress_->records.fetch_add(count, std::memory_order_relaxed);
}

int32_t RunContext::Cancelled(void* ctx) {
  auto* self = static_cast<RunContext*>(ctx);
  return self->cancel_ != nullptr && self->cancel_->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace kiln

#include "host/run/instance.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Turns what a lifecycle function returned into a Status naming the plugin
// and the phase. The message buffer is host-owned; force its terminator in
// case the plugin filled it without one.
Status PhaseStatus(const std::string& processor, const char* phase, kiln_status_t rc, kiln_message_t* msg) {
  msg->text[KILN_MESSAGE_MAX - 1] = '\0';
  if (rc == KILN_OK) return Status::OK();
  if (rc != KILN_ERROR) {
    return Status::Failed(fmt::format("processor '{}': {} returned unknown status {}", processor, phase, rc));
  }
  const char* why = msg->text[0] ? msg->text : "no message";
  return Status::Failed(fmt::format("processor '{}': {} failed: {}", processor, phase, why));
}

}  // namespace

Instance::Instance(std::shared_ptr<const Plugin> plugin, std::string processor, BoundOptions options)
    : plugin_(std::move(plugin)), processor_(std::move(processor)), options_(std::move(options)) {
  LogFields fields;
  fields.plugin = plugin_->name();
  fields.processor = processor_;
  context_ = std::make_unique<RunContext>(std::move(fields), nullptr, nullptr);
}

Status Instance::Open(std::shared_ptr<const Plugin> plugin, const std::string& processor,
                      const BoundOptions& options, std::unique_ptr<Instance>* out,
                      std::vector<PhaseResult>* phases) {
  std::unique_ptr<Instance> inst(new Instance(std::move(plugin), processor, options));
  const kiln_plugin_descriptor_t& d = inst->plugin_->descriptor();

  kiln_message_t msg;
  std::memset(&msg, 0, sizeof msg);
  auto start = Clock::now();
  void* handle = nullptr;
  kiln_status_t rc = d.configure(inst->context_->host(), inst->options_.data(), inst->options_.size(),
                                 &handle, &msg);
  Status s = PhaseStatus(processor, "configure", rc, &msg);
  if (phases) phases->push_back({"configure", MillisSince(start), 0, s.ok()});
  if (!s.ok()) return s;  // configure owns cleanup of what it created
  if (handle == nullptr) {
    if (phases) phases->back().ok = false;
    return Status::Failed(fmt::format("processor '{}': configure succeeded but returned no instance", processor));
  }
  inst->handle_ = handle;

  std::memset(&msg, 0, sizeof msg);
  start = Clock::now();
  rc = d.init(handle, inst->context_->host(), &msg);
  s = PhaseStatus(processor, "init", rc, &msg);
  if (phases) phases->push_back({"init", MillisSince(start), 0, s.ok()});
  if (!s.ok()) return s;  // ~Instance runs teardown
  *out = std::move(inst);
  return Status::OK();
}

Instance::~Instance() {
  if (handle_ != nullptr) plugin_->descriptor().teardown(handle_, context_->host());
}

void Instance::Run(const RunRequest& request, RunResult* result) {
  *result = RunResult();
  const PluginInfo& info = plugin_->info();
  if (info.partitioned() && !request.partition) {
    result->status = Status::InvalidArgument(fmt::format(
        "processor '{}': plugin '{}' is partitioned by date: a partition date is required", processor_,
        info.name));
    return;
  }
  if (!info.partitioned() && request.partition) {
    result->status = Status::InvalidArgument(fmt::format(
        "processor '{}': plugin '{}' is not partitioned by date: it takes no partition date", processor_,
        info.name));
    return;
  }

  LogFields fields = context_->fields();
  fields.run_id = request.run_id;
  const std::string partition = request.partition ? FormatDay(*request.partition) : std::string();
  fields.partition = partition;
  RunContext ctx(std::move(fields), request.cancel, request.progress, request.log_sink);

  kiln_run_t run;
  std::memset(&run, 0, sizeof run);
  run.struct_size = sizeof run;
  run.trigger = request.trigger;
  run.run_id = request.run_id.c_str();
  run.processor = processor_.c_str();
  run.partition = request.partition ? partition.c_str() : nullptr;
  run.dry_run = request.dry_run ? 1 : 0;
  run.host = ctx.host();

  const kiln_plugin_descriptor_t& d = plugin_->descriptor();
  const std::pair<const char*, kiln_phase_fn> phases[] = {
      {"extract", d.extract}, {"validate", d.validate}, {"transform", d.transform},
      {"save", d.save},       {"post_process", d.post_process}};
  RunProgress& progress = ctx.progress();
  for (size_t i = 0; i < std::size(phases); ++i) {
    if (request.cancel && request.cancel->load(std::memory_order_relaxed)) {
      result->status = Status::Cancelled(
          fmt::format("processor '{}': cancelled before {}", processor_, phases[i].first));
      return;
    }
    progress.phase.store(static_cast<int>(i) + 2, std::memory_order_relaxed);  // after configure, init
    kiln_message_t msg;
    std::memset(&msg, 0, sizeof msg);
    const uint64_t records_before = progress.records.load(std::memory_order_relaxed);
    const auto start = Clock::now();
    kiln_status_t rc = phases[i].second(handle_, &run, &msg);
    PhaseResult pr{phases[i].first, MillisSince(start),
                   progress.records.load(std::memory_order_relaxed) - records_before, rc == KILN_OK};
    result->phases.push_back(pr);
    result->records += pr.records;
    Status s = PhaseStatus(processor_, phases[i].first, rc, &msg);
    if (!s.ok()) {
      // A plugin that stops because it was asked to is cancelled, not failed.
      if (request.cancel && request.cancel->load(std::memory_order_relaxed)) {
        s = Status::Cancelled(fmt::format("processor '{}': cancelled during {}", processor_, phases[i].first));
      }
      result->status = s;
      return;
    }
  }
}

}  // namespace kiln

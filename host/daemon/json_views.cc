#include "host/daemon/json_views.h"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace kiln {

std::string IsoUtc(int64_t unix_ms) {
  const auto ms = std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(unix_ms));
  const auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", secs, (ms - secs).count());
}

nlohmann::json OptionalTime(const std::optional<int64_t>& unix_ms) {
  return unix_ms ? nlohmann::json(IsoUtc(*unix_ms)) : nlohmann::json(nullptr);
}

nlohmann::json RunJson(const RunRecord& r) {
  nlohmann::json phases = nlohmann::json::object();
  for (size_t i = 0; i < kPhaseCount; ++i) {
    if (r.phase_ms[i]) phases[PhaseName(static_cast<Phase>(i))] = *r.phase_ms[i];
  }
  return {{"id", r.id},
          {"processor", r.processor},
          {"plugin", r.plugin_name},
          {"plugin_version", r.plugin_version},
          {"plugin_hash", r.plugin_hash},
          {"partition", r.partition ? nlohmann::json(*r.partition) : nlohmann::json(nullptr)},
          {"trigger", TriggerName(r.trigger)},
          {"scheduled_at", OptionalTime(r.scheduled_ms)},
          {"started_at", IsoUtc(r.start_ms)},
          {"ended_at", OptionalTime(r.end_ms)},
          {"status", RunStatusName(r.status)},
          {"attempt", r.attempt},
          {"records", r.records},
          {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
          {"backfill_id", r.backfill_id ? nlohmann::json(*r.backfill_id) : nlohmann::json(nullptr)},
          {"phases", phases}};
}

nlohmann::json ActiveRunJson(const ActiveRun& a) {
  return {{"id", a.run_id},
          {"processor", a.intent.processor},
          {"partition", a.intent.partition ? nlohmann::json(FormatDay(*a.intent.partition)) : nlohmann::json(nullptr)},
          {"trigger", TriggerName(a.intent.trigger)},
          {"phase", a.phase},
          {"done", a.done},
          {"total", a.total},
          {"records", a.records},
          {"started_at", IsoUtc(ToUnixMillis(a.started))},
          {"backfill_id", a.backfill_id ? nlohmann::json(*a.backfill_id) : nlohmann::json(nullptr)}};
}

nlohmann::json BackfillJson(const BackfillProgress& p) {
  const BackfillRecord& r = p.record;
  return {{"id", r.id},
          {"processor", r.processor},
          {"start_date", r.start_date},
          {"end_date", r.end_date},
          {"parallel", r.parallel},
          {"cascade", r.cascade},
          {"reprocess", ReprocessName(r.reprocess)},
          {"processors", r.processors},
          {"state", BackfillStateName(r.state)},
          {"created_at", IsoUtc(r.created_ms)},
          {"finished_at", OptionalTime(r.finished_ms)},
          {"total", p.total},
          {"succeeded", p.succeeded},
          {"failed", p.failed},
          {"running", p.running},
          {"pending", p.pending},
          {"skipped", p.skipped},
          {"rate_per_min", p.rate_per_min ? nlohmann::json(*p.rate_per_min) : nlohmann::json(nullptr)},
          {"eta_seconds", p.eta_seconds ? nlohmann::json(*p.eta_seconds) : nlohmann::json(nullptr)}};
}

nlohmann::json LogLineJson(const LogLineRecord& l) {
  return {{"seq", l.seq}, {"time", IsoUtc(l.ts_ms)}, {"level", l.level}, {"message", l.message}};
}

}  // namespace kiln

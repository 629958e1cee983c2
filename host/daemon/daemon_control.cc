// kilnd's answers to control requests (docs/control.md). Every handler runs
// on the event loop's thread, like the scheduler it reads, so none locks.
#include <unistd.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "host/base/suggest.h"
#include "host/calendar/zone.h"
#include "host/daemon/daemon.h"
#include "host/daemon/json_views.h"

namespace kiln {
namespace {

constexpr const char* kVersion = "1.0.0";

// Typed access to request parameters; each error names the parameter.
class Params {
 public:
  explicit Params(const nlohmann::json& j) : j_(j) {}

  Status String(const char* name, bool required, std::optional<std::string>* out) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) {
      if (required) return Status::InvalidArgument(fmt::format("missing parameter '{}'", name));
      return Status::OK();
    }
    if (!it->is_string()) return Status::InvalidArgument(fmt::format("parameter '{}': expected a string", name));
    *out = it->get<std::string>();
    return Status::OK();
  }
  Status Int(const char* name, bool required, int64_t lo, int64_t hi, std::optional<int64_t>* out) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) {
      if (required) return Status::InvalidArgument(fmt::format("missing parameter '{}'", name));
      return Status::OK();
    }
    if (!it->is_number_integer()) {
      return Status::InvalidArgument(fmt::format("parameter '{}': expected an integer", name));
    }
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) {
      return Status::InvalidArgument(fmt::format("parameter '{}': expected {} to {}, found {}", name, lo, hi, v));
    }
    *out = v;
    return Status::OK();
  }
  Status Bool(const char* name, bool* out) const {
    auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return Status::OK();
    if (!it->is_boolean()) return Status::InvalidArgument(fmt::format("parameter '{}': expected true or false", name));
    *out = it->get<bool>();
    return Status::OK();
  }

 private:
  const nlohmann::json& j_;
};

ControlReply Fail(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return ControlReply::Error("invalid_argument", s.message());
    case Status::Code::kNotFound: return ControlReply::Error("not_found", s.message());
    default: return ControlReply::Error("failed", s.message());
  }
}

#define KILN_TRY(expr)                    \
  do {                                    \
    ::kiln::Status _s = (expr);           \
    if (!_s.ok()) return Fail(_s);        \
  } while (0)

std::string ScheduleText(const ProcessorConfig& p) {
  if (p.schedule) return p.schedule->text();
  if (p.every) return fmt::format("every {} ms", p.every->count());
  return "";
}

}  // namespace

ControlReply Daemon::HandleControl(const ControlRequest& request) {
  using Handler = ControlReply (Daemon::*)(const nlohmann::json&);
  static const std::map<std::string, Handler, std::less<>> kMethods = {
      {"status", &Daemon::StatusRequest},
      {"plugins", &Daemon::Plugins},
      {"runs", &Daemon::Runs},
      {"show", &Daemon::Show},
      {"trigger", &Daemon::Trigger},
      {"cancel", &Daemon::Cancel},
      {"reload", &Daemon::ReloadRequest},
      {"logs", &Daemon::Logs},
      {"backfill.start", &Daemon::BackfillStart},
      {"backfill.status", &Daemon::BackfillStatus},
      {"backfill.list", &Daemon::BackfillList},
      {"backfill.cancel", &Daemon::BackfillCancel},
  };
  auto it = kMethods.find(request.method);
  if (it == kMethods.end()) {
    std::vector<std::string> names;
    for (const auto& [name, h] : kMethods) names.push_back(name);
    std::string msg = fmt::format("unknown method '{}'", request.method);
    if (auto s = Suggest(request.method, names)) msg += fmt::format(" (did you mean '{}'?)", *s);
    return ControlReply::Error("unknown_method", msg);
  }
  if (stopping_ && request.method != "status") {
    return ControlReply::Error("failed", "kilnd is stopping");
  }
  return (this->*(it->second))(request.params);
}

ControlReply Daemon::StatusRequest(const nlohmann::json&) {
  const SysMillis now = clock_.Now();
  nlohmann::json plugins = nlohmann::json::array();
  std::set<std::string> seen;
  nlohmann::json processors = nlohmann::json::array();
  for (const ProcessorConfig& p : config_.processors) {
    if (seen.insert(p.loaded->name()).second) {
      plugins.push_back({{"name", p.loaded->name()},
                         {"version", p.loaded->info().version},
                         {"path", p.plugin_path},
                         {"hash", p.loaded->file_hash()}});
    }
    RunFilter f;
    f.processor = p.name;
    f.limit = 1;
    std::vector<RunRecord> last;
    ledger_->ListRuns(f, &last);
    auto next = scheduler_->NextFire(p.name);
    processors.push_back({{"name", p.name},
                          {"plugin", p.plugin},
                          {"schedule", p.schedule || p.every ? nlohmann::json(ScheduleText(p)) : nlohmann::json(nullptr)},
                          {"timezone", p.timezone},
                          {"enabled", p.enabled},
                          {"isolation", p.isolation == Isolation::kProcess ? "process" : "inprocess"},
                          {"paused", runner_->Paused(p.name).empty() ? nlohmann::json(nullptr)
                                                                     : nlohmann::json(runner_->Paused(p.name))},
                          {"partitioned", p.partitioned},
                          {"next_fire", next ? nlohmann::json(IsoUtc(ToUnixMillis(*next))) : nlohmann::json(nullptr)},
                          {"last_run", last.empty() ? nlohmann::json(nullptr) : RunJson(last[0])}});
  }
  nlohmann::json running = nlohmann::json::array();
  for (const ActiveRun& a : runner_->Active()) running.push_back(ActiveRunJson(a));
  nlohmann::json backfills = nlohmann::json::array();
  for (int64_t id : backfills_->Active()) {
    BackfillProgress p;
    if (backfills_->Progress(id, now, &p).ok()) backfills.push_back(BackfillJson(p));
  }
  return ControlReply::Ok({{"version", kVersion},
                           {"pid", getpid()},
                           {"uptime_seconds", std::chrono::duration<double>(now - started_at_).count()},
                           {"started_at", IsoUtc(ToUnixMillis(started_at_))},
                           {"config", config_path_},
                           {"plugins", plugins},
                           {"processors", processors},
                           {"running", running},
                           {"backfills", backfills}});
}

ControlReply Daemon::Plugins(const nlohmann::json& params) {
  bool with_history = false;
  KILN_TRY(Params(params).Bool("history", &with_history));
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> seen;
  for (const ProcessorConfig& p : config_.processors) {
    if (!seen.insert(p.loaded->name()).second) continue;
    const PluginInfo& info = p.loaded->info();
    nlohmann::json options = nlohmann::json::array();
    for (const OptionSpec& o : info.options) {
      options.push_back({{"name", o.name},
                         {"type", OptionTypeName(o.type)},
                         {"required", o.required},
                         {"default", o.required ? nlohmann::json(nullptr) : nlohmann::json(o.default_text)},
                         {"doc", o.doc}});
    }
    nlohmann::json caps = nlohmann::json::array();
    if (info.partitioned()) caps.push_back("partitioned_by_date");
    out.push_back({{"name", info.name},
                   {"version", info.version},
                   {"path", p.plugin_path},
                   {"hash", p.loaded->file_hash()},
                   {"sdk", fmt::format("{}.{}", info.abi_major, info.abi_minor)},
                   {"capabilities", caps},
                   {"options", options}});
  }
  nlohmann::json result = {{"plugins", out}};
  if (with_history) {
    nlohmann::json history = nlohmann::json::array();
    for (const PluginVersion& v : history_) {
      history.push_back({{"name", v.name},
                         {"version", v.version},
                         {"hash", v.hash},
                         {"loaded_at", IsoUtc(v.loaded_ms)},
                         {"state", VersionState(v)},
                         {"note", v.note.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.note)}});
    }
    result["history"] = history;
  }
  return ControlReply::Ok(result);
}

ControlReply Daemon::Runs(const nlohmann::json& params) {
  Params p(params);
  std::optional<std::string> processor, status, since, partition;
  std::optional<int64_t> limit;
  KILN_TRY(p.String("processor", false, &processor));
  KILN_TRY(p.String("status", false, &status));
  KILN_TRY(p.String("since", false, &since));
  KILN_TRY(p.String("partition", false, &partition));
  KILN_TRY(p.Int("limit", false, 1, 100000, &limit));
  RunFilter f;
  f.processor = processor;
  f.partition = partition;
  f.limit = static_cast<size_t>(limit.value_or(50));
  if (status) {
    RunStatus st;
    if (!ParseRunStatus(*status, &st)) {
      return ControlReply::Error("invalid_argument",
                                 fmt::format("parameter 'status': unknown status '{}' (expected queued, running, "
                                             "succeeded, failed, timed_out, cancelled or abandoned)",
                                             *status));
    }
    f.status = st;
  }
  if (partition) {
    Day d;
    Status s = ParseDay(*partition, &d);
    if (!s.ok()) return ControlReply::Error("invalid_argument", "parameter 'partition': " + s.message());
  }
  if (since) {
    SysSeconds t;
    Status s = ParseTime(*since, nullptr, &t);
    if (!s.ok()) return ControlReply::Error("invalid_argument", "parameter 'since': " + s.message());
    f.since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  std::vector<RunRecord> runs;
  KILN_TRY(ledger_->ListRuns(f, &runs));
  nlohmann::json out = nlohmann::json::array();
  for (const RunRecord& r : runs) out.push_back(RunJson(r));
  return ControlReply::Ok({{"runs", out}});
}

ControlReply Daemon::Show(const nlohmann::json& params) {
  std::optional<int64_t> id;
  KILN_TRY(Params(params).Int("run", true, 1, INT64_MAX, &id));
  RunRecord r;
  Status s = ledger_->GetRun(*id, &r);
  if (s.code() == Status::Code::kNotFound) return ControlReply::Error("not_found", fmt::format("run {} not found", *id));
  KILN_TRY(s);
  std::vector<LogLineRecord> lines;
  if (!runner_->RunLog(*id, 0, &lines)) KILN_TRY(ledger_->GetRunLog(*id, 0, &lines));
  nlohmann::json log = nlohmann::json::array();
  for (const LogLineRecord& l : lines) log.push_back(LogLineJson(l));
  return ControlReply::Ok({{"run", RunJson(r)}, {"log", log}});
}

ControlReply Daemon::Trigger(const nlohmann::json& params) {
  Params p(params);
  std::optional<std::string> processor, date;
  KILN_TRY(p.String("processor", true, &processor));
  KILN_TRY(p.String("date", false, &date));
  RunIntent intent;
  intent.processor = *processor;
  intent.trigger = Trigger::kManual;
  if (date) {
    Day d;
    Status s = ParseDay(*date, &d);
    if (!s.ok()) return ControlReply::Error("invalid_argument", "parameter 'date': " + s.message());
    intent.partition = d;
  }
  const size_t waiting_before = scheduler_->Waiting();
  Actions actions;
  KILN_TRY(scheduler_->Submit(intent, &actions));
  std::string state = "queued";
  for (const RunIntent& i : actions.start) {
    if (i.processor == intent.processor && i.trigger == Trigger::kManual) state = "started";
  }
  if (state == "queued" && scheduler_->Waiting() > waiting_before) state = "waiting";
  Apply(std::move(actions));
  ArmTimer();
  return ControlReply::Ok({{"processor", intent.processor},
                           {"partition", date ? nlohmann::json(*date) : nlohmann::json(nullptr)},
                           {"state", state}});
}

ControlReply Daemon::Cancel(const nlohmann::json& params) {
  std::optional<int64_t> id;
  KILN_TRY(Params(params).Int("run", true, 1, INT64_MAX, &id));
  if (!runner_->CancelRun(*id)) {
    return ControlReply::Error("not_found", fmt::format("run {} is not in flight", *id));
  }
  return ControlReply::Ok({{"run", *id}, {"cancelled", true}});
}

ControlReply Daemon::ReloadRequest(const nlohmann::json& params) {
  std::optional<std::string> plugin;
  KILN_TRY(Params(params).String("plugin", false, &plugin));
  if (plugin) {
    std::string outcome;
    Status s = SwapPlugin(*plugin, &outcome);
    if (!s.ok()) return Fail(s);
    return ControlReply::Ok({{"plugin", *plugin}, {"outcome", outcome}});
  }
  std::vector<std::string> errors;
  Status s = ReloadConfig(&errors);
  if (!s.ok()) {
    return ControlReply::Error("failed",
                               fmt::format("reload failed with {} error(s): keeping the running config", errors.size()),
                               errors);
  }
  return ControlReply::Ok({{"processors", config_.processors.size()}});
}

ControlReply Daemon::Logs(const nlohmann::json& params) {
  Params p(params);
  std::optional<int64_t> id, after;
  KILN_TRY(p.Int("run", true, 1, INT64_MAX, &id));
  KILN_TRY(p.Int("after", false, 0, INT64_MAX, &after));
  std::vector<LogLineRecord> lines;
  bool finished = false;
  if (!runner_->RunLog(*id, after.value_or(0), &lines)) {
    RunRecord r;
    Status s = ledger_->GetRun(*id, &r);
    if (s.code() == Status::Code::kNotFound) {
      return ControlReply::Error("not_found", fmt::format("run {} not found", *id));
    }
    KILN_TRY(s);
    KILN_TRY(ledger_->GetRunLog(*id, after.value_or(0), &lines));
    finished = IsTerminal(r.status);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const LogLineRecord& l : lines) out.push_back(LogLineJson(l));
  return ControlReply::Ok({{"lines", out}, {"finished", finished}});
}

ControlReply Daemon::BackfillStart(const nlohmann::json& params) {
  Params p(params);
  std::optional<std::string> processor, start, end, reprocess;
  std::optional<int64_t> parallel;
  bool cascade = false, dry_run = false;
  KILN_TRY(p.String("processor", true, &processor));
  KILN_TRY(p.String("start_date", true, &start));
  KILN_TRY(p.String("end_date", true, &end));
  KILN_TRY(p.String("reprocess", false, &reprocess));
  KILN_TRY(p.Int("parallel", false, INT64_MIN, INT64_MAX, &parallel));
  KILN_TRY(p.Bool("cascade", &cascade));
  KILN_TRY(p.Bool("dry_run", &dry_run));
  BackfillRequest r;
  r.processor = *processor;
  r.start_date = *start;
  r.end_date = *end;
  r.parallel = static_cast<int>(std::clamp<int64_t>(parallel.value_or(1), INT32_MIN, INT32_MAX));
  r.cascade = cascade;
  if (reprocess && !ParseReprocess(*reprocess, &r.reprocess)) {
    return ControlReply::Error("invalid_argument",
                               fmt::format("parameter 'reprocess': expected none, failed or all, found '{}'", *reprocess));
  }
  const SysMillis now = clock_.Now();
  if (dry_run) {
    BackfillPlan plan;
    BackfillRecord unused;
    KILN_TRY(backfills_->Start(r, now, &unused, &plan));
    return ControlReply::Ok(
        {{"plan", {{"processors", plan.processors}, {"partitions", plan.partitions}, {"skipped", plan.skipped}}}});
  }
  BackfillRecord created;
  KILN_TRY(backfills_->Start(r, now, &created, nullptr));
  LogLine(spdlog::level::info, LogFields{"", r.processor, "", ""},
          fmt::format("backfill {} started: {}..{}, parallel {}{}", created.id, r.start_date, r.end_date, r.parallel,
                      r.cascade ? ", cascade" : ""));
  PumpBackfills();
  BackfillProgress progress;
  KILN_TRY(backfills_->Progress(created.id, clock_.Now(), &progress));
  return ControlReply::Ok({{"backfill", BackfillJson(progress)}});
}

ControlReply Daemon::BackfillStatus(const nlohmann::json& params) {
  std::optional<int64_t> id;
  KILN_TRY(Params(params).Int("id", true, 1, INT64_MAX, &id));
  BackfillProgress progress;
  KILN_TRY(backfills_->Progress(*id, clock_.Now(), &progress));
  return ControlReply::Ok({{"backfill", BackfillJson(progress)}});
}

ControlReply Daemon::BackfillList(const nlohmann::json& params) {
  std::optional<int64_t> limit;
  KILN_TRY(Params(params).Int("limit", false, 1, 10000, &limit));
  std::vector<BackfillRecord> records;
  KILN_TRY(ledger_->ListBackfills(std::nullopt, static_cast<size_t>(limit.value_or(20)), &records));
  nlohmann::json out = nlohmann::json::array();
  const SysMillis now = clock_.Now();
  for (const BackfillRecord& rec : records) {
    BackfillProgress progress;
    if (backfills_->Progress(rec.id, now, &progress).ok()) out.push_back(BackfillJson(progress));
  }
  return ControlReply::Ok({{"backfills", out}});
}

ControlReply Daemon::BackfillCancel(const nlohmann::json& params) {
  std::optional<int64_t> id;
  KILN_TRY(Params(params).Int("id", true, 1, INT64_MAX, &id));
  std::vector<RunIntent> running;
  KILN_TRY(backfills_->Cancel(*id, clock_.Now(), &running));
  for (const ActiveRun& a : runner_->Active()) {
    if (a.backfill_id == *id) runner_->CancelRun(a.run_id);
  }
  LogLine(spdlog::level::info, LogFields{}, fmt::format("backfill {} cancelled", *id));
  BackfillProgress progress;
  KILN_TRY(backfills_->Progress(*id, clock_.Now(), &progress));
  return ControlReply::Ok({{"backfill", BackfillJson(progress)}});
}

}  // namespace kiln

#include "host/backfill/backfill_manager.h"

#include <algorithm>

#include <fmt/format.h>

#include "host/base/suggest.h"

namespace kiln {
namespace {

constexpr int64_t kMaxDays = 36600;  // a century of days

bool Succeeded(RunStatus s) { return s == RunStatus::kSucceeded; }
bool Failed(RunStatus s) { return s == RunStatus::kFailed || s == RunStatus::kTimedOut; }

}  // namespace

BackfillManager::BackfillManager(Ledger* ledger, int max_parallel) : ledger_(ledger), max_parallel_(max_parallel) {}

void BackfillManager::Configure(const Config& config, int max_parallel) {
  config_ = config;
  max_parallel_ = max_parallel;
}

std::vector<std::string> BackfillManager::Closure(const std::string& processor, bool cascade) const {
  std::set<std::string> in{processor};
  if (cascade) {
    // config_.processors is in dependency order, so one pass finds every
    // transitive dependent.
    for (const ProcessorConfig& p : config_.processors) {
      for (const std::string& up : p.depends_on) {
        if (in.count(up)) in.insert(p.name);
      }
    }
  }
  std::vector<std::string> ordered;
  for (const ProcessorConfig& p : config_.processors) {
    if (in.count(p.name)) ordered.push_back(p.name);
  }
  return ordered;
}

Status BackfillManager::SelectDates(const std::string& processor, const std::string& start, const std::string& end,
                                    Reprocess reprocess, const std::set<std::string>& ours,
                                    std::vector<std::string>* keep, std::vector<std::string>* skipped) {
  std::map<std::string, RunStatus> latest;
  if (reprocess != Reprocess::kAll) {
    std::vector<PartitionOutcome> outcomes;
    Status s = ledger_->LatestFinished(processor, start, end, &outcomes);
    if (!s.ok()) return s;
    for (const PartitionOutcome& o : outcomes) latest[o.partition] = o.status;
  }
  Day first, last;
  ParseDay(start, &first);
  ParseDay(end, &last);
  for (Day d = first; d <= last; d += date::days(1)) {
    const std::string day = FormatDay(d);
    bool skip = false;
    if (!ours.count(day)) {
      auto it = latest.find(day);
      if (it != latest.end()) {
        skip = reprocess == Reprocess::kNone ? (Succeeded(it->second) || Failed(it->second))
                                             : Succeeded(it->second);
      }
    }
    (skip ? skipped : keep)->push_back(day);
  }
  return Status::OK();
}

Status BackfillManager::Start(const BackfillRequest& r, SysMillis now, BackfillRecord* created, BackfillPlan* plan) {
  const ProcessorConfig* p = config_.Find(r.processor);
  if (p == nullptr) {
    std::vector<std::string> names;
    for (const ProcessorConfig& c : config_.processors) names.push_back(c.name);
    std::string msg = fmt::format("unknown processor '{}'", r.processor);
    if (auto s = Suggest(r.processor, names)) msg += fmt::format(" (did you mean '{}'?)", *s);
    return Status::InvalidArgument(msg);
  }
  if (!p->partitioned) {
    return Status::InvalidArgument(fmt::format(
        "processor '{}' is not partitioned by date (plugin '{}'): it cannot be backfilled", r.processor, p->plugin));
  }
  Day first, last;
  Status s = ParseDay(r.start_date, &first);
  if (!s.ok()) return Status::InvalidArgument("start_date: " + s.message());
  s = ParseDay(r.end_date, &last);
  if (!s.ok()) return Status::InvalidArgument("end_date: " + s.message());
  if (last < first) {
    return Status::InvalidArgument(fmt::format("end_date {} is before start_date {}", r.end_date, r.start_date));
  }
  if ((last - first).count() + 1 > kMaxDays) {
    return Status::InvalidArgument(fmt::format("range of {} days exceeds {}", (last - first).count() + 1, kMaxDays));
  }
  if (r.parallel < 1 || r.parallel > max_parallel_) {
    return Status::InvalidArgument(
        fmt::format("parallel {}: expected 1 to {} (the daemon's workers)", r.parallel, max_parallel_));
  }

  std::vector<std::string> keep, skipped;
  s = SelectDates(r.processor, r.start_date, r.end_date, r.reprocess, {}, &keep, &skipped);
  if (!s.ok()) return s;
  const std::vector<std::string> processors = Closure(r.processor, r.cascade);
  if (plan != nullptr) {
    plan->processors = processors;
    for (const std::string& proc : processors) plan->partitions[proc] = keep;
    plan->skipped = skipped;
    return Status::OK();
  }
  if (keep.empty()) {
    return Status::InvalidArgument(fmt::format(
        "nothing to backfill: all {} date(s) of '{}' already have finished runs (reprocess = {}; use failed or all)",
        skipped.size(), r.processor, ReprocessName(r.reprocess)));
  }
  BackfillRecord rec;
  rec.processor = r.processor;
  rec.processors = processors;
  rec.start_date = r.start_date;
  rec.end_date = r.end_date;
  rec.parallel = r.parallel;
  rec.cascade = r.cascade;
  rec.reprocess = r.reprocess;
  rec.state = BackfillState::kRunning;
  rec.created_ms = ToUnixMillis(now);
  s = ledger_->CreateBackfill(&rec);
  if (!s.ok()) return s;
  Live& live = live_[rec.id];
  live.record = rec;
  live.dates = keep;
  live.skipped = static_cast<int64_t>(skipped.size());
  live.since = now;
  for (const std::string& day : keep) live.pending.emplace_back(r.processor, day);
  *created = rec;
  return Status::OK();
}

Status BackfillManager::Resume(SysMillis now, std::vector<std::string>* log) {
  std::vector<BackfillRecord> running;
  Status s = ledger_->ListBackfills(BackfillState::kRunning, 0, &running);
  if (!s.ok()) return s;
  for (const BackfillRecord& rec : running) {
    std::vector<PartitionOutcome> outcomes;
    s = ledger_->BackfillOutcomes(rec.id, &outcomes);
    if (!s.ok()) return s;
    Live& live = live_[rec.id];
    live.record = rec;
    live.since = now;
    std::set<std::string> ours;
    for (const PartitionOutcome& o : outcomes) {
      if (o.processor == rec.processor) ours.insert(o.partition);
      // Only what finished counts; what was in flight at the crash
      // (abandoned) runs again.
      if (Succeeded(o.status)) live.succeeded.emplace(o.processor, o.partition);
      else if (Failed(o.status) || o.status == RunStatus::kCancelled) live.failed.emplace(o.processor, o.partition);
    }
    std::vector<std::string> skipped;
    s = SelectDates(rec.processor, rec.start_date, rec.end_date, rec.reprocess, ours, &live.dates, &skipped);
    if (!s.ok()) return s;
    live.skipped = static_cast<int64_t>(skipped.size());
    for (const std::string& day : live.dates) {
      const Pair root{rec.processor, day};
      if (!live.succeeded.count(root) && !live.failed.count(root)) live.pending.push_back(root);
      Release(live, day);
    }
    log->push_back(fmt::format("backfill {} of '{}' resumed: {} done, {} to run", rec.id, rec.processor,
                               live.succeeded.size(), live.pending.size()));
    if (live.pending.empty()) Complete(live, now, log);
  }
  std::erase_if(live_, [](const auto& kv) { return kv.second.record.state != BackfillState::kRunning; });
  return Status::OK();
}

void BackfillManager::Release(Live& live, const std::string& date) {
  const std::set<std::string> in(live.record.processors.begin(), live.record.processors.end());
  for (const std::string& proc : live.record.processors) {
    if (proc == live.record.processor) continue;
    const Pair pair{proc, date};
    if (live.succeeded.count(pair) || live.failed.count(pair) || live.running.count(pair) ||
        std::find(live.pending.begin(), live.pending.end(), pair) != live.pending.end()) {
      continue;
    }
    const ProcessorConfig* p = config_.Find(proc);
    if (p == nullptr) continue;  // removed by a reload: nothing to run
    bool ready = true;
    for (const std::string& up : p->depends_on) {
      if (in.count(up) && !live.succeeded.count({up, date})) ready = false;
    }
    if (ready) live.pending.push_back(pair);
  }
}

void BackfillManager::Pump(std::vector<RunIntent>* start) {
  for (auto& [id, live] : live_) {
    while (static_cast<int>(live.running.size()) < live.record.parallel && !live.pending.empty()) {
      Pair pair = live.pending.front();
      live.pending.pop_front();
      live.running.insert(pair);
      RunIntent i;
      i.processor = pair.first;
      Day d;
      ParseDay(pair.second, &d);
      i.partition = d;
      i.trigger = Trigger::kBackfill;
      i.backfill_id = id;
      start->push_back(std::move(i));
    }
  }
}

void BackfillManager::Finished(const RunIntent& intent, RunStatus status, SysMillis now,
                               std::vector<std::string>* log) {
  if (!intent.backfill_id || !intent.partition) return;
  auto it = live_.find(*intent.backfill_id);
  if (it == live_.end()) return;  // cancelled, or finished
  Live& live = it->second;
  const Pair pair{intent.processor, FormatDay(*intent.partition)};
  if (!live.running.erase(pair)) return;
  ++live.finished_since;
  if (Succeeded(status)) {
    live.succeeded.insert(pair);
    Release(live, pair.second);
  } else {
    live.failed.insert(pair);
  }
  if (live.running.empty() && live.pending.empty() && Complete(live, now, log)) live_.erase(it);
}

bool BackfillManager::Complete(Live& live, SysMillis now, std::vector<std::string>* log) {
  const int64_t failed = static_cast<int64_t>(live.failed.size()) + Blocked(live);
  if (!live.unrecorded) {  // decided once: a retry writes the same outcome
    live.record.state = failed > 0 ? BackfillState::kFailed : BackfillState::kSucceeded;
    live.record.finished_ms = ToUnixMillis(now);
  }
  Status s = ledger_->FinishBackfill(live.record.id, live.record.state, *live.record.finished_ms);
  if (!s.ok()) {
    if (!live.unrecorded) {
      log->push_back(fmt::format("backfill {} of '{}' {}, but the ledger refused its final state (retrying every "
                                 "second): {}",
                                 live.record.id, live.record.processor, BackfillStateName(live.record.state),
                                 s.message()));
    }
    live.unrecorded = true;
    return false;
  }
  log->push_back(fmt::format("backfill {} of '{}' {}: {} succeeded, {} failed", live.record.id, live.record.processor,
                             BackfillStateName(live.record.state), live.succeeded.size(), failed));
  return true;
}

int BackfillManager::RetryUnrecorded(std::vector<std::string>* log) {
  int waiting = 0;
  for (auto it = live_.begin(); it != live_.end();) {
    if (!it->second.unrecorded) {
      ++it;
    } else if (Complete(it->second, SysMillis(), log)) {
      it = live_.erase(it);
    } else {
      ++waiting;
      ++it;
    }
  }
  return waiting;
}

Status BackfillManager::Cancel(int64_t id, SysMillis now, std::vector<RunIntent>* running) {
  auto it = live_.find(id);
  if (it == live_.end()) {
    BackfillRecord rec;
    Status s = ledger_->GetBackfill(id, &rec);
    if (!s.ok()) return Status::NotFound(fmt::format("backfill {} not found", id));
    return Status::InvalidArgument(fmt::format("backfill {} is already {}", id, BackfillStateName(rec.state)));
  }
  for (const Pair& pair : it->second.running) {
    RunIntent i;
    i.processor = pair.first;
    Day d;
    ParseDay(pair.second, &d);
    i.partition = d;
    i.backfill_id = id;
    running->push_back(std::move(i));
  }
  Status s = ledger_->FinishBackfill(id, BackfillState::kCancelled, ToUnixMillis(now));
  live_.erase(it);
  return s;
}

int64_t BackfillManager::Total(const Live& live) const {
  return static_cast<int64_t>(live.dates.size() * live.record.processors.size());
}

int64_t BackfillManager::Blocked(const Live& live) const {
  // Pairs that can never run because an upstream pair in the backfill failed.
  int64_t blocked = 0;
  for (const std::string& date : live.dates) {
    std::set<std::string> dead;
    for (const std::string& proc : live.record.processors) {
      const Pair pair{proc, date};
      if (live.failed.count(pair)) {
        dead.insert(proc);
        continue;
      }
      const ProcessorConfig* p = config_.Find(proc);
      if (p == nullptr) continue;
      for (const std::string& up : p->depends_on) {
        if (dead.count(up)) {
          dead.insert(proc);
          ++blocked;
          break;
        }
      }
    }
  }
  return blocked;
}

Status BackfillManager::Progress(int64_t id, SysMillis now, BackfillProgress* out) {
  *out = BackfillProgress();
  auto it = live_.find(id);
  if (it == live_.end()) {
    // Finished or cancelled: everything is in the ledger.
    Status s = ledger_->GetBackfill(id, &out->record);
    if (!s.ok()) return Status::NotFound(fmt::format("backfill {} not found", id));
    std::vector<PartitionOutcome> outcomes;
    s = ledger_->BackfillOutcomes(id, &outcomes);
    if (!s.ok()) return s;
    for (const PartitionOutcome& o : outcomes) {
      if (Succeeded(o.status)) ++out->succeeded;
      else ++out->failed;
    }
    out->total = out->succeeded + out->failed;
    return Status::OK();
  }
  const Live& live = it->second;
  out->record = live.record;
  out->total = Total(live);
  out->succeeded = static_cast<int64_t>(live.succeeded.size());
  out->failed = static_cast<int64_t>(live.failed.size()) + Blocked(live);
  out->running = static_cast<int64_t>(live.running.size());
  out->pending = std::max<int64_t>(0, out->total - out->succeeded - out->failed - out->running);
  out->skipped = live.skipped;
  const double minutes = std::chrono::duration<double, std::ratio<60>>(now - live.since).count();
  if (minutes > 0 && live.finished_since > 0) {
    out->rate_per_min = static_cast<double>(live.finished_since) / minutes;
    out->eta_seconds = 60.0 * static_cast<double>(out->pending + out->running) / *out->rate_per_min;
  }
  return Status::OK();
}

std::vector<int64_t> BackfillManager::Active() const {
  std::vector<int64_t> ids;
  for (const auto& [id, live] : live_) ids.push_back(id);
  return ids;
}

}  // namespace kiln

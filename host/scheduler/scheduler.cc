#include "host/scheduler/scheduler.h"

#include <algorithm>

#include <fmt/format.h>

#include "kiln/plugin.h"

namespace kiln {
namespace {

// Slots walked when replaying downtime: enough for a year of minutely cron,
// a bound for an every = "1s" processor left off for months.
constexpr size_t kMaxCatchupScan = 1'000'000;
constexpr auto kMaxBackoff = std::chrono::hours(1);

bool IsRetryable(RunStatus s) { return s == RunStatus::kFailed || s == RunStatus::kTimedOut; }

std::string Describe(const RunIntent& i) {
  std::string s = fmt::format("{} run of '{}'", TriggerName(i.trigger), i.processor);
  if (i.partition) s += " for " + FormatDay(*i.partition);
  return s;
}

}  // namespace

int32_t AbiTrigger(Trigger t) {
  switch (t) {
    case Trigger::kSchedule: return KILN_TRIGGER_SCHEDULE;
    case Trigger::kManual: return KILN_TRIGGER_MANUAL;
    case Trigger::kBackfill: return KILN_TRIGGER_BACKFILL;
    case Trigger::kRetry: return KILN_TRIGGER_RETRY;
    case Trigger::kCatchup: return KILN_TRIGGER_CATCHUP;
  }
  return KILN_TRIGGER_MANUAL;
}

Scheduler::Scheduler(Ledger* ledger, uint64_t seed) : ledger_(ledger), rng_(seed) {}

void Scheduler::Configure(const Config& config, SysMillis now) {
  std::unordered_map<std::string, Slot> next;
  for (const ProcessorConfig& p : config.processors) {
    Slot slot{p, FireTimes(p), std::nullopt, 0, {}};
    if (auto old = slots_.find(p.name); old != slots_.end()) {
      slot.in_flight = old->second.in_flight;
      slot.backlog = std::move(old->second.backlog);
    }
    if (p.enabled) slot.next_fire = slot.fire_times.Next(now);
    next.emplace(p.name, std::move(slot));
  }
  slots_ = std::move(next);
  order_.clear();
  fires_ = {};
  for (const ProcessorConfig& p : config.processors) {
    Slot* slot = &slots_.at(p.name);
    if (slot->next_fire) fires_.emplace(*slot->next_fire, order_.size());
    order_.push_back(slot);
  }
  auto gone = [&](const RunIntent& i) { return slots_.find(i.processor) == slots_.end(); };
  std::erase_if(waiting_, gone);
  std::erase_if(retries_, [&](const Retry& r) { return gone(r.intent); });
}

void Scheduler::Recover(SysMillis now, const std::vector<RunRecord>& abandoned, Actions* out) {
  for (Slot* s : order_) {
    Slot& slot = *s;
    const std::string& name = slot.config.name;
    if (!slot.config.enabled || !slot.fire_times.scheduled() || slot.config.catchup == Catchup::kNone) continue;
    int64_t last_ms = 0;
    if (!ledger_->LastScheduled(name, &last_ms).ok()) continue;  // never ran: nothing was missed
    std::deque<SysMillis> missed;
    std::optional<SysMillis> t = slot.fire_times.Next(FromUnixMillis(last_ms));
    for (size_t n = 0; t && *t <= now && n < kMaxCatchupScan; ++n) {
      missed.push_back(*t);
      const size_t keep = slot.config.catchup == Catchup::kLatest ? 1 : static_cast<size_t>(slot.config.catchup_cap);
      if (missed.size() > keep) missed.pop_front();
      t = slot.fire_times.Next(*t);
    }
    for (SysMillis when : missed) {
      RunIntent i;
      i.processor = name;
      i.trigger = Trigger::kCatchup;
      i.scheduled = when;
      if (slot.config.partitioned) i.partition = slot.fire_times.PartitionFor(when);
      out->log.push_back(fmt::format("catch-up: '{}' missed its slot at {} while kilnd was down", name,
                                     ToUnixMillis(when)));
      Admit(std::move(i), false, out);
    }
  }
  for (const RunRecord& r : abandoned) {
    if (r.backfill_id) continue;  // its backfill resumes it
    auto it = slots_.find(r.processor);
    if (it == slots_.end() || r.attempt > it->second.config.retries) continue;
    RunIntent i;
    i.processor = r.processor;
    i.trigger = Trigger::kRetry;
    if (r.scheduled_ms) i.scheduled = FromUnixMillis(*r.scheduled_ms);
    if (r.partition) {
      Day d;
      if (ParseDay(*r.partition, &d).ok()) i.partition = d;
    }
    i.attempt = r.attempt + 1;
    i.backfill_id = r.backfill_id;
    out->log.push_back(fmt::format("retrying run {} of '{}', abandoned when kilnd stopped", r.id, r.processor));
    Admit(std::move(i), false, out);
  }
}

void Scheduler::Tick(SysMillis now, Actions* out) {
  std::vector<size_t> due;
  while (!fires_.empty() && fires_.top().first <= now) {
    due.push_back(fires_.top().second);
    fires_.pop();
  }
  std::sort(due.begin(), due.end());  // config order among those due
  for (size_t index : due) {
    Slot& slot = *order_[index];
    const std::string& name = slot.config.name;
    // The latest slot at or before now fires; earlier ones the loop slept
    // through are skipped (catch-up is for downtime, not for a late wakeup).
    SysMillis fire = *slot.next_fire;
    size_t skipped = 0;
    for (auto t = slot.fire_times.Next(fire); t && *t <= now; t = slot.fire_times.Next(*t)) {
      fire = *t;
      ++skipped;
    }
    if (skipped > 0) out->log.push_back(fmt::format("'{}': woke late, skipped {} slot(s)", name, skipped));
    slot.next_fire = slot.fire_times.Next(now);
    if (slot.next_fire) fires_.emplace(*slot.next_fire, index);
    RunIntent i;
    i.processor = name;
    i.trigger = Trigger::kSchedule;
    i.scheduled = fire;
    if (slot.config.partitioned) i.partition = slot.fire_times.PartitionFor(fire);
    Admit(slot, std::move(i), true, out);
  }
  std::vector<Retry> due_retries;
  for (auto it = retries_.begin(); it != retries_.end();) {
    if (it->due <= now) {
      due_retries.push_back(std::move(*it));
      it = retries_.erase(it);
    } else {
      ++it;
    }
  }
  for (Retry& r : due_retries) Admit(std::move(r.intent), false, out);
}

Status Scheduler::Submit(const RunIntent& intent, Actions* out) {
  auto it = slots_.find(intent.processor);
  if (it == slots_.end()) return Status::NotFound(fmt::format("unknown processor '{}'", intent.processor));
  const ProcessorConfig& p = it->second.config;
  if (p.partitioned && !intent.partition) {
    return Status::InvalidArgument(
        fmt::format("processor '{}' is partitioned by date: a date is required", intent.processor));
  }
  if (!p.partitioned && intent.partition) {
    return Status::InvalidArgument(
        fmt::format("processor '{}' is not partitioned by date: it takes no date", intent.processor));
  }
  Admit(it->second, intent, false, out);
  return Status::OK();
}

std::vector<std::string> Scheduler::MissingUpstreams(const Slot& slot, const Day& day) {
  std::vector<std::string> missing;
  const std::string partition = FormatDay(day);
  for (const std::string& up : slot.config.depends_on) {
    RunRecord r;
    if (!ledger_->LastSucceeded(up, partition, &r).ok()) missing.push_back(up);
  }
  return missing;
}

void Scheduler::Admit(RunIntent intent, bool from_schedule, Actions* out) {
  auto it = slots_.find(intent.processor);
  if (it == slots_.end()) return;
  Admit(it->second, std::move(intent), from_schedule, out);
}

void Scheduler::Admit(Slot& slot, RunIntent intent, bool from_schedule, Actions* out) {
  if (intent.partition && !slot.config.depends_on.empty()) {
    std::vector<std::string> missing = MissingUpstreams(slot, *intent.partition);
    if (!missing.empty()) {
      out->log.push_back(fmt::format("{} waits for {} to succeed for {}", Describe(intent),
                                     fmt::join(missing, ", "), FormatDay(*intent.partition)));
      waiting_.push_back(std::move(intent));
      return;
    }
  }
  // Backfill runs are other dates than the running one: the backfill's own
  // `parallel` bounds them, not the processor's concurrency policy.
  if (slot.in_flight > 0 && intent.trigger != Trigger::kBackfill) {
    switch (slot.config.concurrency) {
      case Concurrency::kAllow:
        break;
      case Concurrency::kForbid:
        if (from_schedule) {
          out->log.push_back(fmt::format("{} skipped: the previous run is still running (concurrency = forbid)",
                                         Describe(intent)));
        } else {
          slot.backlog.push_back(std::move(intent));
        }
        return;
      case Concurrency::kReplace:
        out->cancel.push_back(slot.config.name);
        slot.backlog.push_back(std::move(intent));
        return;
    }
  }
  Start(slot, std::move(intent), out);
}

void Scheduler::Start(Slot& slot, RunIntent intent, Actions* out) {
  ++slot.in_flight;
  out->start.push_back(std::move(intent));
}

void Scheduler::Finished(const RunIntent& intent, RunStatus status, SysMillis now, Actions* out) {
  auto it = slots_.find(intent.processor);
  if (it == slots_.end()) return;  // removed by a reload while it ran
  Slot& slot = it->second;
  if (slot.in_flight > 0) --slot.in_flight;

  // A backfill records its failures and moves on; `--reprocess failed`
  // reruns them. Retrying here would run a date twice in one backfill.
  if (IsRetryable(status) && intent.attempt <= slot.config.retries && !intent.backfill_id) {
    RunIntent retry = intent;
    retry.trigger = Trigger::kRetry;
    retry.attempt = intent.attempt + 1;
    const auto delay = Backoff(slot, intent.attempt);
    out->log.push_back(fmt::format("{} {}; retry {} of {} in {} ms", Describe(intent), RunStatusName(status),
                                   intent.attempt, slot.config.retries, delay.count()));
    retries_.push_back({now + delay, std::move(retry)});
  }

  // The next queued run of this processor, now that one finished.
  if (slot.in_flight == 0 && !slot.backlog.empty()) {
    RunIntent next = std::move(slot.backlog.front());
    slot.backlog.pop_front();
    Start(slot, std::move(next), out);
  }

  // An upstream success releases the runs waiting on it for that date.
  if (status == RunStatus::kSucceeded && intent.partition) {
    std::vector<RunIntent> still_waiting;
    std::vector<RunIntent> released;
    for (RunIntent& w : waiting_) {
      auto ws = slots_.find(w.processor);
      const bool depends = ws != slots_.end() &&
                           std::count(ws->second.config.depends_on.begin(), ws->second.config.depends_on.end(),
                                      intent.processor) > 0;
      if (depends && w.partition == intent.partition) released.push_back(std::move(w));
      else still_waiting.push_back(std::move(w));
    }
    waiting_ = std::move(still_waiting);
    for (RunIntent& r : released) Admit(std::move(r), false, out);  // may wait on another upstream
  }
}

std::chrono::milliseconds Scheduler::Backoff(const Slot& slot, int attempt) {
  // base * 2^(attempt-1), capped, then "equal jitter": half fixed, half
  // random, so retries of many runs that failed together spread out.
  const int shift = std::min(attempt - 1, 20);
  auto delay = std::min<std::chrono::milliseconds>(slot.config.retry_backoff * (int64_t{1} << shift), kMaxBackoff);
  std::uniform_int_distribution<int64_t> jitter(0, delay.count() / 2);
  return std::chrono::milliseconds(delay.count() - delay.count() / 2 + jitter(rng_));
}

std::optional<SysMillis> Scheduler::NextWakeup() const {
  std::optional<SysMillis> next;
  if (!fires_.empty()) next = fires_.top().first;
  for (const Retry& r : retries_) {
    if (!next || r.due < *next) next = r.due;
  }
  return next;
}

std::optional<SysMillis> Scheduler::NextFire(const std::string& processor) const {
  auto it = slots_.find(processor);
  return it == slots_.end() ? std::nullopt : it->second.next_fire;
}

int Scheduler::InFlight(const std::string& processor) const {
  auto it = slots_.find(processor);
  return it == slots_.end() ? 0 : it->second.in_flight;
}

size_t Scheduler::Waiting() const { return waiting_.size(); }

}  // namespace kiln

#include "host/runner/runner.h"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "host/base/log.h"

namespace kiln {
namespace {

std::optional<Phase> PhaseByName(const std::string& name) {
  for (size_t i = 0; i < kPhaseCount; ++i) {
    if (name == PhaseName(static_cast<Phase>(i))) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

// A ledger write refused for a reason that passes (disk full, read-only,
// locked by another process, an I/O error) is retried this often, doubling.
constexpr auto kFirstRetry = std::chrono::milliseconds(100);
constexpr auto kMaxRetry = std::chrono::milliseconds(2000);

void RecordPhases(const std::vector<PhaseResult>& phases, RunRecord* rec) {
  for (const PhaseResult& p : phases) {
    if (auto phase = PhaseByName(p.name)) rec->phase(*phase) = p.millis;
  }
}

}  // namespace

Runner::Runner(Ledger* ledger, const Clock* clock, int workers, std::string worker_path)
    : ledger_(ledger),
      clock_(clock),
      worker_path_(worker_path.empty() ? DefaultWorkerPath() : std::move(worker_path)),
      workers_(static_cast<size_t>(std::max(1, workers))) {
  watchdog_ = std::thread([this] { Watchdog(); });
}

Runner::~Runner() {
  workers_.join();  // every posted run finishes and reports
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  watchdog_.join();
}

void Runner::Configure(const Config& config) {
  WorkerLimits limits;
  limits.worker_path = worker_path_;
  std::map<std::string, std::shared_ptr<InstancePool>, std::less<>> pools;
  for (const ProcessorConfig& p : config.processors) pools[p.name] = std::make_shared<InstancePool>(p, limits);
  std::lock_guard<std::mutex> lock(mu_);
  pools_ = std::move(pools);
}

RunRecord Runner::NewRecord(const ProcessorConfig& p, const RunIntent& intent) const {
  RunRecord rec;
  rec.processor = p.name;
  rec.plugin_name = p.loaded->name();
  rec.plugin_version = p.loaded->info().version;
  rec.plugin_hash = p.loaded->file_hash();
  if (intent.partition) rec.partition = FormatDay(*intent.partition);
  rec.trigger = intent.trigger;
  if (intent.scheduled) rec.scheduled_ms = ToUnixMillis(*intent.scheduled);
  rec.start_ms = ToUnixMillis(clock_->Now());
  rec.status = RunStatus::kRunning;
  rec.attempt = intent.attempt;
  rec.backfill_id = intent.backfill_id;
  return rec;
}

Status Runner::Start(const RunIntent& intent, Done done) {
  std::shared_ptr<InstancePool> pool;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pools_.find(intent.processor);
    if (it == pools_.end()) return Status::NotFound(fmt::format("unknown processor '{}'", intent.processor));
    pool = it->second;
    ++pending_;
  }
  boost::asio::post(workers_, [this, pool = std::move(pool), intent, done = std::move(done)] {
    RunRecord rec = Execute(pool, intent);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --pending_;
    }
    changed_.notify_all();
    // After the count drops, so a caller that sees the report also sees
    // the runner one run emptier.
    if (done) done(intent, rec);
  });
  return Status::OK();
}

RunRecord Runner::Execute(const std::shared_ptr<InstancePool>& pool, const RunIntent& intent) {
  const ProcessorConfig& p = pool->config();
  RunRecord rec = NewRecord(p, intent);
  if (drop_queued_.load()) {
    // kilnd is stopping: never started, so never recorded (id 0).
    rec.status = RunStatus::kCancelled;
    rec.error = "dropped: kilnd stopped before a worker was free";
    return rec;
  }
  // Not on record, so not run: a run the ledger cannot see must not write.
  // While the ledger cannot take it (disk full, locked), the run waits.
  Status s = Persist("start", LogFields{p.loaded->name(), p.name, "", rec.partition.value_or("")},
                     [&] { return ledger_->BeginRun(&rec); });
  if (!s.ok()) {
    LogLine(spdlog::level::err, LogFields{p.loaded->name(), p.name, "", rec.partition.value_or("")},
            "cannot record the run, not starting it: " + s.message());
    rec.id = 0;
    rec.status = drop_queued_.load() ? RunStatus::kCancelled : RunStatus::kFailed;
    rec.error = s.message();
    return rec;
  }
  auto flight = std::make_shared<Flight>();
  flight->run_id = rec.id;
  flight->intent = intent;
  flight->started = FromUnixMillis(rec.start_ms);
  if (p.timeout) flight->deadline = std::chrono::steady_clock::now() + *p.timeout;
  Flight* f = flight.get();
  flight->sink = [this, f](spdlog::level::level_enum level, std::string_view message) {
    std::lock_guard<std::mutex> lock(f->log_mu);
    if (f->log.size() + 1 >= kMaxRunLogLines) {
      ++f->log_dropped;
      return;
    }
    const char* name = level <= spdlog::level::debug ? "debug"
                       : level == spdlog::level::info ? "info"
                       : level == spdlog::level::warn ? "warn"
                                                      : "error";
    f->log.push_back({static_cast<int64_t>(f->log.size()) + 1, ToUnixMillis(clock_->Now()), name, std::string(message)});
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_[rec.id] = flight;
  }
  changed_.notify_all();

  LogFields fields{p.loaded->name(), p.name, std::to_string(rec.id), rec.partition.value_or("")};
  std::vector<PhaseResult> opened;
  std::unique_ptr<RunTarget> instance;
  s = pool->Acquire(&instance, &opened);
  RecordPhases(opened, &rec);
  RunResult result;
  if (s.ok()) {
    RunRequest req;
    req.run_id = std::to_string(rec.id);
    req.partition = flight->intent.partition;
    req.trigger = AbiTrigger(flight->intent.trigger);
    req.cancel = &flight->cancel;
    req.progress = &flight->progress;
    req.log_sink = &flight->sink;
    instance->Run(req, &result);
    RecordPhases(result.phases, &rec);
    s = result.status;
    pool->Release(std::move(instance), s.ok());
  }
  rec.records = static_cast<int64_t>(result.records);
  rec.end_ms = ToUnixMillis(clock_->Now());
  if (s.ok()) {
    rec.status = RunStatus::kSucceeded;
  } else if (flight->timed_out.load()) {
    rec.status = RunStatus::kTimedOut;
    rec.error = fmt::format("timed out after {} ms", p.timeout ? p.timeout->count() : 0);
  } else {
    rec.status = s.code() == Status::Code::kCancelled ? RunStatus::kCancelled : RunStatus::kFailed;
    rec.error = s.message();
  }
  std::vector<LogLineRecord> lines;
  {
    std::lock_guard<std::mutex> lock(flight->log_mu);
    if (flight->log_dropped > 0) {
      flight->log.push_back({static_cast<int64_t>(flight->log.size()) + 1, ToUnixMillis(clock_->Now()), "warn",
                             fmt::format("({} more lines dropped)", flight->log_dropped)});
    }
    lines = flight->log;
  }
  // Written without log_mu: the write may wait out a full disk, and the
  // control thread reads this run's log under that lock (`kilnctl logs`).
  if (!lines.empty()) {
    Status logged = Persist("log lines", fields, [&] { return ledger_->AppendRunLog(rec.id, lines); });
    if (!logged.ok()) LogLine(spdlog::level::warn, fields, "cannot keep the run's log lines: " + logged.message());
  }
  // Reported only once on disk: until the ledger takes the end (disk full,
  // locked), the run stays in flight. If kilnd stops first, the ledger still
  // says running, and the next kilnd marks it abandoned and runs it again.
  Status recorded = Persist("end", fields, [&] { return ledger_->FinishRun(rec); });
  if (!recorded.ok()) LogLine(spdlog::level::err, fields, "cannot record the run's end: " + recorded.message());
  LogLine(rec.status == RunStatus::kSucceeded ? spdlog::level::info : spdlog::level::warn, fields,
          fmt::format("{} run {}: {} records in {} ms{}{}", TriggerName(rec.trigger), RunStatusName(rec.status),
                      rec.records, *rec.end_ms - rec.start_ms, rec.error.empty() ? "" : ": ", rec.error));
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_.erase(rec.id);
  }
  return rec;
}

Status Runner::Persist(const char* what, const LogFields& fields, const std::function<Status()>& write) {
  Status s = write();
  if (s.ok() || s.code() != Status::Code::kIOError) return s;
  LogLine(spdlog::level::err, fields,
          fmt::format("cannot record the run's {} (retrying until the ledger accepts it): {}", what, s.message()));
  const auto began = std::chrono::steady_clock::now();
  auto delay = kFirstRetry;
  for (int attempts = 2;; ++attempts) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (changed_.wait_for(lock, delay, [this] { return drop_queued_.load(); })) {
        LogLine(spdlog::level::err, fields,
                fmt::format("kilnd is stopping: gave up recording the run's {} after {} attempt(s): {}", what,
                            attempts - 1, s.message()));
        return s;
      }
    }
    s = write();
    if (s.ok()) {
      LogLine(spdlog::level::info, fields,
              fmt::format("ledger accepted the run's {} after {} attempts in {:.1f} s", what, attempts,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()));
      return s;
    }
    if (s.code() != Status::Code::kIOError) return s;
    delay = std::min<std::chrono::milliseconds>(delay * 2, kMaxRetry);
  }
}

void Runner::DropQueued() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    drop_queued_.store(true);
  }
  changed_.notify_all();  // wakes runs waiting to retry a ledger write
}

void Runner::Cancel(const std::string& processor) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, f] : flights_) {
    if (processor.empty() || f->intent.processor == processor) f->cancel.store(true);
  }
}

bool Runner::CancelRun(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flights_.find(run_id);
  if (it == flights_.end()) return false;
  it->second->cancel.store(true);
  return true;
}

bool Runner::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_until(lock, deadline, [this] { return pending_ == 0; });
}

size_t Runner::InFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

std::vector<ActiveRun> Runner::Active() const {
  std::vector<ActiveRun> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, f] : flights_) {
    ActiveRun a;
    a.run_id = id;
    a.intent = f->intent;
    a.started = f->started;
    a.done = f->progress.done.load();
    a.total = f->progress.total.load();
    a.records = f->progress.records.load();
    const int phase = f->progress.phase.load();
    if (phase >= 0 && static_cast<size_t>(phase) < kRequiredMethodCount) a.phase = kRequiredMethods[phase];
    a.backfill_id = f->intent.backfill_id;
    out.push_back(std::move(a));
  }
  return out;
}

std::string Runner::Paused(const std::string& processor) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pools_.find(processor);
  return it == pools_.end() ? std::string() : it->second->paused();
}

bool Runner::RunLog(int64_t run_id, int64_t after_seq, std::vector<LogLineRecord>* out) const {
  std::shared_ptr<Flight> f;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = flights_.find(run_id);
    if (it == flights_.end()) return false;
    f = it->second;
  }
  std::lock_guard<std::mutex> lock(f->log_mu);
  for (const LogLineRecord& line : f->log) {
    if (line.seq > after_seq) out->push_back(line);
  }
  return true;
}

void Runner::Watchdog() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    std::optional<std::chrono::steady_clock::time_point> next;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, f] : flights_) {
      if (!f->deadline || f->timed_out.load()) continue;
      if (*f->deadline <= now) {
        f->timed_out.store(true);
        f->cancel.store(true);
        LogLine(spdlog::level::warn, LogFields{"", f->intent.processor, std::to_string(id), ""},
                "timeout reached: asking the run to stop");
      } else if (!next || *f->deadline < *next) {
        next = f->deadline;
      }
    }
    if (next) changed_.wait_until(lock, *next);
    else changed_.wait(lock);
  }
}

}  // namespace kiln

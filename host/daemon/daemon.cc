#include "host/daemon/daemon.h"

#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "host/base/log.h"
#include "host/daemon/systemd_notify.h"

namespace kiln {
namespace {

// How long SIGTERM waits for in-flight runs before cancelling them, and how
// long cancelled runs get to stop before kilnd exits regardless.
constexpr auto kDrainGrace = std::chrono::seconds(30);
constexpr auto kCancelGrace = std::chrono::seconds(10);

void LogInfo(const std::string& line) { LogLine(spdlog::level::info, LogFields{}, line); }
void LogWarn(const std::string& line) { LogLine(spdlog::level::warn, LogFields{}, line); }

Status MakeStateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("state_dir {}: cannot create: {}", dir, ec.message()));
  if (access(dir.c_str(), W_OK) != 0) {
    return Status::IOError(fmt::format("state_dir {}: not writable: {}", dir, std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace

Daemon::Daemon(std::string config_path) : config_path_(std::move(config_path)) {
  resolver_ = std::make_unique<DirectoryPluginResolver>(loader_, /*private_copies=*/true);
}

Daemon::~Daemon() = default;

Status Daemon::Open(std::vector<std::string>* errors) {
  Status s = LoadConfig(config_path_, *resolver_, &config_, errors);
  if (!s.ok()) return s;
  s = InitLogging(config_.daemon.log);
  if (!s.ok()) {
    errors->push_back(config_path_ + ": " + s.message());
    return s;
  }
  s = MakeStateDir(config_.daemon.state_dir);
  if (!s.ok()) {
    errors->push_back(s.message());
    return s;
  }
  s = Ledger::Open(config_.daemon.state_dir + "/ledger.db", LedgerOptions(), &ledger_);
  if (!s.ok()) {
    errors->push_back(s.message());
    return s;
  }
  scheduler_ = std::make_unique<Scheduler>(ledger_.get());
  runner_ = std::make_unique<Runner>(ledger_.get(), &clock_, config_.daemon.workers);
  backfills_ = std::make_unique<BackfillManager>(ledger_.get(), config_.daemon.workers);
  ApplyConfig(std::move(config_));  // the same path a reload or a swap takes
  control_ = std::make_unique<ControlServer>(io_, config_.daemon.control_socket, std::set<uid_t>{geteuid(), 0},
                                             [this](const ControlRequest& r) { return HandleControl(r); });
  s = control_->Start();
  if (!s.ok()) {
    errors->push_back(s.message());
    return s;
  }
  return Status::OK();
}

int Daemon::Run() {
  std::vector<RunRecord> abandoned;
  Status s = ledger_->MarkAbandoned(ToUnixMillis(clock_.Now()), &abandoned);
  if (!s.ok()) {
    LogLine(spdlog::level::err, LogFields{}, s.message());
    return 1;
  }
  for (const RunRecord& r : abandoned) {
    LogWarn(fmt::format("run {} of '{}' was in flight when kilnd stopped: marked abandoned", r.id, r.processor));
  }
  started_at_ = clock_.Now();
  Actions actions;
  scheduler_->Recover(clock_.Now(), abandoned, &actions);
  s = backfills_->Resume(clock_.Now(), &actions.log);
  if (!s.ok()) LogLine(spdlog::level::err, LogFields{}, "cannot resume backfills: " + s.message());
  LogInfo(fmt::format("kilnd started: config {}, {} processor(s), {} worker(s), state in {}", config_path_,
                      config_.processors.size(), config_.daemon.workers, config_.daemon.state_dir));
  Apply(std::move(actions));
  PumpBackfills();
  ArmTimer();
  WatchPluginDirs();
  WaitForSignal();
  ArmWatchdog();
  NotifyReady(fmt::format("{} processors", config_.processors.size()));
  io_.run();

  // Either every run ended, or the cancel grace passed with runs still
  // stuck in plugin code that ignores cancellation.
  if (!runner_->WaitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
    LogLine(spdlog::level::err, LogFields{},
            fmt::format("{} run(s) ignored cancellation; exiting without them (they will be marked abandoned)",
                        runner_->InFlight()));
    ledger_->Close();
    Logger().flush();
    std::_Exit(1);
  }
  runner_.reset();
  ledger_->Close();
  LogInfo("kilnd stopped");
  Logger().flush();
  return exit_code_;
}

void Daemon::ArmTimer() {
  if (stopping_) return;
  std::optional<SysMillis> next = scheduler_->NextWakeup();
  timer_.cancel();
  if (!next) return;  // nothing scheduled: sleep until a signal or a request
  timer_.expires_at(std::chrono::system_clock::time_point(*next));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnTimer();
  });
}

void Daemon::OnTimer() {
  if (stopping_) return;
  Actions actions;
  scheduler_->Tick(clock_.Now(), &actions);
  Apply(std::move(actions));
  ArmTimer();
}

void Daemon::Apply(Actions actions) {
  for (const std::string& line : actions.log) LogInfo(line);
  for (const std::string& processor : actions.cancel) runner_->Cancel(processor);
  for (RunIntent& intent : actions.start) {
    Status s = runner_->Start(intent, [this](const RunIntent& i, const RunRecord& r) {
      boost::asio::post(io_, [this, i, r] { OnRunDone(i, r); });
    });
    if (!s.ok()) {
      LogLine(spdlog::level::err, LogFields{"", intent.processor, "", ""}, "cannot start run: " + s.message());
      Actions after;
      scheduler_->Finished(intent, RunStatus::kFailed, clock_.Now(), &after);
      Apply(std::move(after));
    }
  }
}

void Daemon::OnRunDone(const RunIntent& intent, const RunRecord& record) {
  if (stopping_) {
    if (runner_->InFlight() == 0) io_.stop();
    return;
  }
  if (auto p = probation_.find(intent.processor); p != probation_.end() && record.id != 0) {
    if (record.status == RunStatus::kSucceeded) {
      probation_.erase(p);  // the new version proved itself
    } else if (--p->second.remaining <= 0) {
      RollBack(intent.processor);
    }
  }
  Actions actions;
  scheduler_->Finished(intent, record.status, clock_.Now(), &actions);
  if (intent.backfill_id) backfills_->Finished(intent, record.status, clock_.Now(), &actions.log);
  Apply(std::move(actions));
  PumpBackfills();
  ArmTimer();
}

void Daemon::PumpBackfills() {
  std::vector<RunIntent> ready;
  backfills_->Pump(&ready);
  for (const RunIntent& intent : ready) {
    Actions actions;
    Status s = scheduler_->Submit(intent, &actions);
    if (!s.ok()) {
      // The processor went away in a reload: the pair fails, the backfill
      // moves on.
      LogLine(spdlog::level::warn, LogFields{"", intent.processor, "", ""}, "backfill run not started: " + s.message());
      backfills_->Finished(intent, RunStatus::kFailed, clock_.Now(), &actions.log);
    }
    Apply(std::move(actions));
  }
}

void Daemon::WaitForSignal() {
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      Reload();
      WaitForSignal();
    } else {
      Shutdown(signal);
    }
  });
}

void Daemon::Reload() {
  LogInfo("SIGHUP: reloading " + config_path_);
  std::vector<std::string> errors;
  ReloadConfig(&errors);
}

Status Daemon::ReloadConfig(std::vector<std::string>* errors) {
  NotifyReloading();
  Config next;
  Status s = LoadConfig(config_path_, *resolver_, &next, errors);
  if (!s.ok()) {
    for (const std::string& e : *errors) LogLine(spdlog::level::err, LogFields{}, e);
    LogWarn(fmt::format("reload failed with {} error(s): keeping the running config", errors->size()));
  } else {
    ApplyConfig(std::move(next));
    LogInfo(fmt::format("reloaded: {} processor(s)", config_.processors.size()));
  }
  NotifyReady(fmt::format("{} processors", config_.processors.size()));
  return s;
}

void Daemon::Shutdown(int signal) {
  stopping_ = true;
  NotifyStopping();
  control_->Stop();
  if (inotify_) inotify_->close();
  for (auto& [name, t] : debounce_) t->cancel();
  timer_.cancel();
  signals_.cancel();
  runner_->DropQueued();
  const size_t in_flight = runner_->Active().size();
  LogInfo(fmt::format("{}: stopping; {} run(s) in flight", signal == SIGINT ? "SIGINT" : "SIGTERM", in_flight));
  if (in_flight == 0) {
    io_.stop();
    return;
  }
  // Drain, then cancel, then give up: each step only if runs remain.
  auto drain = std::make_shared<boost::asio::steady_timer>(io_, kDrainGrace);
  drain->async_wait([this, drain](const boost::system::error_code&) {
    if (runner_->InFlight() == 0) return;
    LogWarn(fmt::format("drain deadline passed: cancelling {} run(s)", runner_->InFlight()));
    runner_->Cancel("");
    auto give_up = std::make_shared<boost::asio::steady_timer>(io_, kCancelGrace);
    give_up->async_wait([this, give_up](const boost::system::error_code&) { io_.stop(); });
  });
}

void Daemon::ArmWatchdog() {
  auto period = WatchdogPeriod();
  if (!period || stopping_) return;
  watchdog_.expires_after(*period);
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    NotifyWatchdog();
    ArmWatchdog();
  });
}

}  // namespace kiln

#include "host/daemon/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

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

// One kilnd per state directory: two would both resume the same backfills
// and run their partitions twice. An flock on <state_dir>/kilnd.lock, held
// for kilnd's life; the kernel drops it when kilnd dies, even by kill -9, so
// the file left behind is never stale. It holds the owner's pid, for the
// error message.
Status LockStateDir(const std::string& dir, int* fd_out) {
  const std::string path = dir + "/kilnd.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(fmt::format("state_dir {}: cannot open {}: {}", dir, path, std::strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    if (err == EWOULDBLOCK) {
      std::string owner = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("unknown");
      while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
      return Status::IOError(fmt::format("state_dir {}: in use by another kilnd (pid {})", dir, owner));
    }
    return Status::IOError(fmt::format("state_dir {}: cannot lock {}: {}", dir, path, std::strerror(err)));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is what matters; the pid is only for the message.
    LogWarn(fmt::format("state_dir {}: cannot write the pid to {}: {}", dir, path, std::strerror(errno)));
  }
  *fd_out = fd;
  return Status::OK();
}

// Runs `attempt` (a ledger step at start) until it stops failing because
// another process holds the ledger's lock: kilnd waits for the lock rather
// than exiting, and says so once. Each attempt itself waits busy_timeout.
Status WhileLocked(const std::function<Status()>& attempt) {
  Status s = attempt();
  if (!IsLockedError(s)) return s;
  LogLine(spdlog::level::err, LogFields{},
          s.message() + ": another process holds the ledger's lock; kilnd waits for it (retrying every second)");
  const auto began = std::chrono::steady_clock::now();
  while (IsLockedError(s)) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    s = attempt();
  }
  if (s.ok()) {
    LogInfo(fmt::format("ledger lock released after {:.1f} s: starting",
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()));
  }
  return s;
}

}  // namespace

// kilnd's resolver: the private plugin copies go into <state_dir>/plugins,
// so the state directory is checked (created, writable) as soon as the
// config names it, before any copy: a read-only state directory is then
// reported as itself, not as a copy that failed.
class StateDirResolver : public DirectoryPluginResolver {
 public:
  explicit StateDirResolver(Loader& loader) : DirectoryPluginResolver(loader, /*private_copies=*/true) {}
  void Prepare(const DaemonConfig& daemon) override {
    DirectoryPluginResolver::Prepare(daemon);
    state_dir_ = MakeStateDir(daemon.state_dir);
  }
  Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                 std::shared_ptr<const Plugin>* out) override {
    if (!state_dir_.ok()) return state_dir_;
    return DirectoryPluginResolver::Resolve(name, plugin_dirs, out);
  }
  // The state directory's problem, if the last config loaded had one.
  const Status& state_dir() const { return state_dir_; }

 private:
  Status state_dir_;
};

Daemon::Daemon(std::string config_path) : config_path_(std::move(config_path)) {
  resolver_ = std::make_unique<StateDirResolver>(loader_);
}

Daemon::~Daemon() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

Status Daemon::Open(std::vector<std::string>* errors) {
  Status s = LoadConfig(config_path_, *resolver_, &config_, errors);
  if (const Status& state = static_cast<StateDirResolver&>(*resolver_).state_dir(); !s.ok() && !state.ok()) {
    *errors = {state.message()};  // the cause of every plugin error after it
    return state;
  }
  if (!s.ok()) return s;
  s = InitLogging(config_.daemon.log);
  if (!s.ok()) {
    errors->push_back(config_path_ + ": " + s.message());
    return s;
  }
  auto fail = [&](const Status& failed) {
    errors->push_back(failed.message());
    if (control_) control_->Stop();  // removes the socket only if this kilnd bound it
    return failed;
  };
  // The order decides which error a refused start reports: an unwritable
  // state directory first, then a control socket another kilnd serves
  // (checked before anything in the state directory is touched), then a
  // state directory another kilnd uses through a different socket.
  s = MakeStateDir(config_.daemon.state_dir);
  if (!s.ok()) return fail(s);
  // Bound now, served once the loop runs (after ApplyConfig below).
  control_ = std::make_unique<ControlServer>(io_, config_.daemon.control_socket, std::set<uid_t>{geteuid(), 0},
                                             [this](const ControlRequest& r) { return HandleControl(r); });
  s = control_->Start();
  if (!s.ok()) return fail(s);
  s = LockStateDir(config_.daemon.state_dir, &lock_fd_);
  if (!s.ok()) return fail(s);
  const std::string ledger_path = config_.daemon.state_dir + "/ledger.db";
  s = WhileLocked([&] { return Ledger::Open(ledger_path, LedgerOptions(), &ledger_); });
  if (!s.ok()) return fail(s);
  scheduler_ = std::make_unique<Scheduler>(ledger_.get());
  runner_ = std::make_unique<Runner>(ledger_.get(), &clock_, config_.daemon.workers);
  backfills_ = std::make_unique<BackfillManager>(ledger_.get(), config_.daemon.workers);
  ApplyConfig(std::move(config_));  // the same path a reload or a swap takes
  return Status::OK();
}

int Daemon::Run() {
  std::vector<RunRecord> abandoned;
  Status s = WhileLocked([&] {
    abandoned.clear();
    return ledger_->MarkAbandoned(ToUnixMillis(clock_.Now()), &abandoned);
  });
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
  std::vector<std::string> log;
  const int unrecorded = backfills_->RetryUnrecorded(&log);
  for (const std::string& line : log) LogInfo(line);
  if (unrecorded > 0 && !stopping_) {
    backfill_retry_.expires_after(std::chrono::seconds(1));
    backfill_retry_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !stopping_) PumpBackfills();
    });
  }
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

// The resolver hands a reload the plugins it already loaded, whatever the
// disk now holds; a reload must still fail where a fresh start would, so
// each plugin's file must be in a plugin_dir (one removed while kilnd runs
// is the usual cause). The loaded versions keep running either way.
Status Daemon::CheckPluginFiles(const Config& next, std::vector<std::string>* errors) {
  std::set<std::string> reported;
  for (const ProcessorConfig& p : next.processors) {
    bool found = false;
    for (const std::string& dir : next.daemon.plugin_dirs) {
      std::error_code ec;
      if (std::filesystem::exists(std::filesystem::path(dir) / (p.plugin + ".so"), ec)) found = true;
    }
    if (found || !reported.insert(p.plugin).second) continue;
    std::vector<std::string> missing;
    for (const std::string& dir : next.daemon.plugin_dirs) {
      std::error_code ec;
      if (!std::filesystem::is_directory(dir, ec)) missing.push_back(dir);
    }
    errors->push_back(fmt::format("{}:{}:{}: plugin '{}' not found in plugin_dirs ({}){}", config_path_, p.where.line,
                                  p.where.column, p.plugin, fmt::join(next.daemon.plugin_dirs, ", "),
                                  missing.empty() ? "" : fmt::format(" (missing: {})", fmt::join(missing, ", "))));
  }
  if (errors->empty()) return Status::OK();
  return Status::NotFound(errors->front());
}

Status Daemon::ReloadConfig(std::vector<std::string>* errors) {
  NotifyReloading();
  Config next;
  Status s = LoadConfig(config_path_, *resolver_, &next, errors);
  if (s.ok()) s = CheckPluginFiles(next, errors);
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
  if (dir_poll_) dir_poll_->cancel();
  for (auto& [name, t] : debounce_) t->cancel();
  timer_.cancel();
  signals_.cancel();
  runner_->DropQueued();
  // Every run submitted and not yet reported, not only those Active() lists:
  // a run whose start the ledger has just recorded may not be listed yet,
  // and stopping the loop now would abandon it.
  const size_t in_flight = runner_->InFlight();
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

// Hot swap: replacing a plugin in a running kilnd.
//
// A new file for plugin X (seen by inotify in plugin_dirs, once its size and
// mtime are stable, or asked for with `kilnctl reload X`) is copied into the
// state directory under a name derived from its contents and loaded from
// there, passing every load-time check. The whole config is then validated
// again against the new plugin's option schema, and each processor using X
// configures and initialises it once, as a trial, in a worker. Only then does
// it serve: new runs use it; runs in flight finish on the version they began
// with; the old image is unloaded (and its copy deleted) when its last run
// and worker are gone. If any step fails, the old version keeps serving and
// the failure is in the log and in `kilnctl plugins --history`. With
// rollback_after_failures = N, a version whose first N runs of a processor
// all fail is replaced by the previous one, by itself.
#include <sys/inotify.h>
#include <sys/stat.h>

#include <filesystem>

#include <fmt/format.h>

#include "host/base/log.h"
#include "host/daemon/daemon.h"
#include "host/worker/worker_instance.h"

namespace kiln {
namespace {

constexpr auto kDebounce = std::chrono::milliseconds(150);

const std::shared_ptr<const Plugin>* PluginOf(const Config& config, const std::string& name) {
  for (const ProcessorConfig& p : config.processors) {
    if (p.plugin == name) return &p.loaded;
  }
  return nullptr;
}

}  // namespace

void Daemon::Remember(const std::shared_ptr<const Plugin>& plugin, const std::string& source, std::string fixed_state,
                      std::string note) {
  for (PluginVersion& v : history_) {
    if (v.plugin.lock() == plugin && fixed_state.empty()) return;  // already known
  }
  PluginVersion v;
  v.name = plugin->name();
  v.version = plugin->info().version;
  v.hash = plugin->file_hash();
  v.source = source;
  v.loaded_ms = ToUnixMillis(clock_.Now());
  v.plugin = plugin;
  v.fixed_state = std::move(fixed_state);
  v.note = std::move(note);
  history_.push_back(std::move(v));
  // Bounded: a daemon swapped a thousand times keeps the last kHistory
  // versions of each plugin, not all of them.
  constexpr size_t kHistory = 50;
  size_t same = 0;
  for (const PluginVersion& h : history_) same += h.name == history_.back().name;
  for (auto it = history_.begin(); same > kHistory && it != history_.end();) {
    if (it->name == history_.back().name && VersionState(*it) == "retired") {
      it = history_.erase(it);
      --same;
    } else {
      ++it;
    }
  }
}

std::string Daemon::VersionState(const PluginVersion& v) const {
  if (!v.fixed_state.empty()) return v.fixed_state;
  std::shared_ptr<const Plugin> p = v.plugin.lock();
  if (!p) return "retired";
  const auto* current = PluginOf(config_, v.name);
  return current && *current == p ? "serving" : "draining";
}

void Daemon::ApplyConfig(Config next) {
  config_ = std::move(next);
  scheduler_->Configure(config_, clock_.Now());
  runner_->Configure(config_);
  backfills_->Configure(config_, config_.daemon.workers);
  for (const ProcessorConfig& p : config_.processors) Remember(p.loaded, p.plugin_path, "", "");
  ArmTimer();
}

Status Daemon::TrialRun(const ProcessorConfig& p) {
  std::vector<PhaseResult> phases;
  if (p.isolation == Isolation::kProcess) {
    WorkerLimits limits;
    limits.worker_path = DefaultWorkerPath();
    std::unique_ptr<WorkerInstance> worker;
    return WorkerInstance::Spawn(p, limits, &worker, &phases);  // destroyed at once: teardown
  }
  std::unique_ptr<Instance> instance;
  return Instance::Open(p.loaded, p.name, p.options, &instance, &phases);
}

Status Daemon::SwapPlugin(const std::string& name, std::string* outcome) {
  const std::shared_ptr<const Plugin>* current = PluginOf(config_, name);
  if (current == nullptr) {
    return Status::NotFound(fmt::format("plugin '{}' is not used by any processor", name));
  }
  const std::shared_ptr<const Plugin> previous = *current;
  const auto started = std::chrono::steady_clock::now();
  resolver_->Forget(name);
  Config next;
  std::vector<std::string> errors;
  Status s = LoadConfig(config_path_, *resolver_, &next, &errors);
  auto refuse = [&](const std::string& why, const std::shared_ptr<const Plugin>& candidate) {
    resolver_->Pin(name, previous);
    if (candidate && candidate != previous) Remember(candidate, "", "rejected", why);
    LogLine(spdlog::level::err, LogFields{name, "", "", ""},
            fmt::format("swap of plugin '{}' refused, version {} keeps serving: {}", name, previous->info().version, why));
    return Status::Failed(fmt::format("plugin '{}': new version refused: {}", name, why));
  };
  if (!s.ok()) return refuse(errors.empty() ? s.message() : errors.front(), nullptr);
  const std::shared_ptr<const Plugin> candidate = *PluginOf(next, name);
  if (candidate->file_hash() == previous->file_hash()) {
    resolver_->Pin(name, previous);
    *outcome = fmt::format("plugin '{}' unchanged (sha256 {})", name, previous->file_hash().substr(0, 12));
    return Status::OK();
  }
  for (const ProcessorConfig& p : next.processors) {
    if (p.plugin != name) continue;
    Status trial = TrialRun(p);
    if (!trial.ok()) return refuse(fmt::format("trial configure/init of processor '{}' failed: {}", p.name, trial.message()), candidate);
  }
  for (const ProcessorConfig& p : next.processors) {
    if (p.plugin == name && p.rollback_after_failures > 0) {
      probation_[p.name] = Probation{name, previous, p.rollback_after_failures};
    }
  }
  ApplyConfig(std::move(next));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  *outcome = fmt::format("plugin '{}' swapped: {} ({}) -> {} ({}) in {:.1f} ms", name, previous->info().version,
                         previous->file_hash().substr(0, 12), candidate->info().version,
                         candidate->file_hash().substr(0, 12), ms);
  LogLine(spdlog::level::info, LogFields{name, "", "", ""}, *outcome);
  return Status::OK();
}

void Daemon::RollBack(const std::string& processor) {
  auto it = probation_.find(processor);
  if (it == probation_.end()) return;
  const Probation probation = it->second;
  // Every processor of that plugin goes back together.
  std::erase_if(probation_, [&](const auto& kv) { return kv.second.plugin == probation.plugin; });
  const std::shared_ptr<const Plugin>* current = PluginOf(config_, probation.plugin);
  if (current == nullptr) return;
  const std::shared_ptr<const Plugin> failed = *current;
  resolver_->Pin(probation.plugin, probation.previous);
  Config next;
  std::vector<std::string> errors;
  if (!LoadConfig(config_path_, *resolver_, &next, &errors).ok()) {
    LogLine(spdlog::level::err, LogFields{probation.plugin, processor, "", ""},
            "cannot roll back: the config no longer loads: " + (errors.empty() ? std::string() : errors.front()));
    resolver_->Pin(probation.plugin, failed);
    return;
  }
  for (PluginVersion& v : history_) {
    if (v.plugin.lock() == failed) {
      v.fixed_state = "rolled back";
      v.note = fmt::format("its first runs of '{}' failed", processor);
    }
  }
  ApplyConfig(std::move(next));
  LogLine(spdlog::level::warn, LogFields{probation.plugin, processor, "", ""},
          fmt::format("plugin '{}' version {} failed its first runs of '{}': rolled back to version {}", probation.plugin,
                      failed->info().version, processor, probation.previous->info().version));
}

void Daemon::WatchPluginDirs() {
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    LogLine(spdlog::level::warn, LogFields{}, "inotify unavailable: plugin files are not watched (use kilnctl reload)");
    return;
  }
  for (const std::string& dir : config_.daemon.plugin_dirs) {
    if (!WatchPluginDir(dir)) {
      LogLine(spdlog::level::warn, LogFields{},
              fmt::format("cannot watch plugin_dir {}: {}; watching for it to appear", dir, std::strerror(errno)));
      missing_dirs_.insert(dir);
    }
  }
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, inotify_fd_);
  ReadPluginEvents();
  PollMissingDirs();
}

bool Daemon::WatchPluginDir(const std::string& dir) {
  // A file written in place ends with CLOSE_WRITE; one renamed in, MOVED_TO.
  // The directory itself going away (rm -rf, mv) ends the watch.
  const int wd = inotify_add_watch(inotify_fd_, dir.c_str(),
                                   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF |
                                       IN_ONLYDIR);
  if (wd < 0) return false;
  watched_dirs_[wd] = dir;
  return true;
}

void Daemon::OnPluginDirGone(int wd, bool moved) {
  auto it = watched_dirs_.find(wd);
  if (it == watched_dirs_.end()) return;
  const std::string dir = it->second;
  watched_dirs_.erase(it);
  // A moved directory keeps its watch (it follows the inode): drop it, the
  // path is what the config names.
  if (moved) inotify_rm_watch(inotify_fd_, wd);
  missing_dirs_.insert(dir);
  LogLine(spdlog::level::warn, LogFields{},
          fmt::format("plugin_dir {} was {}: loaded plugins keep running; watching for it to come back", dir,
                      moved ? "moved away" : "removed"));
  PollMissingDirs();
}

void Daemon::PollMissingDirs() {
  if (missing_dirs_.empty() || stopping_) return;
  if (!dir_poll_) dir_poll_ = std::make_unique<boost::asio::steady_timer>(io_);
  // Polled, not watched: the parent may be gone too. Once a second costs
  // nothing while every directory is there (the timer is then idle).
  dir_poll_->expires_after(std::chrono::seconds(1));
  dir_poll_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    for (auto it = missing_dirs_.begin(); it != missing_dirs_.end();) {
      const std::string dir = *it;
      struct stat st;
      if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !WatchPluginDir(dir)) {
        ++it;
        continue;
      }
      it = missing_dirs_.erase(it);
      LogLine(spdlog::level::info, LogFields{}, fmt::format("plugin_dir {} is back: watching it again", dir));
      // Files copied in before the watch was armed: look at each plugin of
      // the config the directory has (an identical file changes nothing).
      for (const ProcessorConfig& p : config_.processors) {
        if (!std::filesystem::exists(std::filesystem::path(dir) / (p.plugin + ".so"))) continue;
        auto& timer = debounce_[p.plugin];
        if (!timer) timer = std::make_shared<boost::asio::steady_timer>(io_);
        timer->expires_after(kDebounce);
        timer->async_wait([this, name = p.plugin](const boost::system::error_code& wait_ec) {
          if (!wait_ec) OnPluginFileChanged(name);
        });
      }
    }
    PollMissingDirs();
  });
}

void Daemon::ReadPluginEvents() {
  inotify_->async_read_some(boost::asio::buffer(event_buffer_), [this](const boost::system::error_code& ec, size_t n) {
    if (ec || stopping_) return;
    for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(event_buffer_.data() + off);
      off += sizeof(inotify_event) + e->len;
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        // IN_IGNORED alone: the watch ended some other way (unmounted).
        OnPluginDirGone(e->wd, (e->mask & IN_MOVE_SELF) != 0);
        continue;
      }
      if (e->len == 0) continue;
      const std::string file = e->name;
      if (file.size() <= 3 || file.compare(file.size() - 3, 3, ".so") != 0) continue;
      const std::string name = file.substr(0, file.size() - 3);
      if (PluginOf(config_, name) == nullptr) continue;
      // A file renamed into place is whole at once (write-then-rename):
      // swap now. One written in place fires many events while it is being
      // copied: wait until it settles.
      const bool renamed = (e->mask & IN_MOVED_TO) != 0;
      auto& timer = debounce_[name];
      if (!timer) timer = std::make_shared<boost::asio::steady_timer>(io_);
      timer->expires_after(renamed ? std::chrono::milliseconds(0) : kDebounce);
      timer->async_wait([this, name, renamed](const boost::system::error_code& wait_ec) {
        if (wait_ec) return;
        if (renamed) {
          std::string outcome;
          SwapPlugin(name, &outcome);  // logs both outcomes
        } else {
          OnPluginFileChanged(name);
        }
      });
    }
    ReadPluginEvents();
  });
}

void Daemon::OnPluginFileChanged(const std::string& name) {
  if (stopping_) return;
  // Size and mtime must hold still across one debounce period: a file still
  // being copied in place is not loaded half-written.
  std::optional<std::pair<uintmax_t, int64_t>> now;
  for (const std::string& dir : config_.daemon.plugin_dirs) {
    struct stat st;
    if (stat((dir + "/" + name + ".so").c_str(), &st) == 0) {
      now = {static_cast<uintmax_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
      break;
    }
  }
  if (!now) return;
  if (!debounce_[name]) debounce_[name] = std::make_shared<boost::asio::steady_timer>(io_);
  auto seen = last_seen_.find(name);
  if (seen == last_seen_.end() || seen->second != *now) {
    last_seen_[name] = *now;
    debounce_[name]->expires_after(kDebounce);
    debounce_[name]->async_wait([this, name](const boost::system::error_code& ec) {
      if (!ec) OnPluginFileChanged(name);
    });
    return;
  }
  std::string outcome;
  Status s = SwapPlugin(name, &outcome);
  (void)s;  // SwapPlugin logs both outcomes
}

}  // namespace kiln

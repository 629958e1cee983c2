// kilnd: the event loop that ties config, scheduler, runner and ledger
// together.
//
// One thread runs a Boost.Asio io_context: it owns the scheduler, the wake-up
// timer and the signal handlers, so scheduling decisions need no locks. Runs
// execute on the runner's worker threads and report back by posting to the
// loop. The loop sleeps until the next fire time or event: an idle daemon
// uses no CPU.
#ifndef KILN_HOST_DAEMON_DAEMON_H_
#define KILN_HOST_DAEMON_DAEMON_H_

#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "host/backfill/backfill_manager.h"
#include "host/config/config.h"
#include "host/control/control_server.h"
#include "host/ledger/ledger.h"
#include "host/loader/loader.h"
#include "host/runner/runner.h"
#include "host/scheduler/clock.h"
#include "host/scheduler/scheduler.h"

namespace kiln {

class Daemon {
 public:
  explicit Daemon(std::string config_path);
  ~Daemon();

  // Loads the config, opens the state directory and the ledger, and
  // recovers from the last run of kilnd. Errors are one line each in
  // *errors; nothing has started when this fails.
  Status Open(std::vector<std::string>* errors);

  // Runs until SIGTERM or SIGINT, then drains and returns. 0 on a clean stop.
  int Run();

 private:
  void ArmTimer();
  void OnTimer();
  void Apply(Actions actions);
  void OnRunDone(const RunIntent& intent, const RunRecord& record);
  void WaitForSignal();
  void Reload();
  void Shutdown(int signal);
  void ArmWatchdog();
  // Starts the runs backfills have ready, and writes again the final state
  // of finished backfills the ledger refused (every second until it lands).
  void PumpBackfills();
  // For a reload: every plugin of `next` has its file in a plugin_dir.
  Status CheckPluginFiles(const Config& next, std::vector<std::string>* errors);
  // Reloads the config; errors (one per line) in *errors on failure.
  Status ReloadConfig(std::vector<std::string>* errors);

  // Hot swap (daemon_swap.cc): a new build of a plugin replaces the one in
  // use without a restart, after passing every load-time check and a
  // configure/init trial with each processor's options.
  Status SwapPlugin(const std::string& name, std::string* outcome);
  void RollBack(const std::string& processor);
  void WatchPluginDirs();
  // Adds an inotify watch on one plugin_dir; false (errno set) if it cannot.
  bool WatchPluginDir(const std::string& dir);
  // A watched plugin_dir was removed or moved away: say so, poll for it.
  void OnPluginDirGone(int wd, bool moved);
  // Once a second while a plugin_dir is missing: re-arm its watch when it is
  // back, and look at the plugin files already in it.
  void PollMissingDirs();
  void ReadPluginEvents();
  void OnPluginFileChanged(const std::string& name);
  Status TrialRun(const ProcessorConfig& p);
  void ApplyConfig(Config next);

  // The control socket's requests (daemon_control.cc), on the loop thread.
  ControlReply HandleControl(const ControlRequest& request);
  ControlReply StatusRequest(const nlohmann::json& params);
  ControlReply Plugins(const nlohmann::json& params);
  ControlReply Runs(const nlohmann::json& params);
  ControlReply Show(const nlohmann::json& params);
  ControlReply Trigger(const nlohmann::json& params);
  ControlReply Cancel(const nlohmann::json& params);
  ControlReply ReloadRequest(const nlohmann::json& params);
  ControlReply Logs(const nlohmann::json& params);
  ControlReply BackfillStart(const nlohmann::json& params);
  ControlReply BackfillStatus(const nlohmann::json& params);
  ControlReply BackfillList(const nlohmann::json& params);
  ControlReply BackfillCancel(const nlohmann::json& params);

  // First, so it is destroyed last: everything below may hold handlers,
  // descriptors or timers registered with it.
  boost::asio::io_context io_;
  const std::string config_path_;
  SystemClock clock_;
  Loader loader_;
  std::unique_ptr<DirectoryPluginResolver> resolver_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<BackfillManager> backfills_;
  std::unique_ptr<ControlServer> control_;
  SysMillis started_at_;

  // Every version of every plugin this kilnd has seen, oldest first.
  struct PluginVersion {
    std::string name, version, hash, source;
    int64_t loaded_ms = 0;
    std::weak_ptr<const Plugin> plugin;
    std::string fixed_state;  // "rejected" or "rolled back"; else computed
    std::string note;
  };
  std::vector<PluginVersion> history_;
  void Remember(const std::shared_ptr<const Plugin>& plugin, const std::string& source, std::string fixed_state,
                std::string note);
  std::string VersionState(const PluginVersion& v) const;
  // Processors on probation after a swap: the previous plugin, and how many
  // of the first runs may still fail before kilnd rolls back.
  struct Probation {
    std::string plugin;
    std::shared_ptr<const Plugin> previous;
    int remaining = 0;
  };
  std::map<std::string, Probation> probation_;
  int inotify_fd_ = -1;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  std::map<int, std::string> watched_dirs_;  // inotify watch descriptor -> directory
  std::set<std::string> missing_dirs_;       // plugin_dirs not there (not watched)
  std::unique_ptr<boost::asio::steady_timer> dir_poll_;
  std::map<std::string, std::shared_ptr<boost::asio::steady_timer>> debounce_;
  std::map<std::string, std::pair<uintmax_t, int64_t>> last_seen_;  // plugin -> (size, mtime)
  std::array<char, 8192> event_buffer_;

  boost::asio::system_timer timer_{io_};
  boost::asio::signal_set signals_{io_};
  boost::asio::steady_timer watchdog_{io_};
  boost::asio::steady_timer backfill_retry_{io_};
  bool stopping_ = false;
  int exit_code_ = 0;
  int lock_fd_ = -1;  // <state_dir>/kilnd.lock, flocked for kilnd's life
};

}  // namespace kiln

#endif  // KILN_HOST_DAEMON_DAEMON_H_

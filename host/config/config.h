// kilnd's configuration: one TOML file, read and validated in one pass.
//
//   [daemon]
//   plugin_dirs = ["../build/plugins"]   # relative paths resolve against the
//   state_dir = "../state"               # directory of the config file
//   workers = 4                          # 1..256, default 2
//   log_level = "info"                   # trace|debug|info|warn|error|off
//   log_format = "text"                  # text|json
//   log_file = ""                        # optional rotating log file
//   control_socket = "../state/run/kilnd.sock"
//   unchecked_plugin_dirs = []           # plugin_dirs exempt from the trust check
//
//   [plugin.rolling_average]             # per plugin, optional
//   sha256 = "9f86d0..."                 # refuse the file unless it hashes to this
//
//   [[processor]]
//   name = "player_cache"                # [a-z][a-z0-9_]{0,63}, unique
//   plugin = "rolling_average"           # <plugin>.so, first plugin_dir wins
//   schedule = "0 6 * * *"               # cron, or every = "15m", or neither
//   timezone = "America/New_York"        # IANA, default "UTC"
//   options = { input = "data/games.csv", window = 5 }
//   depends_on = ["other_processor"]
//   timeout = "30m"                      # default: none
//   retries = 2                          # 0..100, default 0
//   retry_backoff = "30s"                # default 30s
//   concurrency = "forbid"               # forbid|allow|replace
//   catchup = "latest"                   # none|latest|all
//   catchup_cap = 100                    # 1..10000
//   isolation = "process"                # process (default) | inprocess
//   memory_limit = "512MiB"              # worker address space; process only
//   max_runs_per_worker = 1000           # replace a worker after N runs
//   user = "kiln"                        # run the worker as (kilnd as root)
//   group = "kiln"
//   rollback_after_failures = 3          # hot swap: go back if the first N runs fail
//   enabled = true
//
// Everything a user can get wrong is found before kilnd starts anything: TOML
// syntax, unknown keys (with "did you mean"), wrong types, ranges, cron
// expressions, durations, time zones, plugins that do not exist or fail to
// load, options that do not fit the plugin's schema, dependencies on unknown
// processors, dependency cycles and dependencies between a partitioned and an
// unpartitioned processor. Every problem is reported, not just the first, as
// one line "file:line:col: message" in file order, so a user fixes a config
// in one edit instead of one restart per mistake.
#ifndef KILN_HOST_CONFIG_CONFIG_H_
#define KILN_HOST_CONFIG_CONFIG_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/tz.h>

#include "host/base/log.h"
#include "host/base/status.h"
#include "host/calendar/cron.h"
#include "host/config/plugin_resolver.h"
#include "host/loader/plugin.h"
#include "host/run/option_values.h"

namespace kiln {

// What happens when a run is due while the previous one is still running.
enum class Concurrency {
  kForbid,   // skip the new run
  kAllow,    // run both
  kReplace,  // cancel the old run, start the new one
};

// What happens to fire times missed while kilnd was down.
enum class Catchup {
  kNone,    // forget them
  kLatest,  // run the most recent one
  kAll,     // run each of them, up to catchup_cap
};

// Where a processor's plugin code runs.
enum class Isolation {
  kProcess,    // in a kiln-worker process: a crash, hang or leak is contained
  kInProcess,  // in kilnd itself: fastest, for trusted plugins only
};

// "forbid", "latest", ...: the spelling used in the config file.
const char* ConcurrencyName(Concurrency c);
const char* CatchupName(Catchup c);

// Where something was written; line and column are 1-based.
struct SourceLocation {
  std::string file;  // the config path as given to LoadConfig
  int line = 0;
  int column = 0;
};

struct ProcessorConfig {
  std::string name;
  std::string plugin;       // the plugin name as configured
  std::string plugin_path;  // the file it was loaded from
  // The loaded, verified plugin the options were checked against. Holding it
  // keeps that exact image mapped for as long as this config is in use.
  std::shared_ptr<const Plugin> loaded;

  // At most one of schedule and every is set; neither means the processor
  // only runs when asked (manually or by a backfill).
  std::optional<CronSchedule> schedule;
  std::optional<std::chrono::milliseconds> every;
  std::string timezone = "UTC";
  const date::time_zone* zone = nullptr;  // never null after LoadConfig

  BoundOptions options;  // bound to the plugin's schema, defaults filled in
  std::vector<std::string> depends_on;  // names of processors, no repeats

  std::optional<std::chrono::milliseconds> timeout;  // none: no limit
  int retries = 0;
  std::chrono::milliseconds retry_backoff{30000};
  Concurrency concurrency = Concurrency::kForbid;
  Catchup catchup = Catchup::kLatest;
  int catchup_cap = 100;  // most runs that catchup = "all" creates
  bool enabled = true;
  Isolation isolation = Isolation::kProcess;
  std::optional<int64_t> memory_limit;  // bytes of address space for the worker (RLIMIT_AS)
  int max_runs_per_worker = 1000;       // a worker is replaced after this many runs
  int rollback_after_failures = 0;      // after a hot swap: roll back if the first N runs fail (0: never)
  std::string user, group;              // run the worker as (kilnd must be root)
  bool partitioned = false;  // the plugin runs per date
  SourceLocation where;      // the [[processor]] header
};

struct DaemonConfig {
  std::vector<std::string> plugin_dirs;  // absolute; searched in order
  // Entries of plugin_dirs whose files skip the ownership and permission
  // check (host/loader/trust.h): the operator vouches for them.
  std::vector<std::string> unchecked_plugin_dirs;
  // [plugin.NAME] sha256 = "...": a plugin file whose contents hash to
  // anything else is refused. Lowercase hex.
  std::map<std::string, std::string, std::less<>> plugin_sha256;
  std::string state_dir;                 // absolute
  int workers = 2;
  LogOptions log;                        // log.file absolute when set
  std::string control_socket;            // absolute
};

struct Config {
  std::string path;  // as given to LoadConfig
  DaemonConfig daemon;
  // In dependency order: every processor comes after all it depends on, and
  // otherwise in file order.
  std::vector<ProcessorConfig> processors;

  // The processor called `name`, or nullptr.
  const ProcessorConfig* Find(std::string_view name) const;
  // The names of the processors that depend directly on `name`, in
  // dependency order.
  std::vector<std::string> Dependents(std::string_view name) const;
};

// Reads, checks and resolves the config at `path`, loading each plugin it
// names through `resolver`.
//
// On success *out is replaced. On failure *out is untouched (a config that
// fails never half-applies), *errors (when given) holds every problem found,
// one line each, "path:line:col: message", sorted in file order, and the
// Status is InvalidArgument carrying the first line, followed by
// " (and N more errors)" when there are more. A file that cannot be read is
// reported the same way with IOError; a TOML syntax error is a single error,
// since nothing after it can be read reliably.
Status LoadConfig(const std::string& path, PluginResolver& resolver, Config* out,
                  std::vector<std::string>* errors = nullptr);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_CONFIG_H_

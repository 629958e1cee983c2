// kilnctl's subcommands. Each one registers itself on the CLI11 app and
// returns the process exit code: 0 success, 1 the operation failed (a plugin
// refused, a run failed), 2 bad usage or bad input.
#ifndef KILN_TOOLS_KILNCTL_COMMANDS_H_
#define KILN_TOOLS_KILNCTL_COMMANDS_H_

#include <functional>

#include <CLI/CLI.hpp>

namespace kiln::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// A subcommand and its action, run after parsing succeeded.
struct Command {
  CLI::App* app;
  std::function<int()> action;
};

Command AddVerify(CLI::App& app);
Command AddRun(CLI::App& app);
Command AddCalendar(CLI::App& app);
Command AddNewPlugin(CLI::App& app);  // scaffolds a plugin project (new_plugin.cc)

// Commands that talk to a running kilnd over its control socket
// (docs/control.md).
Command AddStatus(CLI::App& app);
Command AddPlugins(CLI::App& app);
Command AddRuns(CLI::App& app);
Command AddShow(CLI::App& app);
Command AddTrigger(CLI::App& app);
Command AddCancel(CLI::App& app);
Command AddReloadConfig(CLI::App& app);
Command AddReload(CLI::App& app);  // hot swap one plugin
Command AddLogs(CLI::App& app);
Command AddBackfill(CLI::App& app);

}  // namespace kiln::ctl

#endif  // KILN_TOOLS_KILNCTL_COMMANDS_H_

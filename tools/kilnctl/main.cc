// kilnctl: runs, verifies and inspects Kiln processors.
#include <cstdio>
#include <vector>

#include "tools/kilnctl/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"kilnctl: run, verify and inspect Kiln processors, and control kilnd"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "kilnctl 1.0.0 (plugin ABI 1.0)");

  const std::vector<kiln::ctl::Command> commands = {
      kiln::ctl::AddVerify(app),
      kiln::ctl::AddRun(app),
      kiln::ctl::AddCalendar(app),
      kiln::ctl::AddNewPlugin(app),
      kiln::ctl::AddStatus(app),
      kiln::ctl::AddPlugins(app),
      kiln::ctl::AddRuns(app),
      kiln::ctl::AddShow(app),
      kiln::ctl::AddTrigger(app),
      kiln::ctl::AddCancel(app),
      kiln::ctl::AddReloadConfig(app),
      kiln::ctl::AddReload(app),
      kiln::ctl::AddLogs(app),
      kiln::ctl::AddBackfill(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kilnctl: %s\n", e.what());
    return kiln::ctl::kExitUsage;
  }
  for (const kiln::ctl::Command& c : commands) {
    if (c.app->parsed()) return c.action();
  }
  return kiln::ctl::kExitUsage;
}

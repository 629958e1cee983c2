// kilnd: the Kiln daemon.
//
//   kilnd [--config FILE]          run (default: config/kiln.toml)
//   kilnd --check-config [--config FILE]
//                                  validate everything, print every error, exit
//
// Exit codes: 0 clean stop or valid config; 1 invalid config or a failure
// at start; 2 bad command line.
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "host/config/config.h"
#include "host/daemon/daemon.h"
#include "host/loader/loader.h"

int main(int argc, char** argv) {
  // A client or worker that hangs up is an error on that socket, not a
  // reason for the daemon to die.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"kilnd: the Kiln daemon"};
  std::string config = "config/kiln.toml";
  bool check = false;
  app.add_option("--config,-c", config, "Config file")->capture_default_str();
  app.add_flag("--check-config,-t", check, "Validate the config, load its plugins, and exit");
  app.set_version_flag("--version", "kilnd 1.0.0 (plugin ABI 1.0)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kilnd: %s\n", e.what());
    return 2;
  }

  if (check) {
    kiln::Loader loader;
    kiln::DirectoryPluginResolver resolver(loader);
    kiln::Config parsed;
    std::vector<std::string> errors;
    kiln::Status s = kiln::LoadConfig(config, resolver, &parsed, &errors);
    if (!s.ok()) {
      for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
      if (errors.empty()) std::fprintf(stderr, "%s\n", s.message().c_str());
      std::fprintf(stderr, "kilnd: %s: %zu error(s)\n", config.c_str(), std::max<size_t>(errors.size(), 1));
      return 1;
    }
    std::printf("kilnd: %s: ok, %zu processor(s)\n", config.c_str(), parsed.processors.size());
    return 0;
  }

  kiln::Daemon daemon(config);
  std::vector<std::string> errors;
  kiln::Status s = daemon.Open(&errors);
  if (!s.ok()) {
    for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (errors.empty()) std::fprintf(stderr, "kilnd: %s\n", s.message().c_str());
    // Leave without unwinding: the loaded config owns the private plugin
    // copies in <state_dir>/plugins and deletes them when destroyed, and a
    // kilnd refused because another one serves that state directory must
    // not delete the files the other one runs.
    std::fflush(nullptr);
    std::_Exit(1);
  }
  return daemon.Run();
}

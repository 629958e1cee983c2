// kilnctl trigger PROCESSOR [--date D]: run a processor now.
// kilnctl cancel RUN: cancel a run in flight.
// kilnctl reload-config: make kilnd re-read its config.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "host/base/date.h"
#include "tools/kilnctl/commands.h"
#include "tools/kilnctl/control_client.h"
#include "tools/kilnctl/format.h"

namespace kiln::ctl {
namespace {

struct TriggerArgs {
  ClientOptions c;
  std::string processor;
  std::string date;
};

int ExecuteTrigger(const TriggerArgs& a) {
  Json params{{"processor", a.processor}};
  if (!a.date.empty()) {
    Day d;
    Status s = ParseDay(a.date, &d);
    if (!s.ok()) {
      std::fprintf(stderr, "kilnctl trigger: --date: %s\n", s.message().c_str());
      return kExitUsage;
    }
    params["date"] = a.date;
  }
  Json result;
  if (int rc = CallOnce(a.c, "trigger", params, &result); rc != kExitOk) return rc;
  if (a.c.json) {
    PrintJson(result);
  } else {
    const std::string partition = Text(result, "partition", "");
    std::printf("triggered %s%s: %s\n", Text(result, "processor", a.processor).c_str(),
                partition.empty() ? "" : (" for " + partition).c_str(), Text(result, "state").c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddTrigger(CLI::App& app) {
  auto* cmd = app.add_subcommand("trigger", "Run a processor now (a manual run)");
  auto a = std::make_shared<TriggerArgs>();
  cmd->add_option("processor", a->processor, "Processor name")->required();
  cmd->add_option("--date", a->date, "Partition date YYYY-MM-DD (required for a partitioned processor)");
  AddClientOptions(cmd, &a->c);
  return {cmd, [a] { return ExecuteTrigger(*a); }};
}

Command AddCancel(CLI::App& app) {
  auto* cmd = app.add_subcommand("cancel", "Cancel a run in flight");
  auto o = std::make_shared<ClientOptions>();
  auto run = std::make_shared<int64_t>(0);
  cmd->add_option("run", *run, "Run id")->required();
  AddClientOptions(cmd, o.get());
  return {cmd, [o, run] {
            Json result;
            if (int rc = CallOnce(*o, "cancel", Json{{"run", *run}}, &result); rc != kExitOk) return rc;
            if (o->json) PrintJson(result);
            else std::printf("cancelled run %s\n", Text(result, "run", std::to_string(*run)).c_str());
            return kExitOk;
          }};
}

Command AddReloadConfig(CLI::App& app) {
  auto* cmd = app.add_subcommand("reload-config", "Make kilnd re-read its config (refused: the old one keeps running)");
  auto o = std::make_shared<ClientOptions>();
  AddClientOptions(cmd, o.get());
  return {cmd, [o] {
            Json result;
            if (int rc = CallOnce(*o, "reload", Json::object(), &result); rc != kExitOk) return rc;
            if (o->json) {
              PrintJson(result);
            } else {
              const int64_t n = Int(result, "processors");
              std::printf("reloaded config: %lld processor%s\n", static_cast<long long>(n), n == 1 ? "" : "s");
            }
            return kExitOk;
          }};
}

// kilnctl reload PLUGIN: load a new build of one plugin into the running
// kilnd (hot swap), as its file watcher would.
Command AddReload(CLI::App& app) {
  auto* cmd = app.add_subcommand("reload", "Swap in the current file of one plugin (checked and tried first)");
  auto o = std::make_shared<ClientOptions>();
  auto plugin = std::make_shared<std::string>();
  cmd->add_option("plugin", *plugin, "Plugin name")->required();
  AddClientOptions(cmd, o.get());
  return {cmd, [o, plugin] {
            Json result;
            if (int rc = CallOnce(*o, "reload", Json::object({{"plugin", *plugin}}), &result); rc != kExitOk) return rc;
            if (o->json) PrintJson(result);
            else std::printf("%s\n", Text(result, "outcome").c_str());
            return kExitOk;
          }};
}

}  // namespace kiln::ctl

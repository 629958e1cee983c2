// kilnctl status: what kilnd is doing now.
// kilnctl plugins: the plugins kilnd loaded, with their options.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "tools/kilnctl/commands.h"
#include "tools/kilnctl/control_client.h"
#include "tools/kilnctl/format.h"

namespace kiln::ctl {
namespace {

std::string LastRun(const Json& p) {
  if (!p.contains("last_run") || !p["last_run"].is_object()) return "never";
  const Json& r = p["last_run"];
  std::string text = Text(r, "status");
  if (r.contains("partition") && r["partition"].is_string()) text += " " + r["partition"].get<std::string>();
  return text + fmt::format(" (run {})", Text(r, "id"));
}

std::string Progress(const Json& r) {
  const int64_t total = Int(r, "total");
  if (total <= 0) return Int(r, "done") > 0 ? Text(r, "done") : "-";
  return fmt::format("{}/{}", Int(r, "done"), total);
}

void PrintStatus(const Json& s) {
  std::string head = fmt::format("kilnd {} (pid {})", Text(s, "version"), Text(s, "pid"));
  if (auto up = Number(s, "uptime_seconds")) {
    head += ", up " + FormatDuration(static_cast<int64_t>(*up * 1000));
    if (s.contains("started_at") && s["started_at"].is_string()) head += " since " + ShortTime(s, "started_at");
  }
  std::printf("%s\n", head.c_str());
  if (s.contains("config") && s["config"].is_string()) std::printf("config %s\n", Text(s, "config").c_str());

  const Json empty = Json::array();
  const Json& plugins = s.contains("plugins") && s["plugins"].is_array() ? s["plugins"] : empty;
  std::printf("\nplugins:%s\n", plugins.empty() ? " none" : "");
  Table pt({});
  for (const Json& p : plugins) pt.Add({Text(p, "name"), Text(p, "version"), Text(p, "hash").substr(0, 12)});
  pt.Print("  ");

  const Json& processors = s.contains("processors") && s["processors"].is_array() ? s["processors"] : empty;
  std::printf("\nprocessors:%s\n", processors.empty() ? " none" : "");
  if (!processors.empty()) {
    Table t({"NAME", "SCHEDULE", "NEXT FIRE", "LAST RUN"});
    for (const Json& p : processors) {
      const bool enabled = !p.contains("enabled") || !p["enabled"].is_boolean() || p["enabled"].get<bool>();
      t.Add({Text(p, "name"), Text(p, "schedule"), enabled ? ShortTime(p, "next_fire") : "disabled", LastRun(p)});
    }
    t.Print("  ");
  }

  const Json& running = s.contains("running") && s["running"].is_array() ? s["running"] : empty;
  std::printf("\nrunning:%s\n", running.empty() ? " none" : "");
  if (!running.empty()) {
    Table t({"RUN", "PROCESSOR", "PARTITION", "PHASE", "PROGRESS", "RECORDS", "STARTED"});
    for (const Json& r : running) {
      t.Add({Text(r, "id"), Text(r, "processor"), Text(r, "partition"), Text(r, "phase"), Progress(r),
             Text(r, "records"), ShortTime(r, "started_at")});
    }
    t.Print("  ");
  }

  const Json& backfills = s.contains("backfills") && s["backfills"].is_array() ? s["backfills"] : empty;
  std::printf("\nbackfills:%s\n", backfills.empty() ? " none" : "");
  for (const Json& b : backfills) {
    std::printf("  backfill %s %s: %s\n", Text(b, "id").c_str(), BackfillSubject(b).c_str(),
                BackfillProgress(b, true).c_str());
  }
}

std::string OptionDefault(const Json& o) {
  if (!o.contains("default") || o["default"].is_null()) return "";
  return o["default"].is_string() ? o["default"].get<std::string>() : o["default"].dump();
}

void PrintPlugins(const Json& result) {
  const Json empty = Json::array();
  const Json& plugins = result.contains("plugins") && result["plugins"].is_array() ? result["plugins"] : empty;
  if (plugins.empty()) std::printf("no plugins loaded\n");
  bool first = true;
  for (const Json& p : plugins) {
    if (!first) std::printf("\n");
    first = false;
    std::printf("%s %s\n", Text(p, "name").c_str(), Text(p, "version").c_str());
    auto row = [](const char* key, const std::string& value) { std::printf("  %-13s %s\n", key, value.c_str()); };
    row("path", Text(p, "path"));
    row("hash", Text(p, "hash"));
    row("sdk", Text(p, "sdk"));
    std::string caps;
    if (p.contains("capabilities") && p["capabilities"].is_array()) {
      for (const Json& c : p["capabilities"]) caps += (caps.empty() ? "" : ", ") + (c.is_string() ? c.get<std::string>() : c.dump());
    }
    row("capabilities", caps.empty() ? "none" : caps);
    const Json& options = p.contains("options") && p["options"].is_array() ? p["options"] : empty;
    if (options.empty()) row("options", "none");
    for (size_t i = 0; i < options.size(); ++i) {
      const Json& o = options[i];
      const bool required = o.contains("required") && o["required"].is_boolean() && o["required"].get<bool>();
      std::string line = fmt::format("{} ({})", Text(o, "name"), Text(o, "type"));
      line += required ? ", required" : fmt::format(", default {}", OptionDefault(o));
      if (o.contains("doc") && o["doc"].is_string() && !o["doc"].get<std::string>().empty()) line += ": " + Text(o, "doc");
      row(i == 0 ? "options" : "", line);
    }
  }
}

}  // namespace

Command AddStatus(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "Show what kilnd is doing: plugins, processors, runs, backfills");
  auto o = std::make_shared<ClientOptions>();
  AddClientOptions(cmd, o.get());
  return {cmd, [o] {
            Json result;
            if (int rc = CallOnce(*o, "status", Json::object(), &result); rc != kExitOk) return rc;
            if (o->json) PrintJson(result);
            else PrintStatus(result);
            return kExitOk;
          }};
}

Command AddPlugins(CLI::App& app) {
  auto* cmd = app.add_subcommand("plugins", "List the plugins kilnd loaded, with their options");
  auto o = std::make_shared<ClientOptions>();
  auto history = std::make_shared<bool>(false);
  cmd->add_flag("--history", *history, "Every version seen: serving, draining, retired, rejected, rolled back");
  AddClientOptions(cmd, o.get());
  return {cmd, [o, history] {
            Json result;
            const Json params = *history ? Json::object({{"history", true}}) : Json::object();
            if (int rc = CallOnce(*o, "plugins", params, &result); rc != kExitOk) return rc;
            if (o->json) {
              PrintJson(result);
            } else if (*history) {
              std::printf("%-20s %-12s %-14s %-26s %s\n", "PLUGIN", "VERSION", "SHA256", "LOADED", "STATE");
              for (const Json& v : result.value("history", Json::array())) {
                std::printf("%-20s %-12s %-14s %-26s %s%s\n", Text(v, "name").c_str(), Text(v, "version").c_str(),
                            Text(v, "hash").substr(0, 12).c_str(), Text(v, "loaded_at").c_str(), Text(v, "state").c_str(),
                            v.contains("note") && v["note"].is_string() ? (" (" + v["note"].get<std::string>() + ")").c_str()
                                                                         : "");
              }
            } else {
              PrintPlugins(result);
            }
            return kExitOk;
          }};
}

}  // namespace kiln::ctl

// kilnctl runs [filters]: the run ledger, newest first.
// kilnctl show RUN: one run, every field, its phases and its log.
// kilnctl logs RUN [--follow]: what the plugin logged during a run.
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "host/base/date.h"
#include "tools/kilnctl/commands.h"
#include "tools/kilnctl/control_client.h"
#include "tools/kilnctl/format.h"

namespace kiln::ctl {
namespace {

constexpr size_t kErrorWidth = 60;

struct RunsArgs {
  ClientOptions c;
  std::string processor, status, since, partition;
  int limit = 0;
  CLI::Option* limit_given = nullptr;  // absent: kilnd's default (50)
};

int Usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "kilnctl %s: %s\n", command, message.c_str());
  return kExitUsage;
}

void PrintRuns(const Json& result) {
  if (!result.contains("runs") || !result["runs"].is_array() || result["runs"].empty()) {
    std::printf("no runs\n");
    return;
  }
  Table t({"ID", "PROCESSOR", "PARTITION", "TRIGGER", "STATUS", "STARTED", "DURATION", "RECORDS", "ERROR"});
  for (const Json& r : result["runs"]) {
    t.Add({Text(r, "id"), Text(r, "processor"), Text(r, "partition"), Text(r, "trigger"), Text(r, "status"),
           ShortTime(r, "started_at"), RunDuration(r), Text(r, "records"),
           r.contains("error") && r["error"].is_string() ? Truncate(r["error"].get<std::string>(), kErrorWidth) : ""});
  }
  t.Print();
}

int ExecuteRuns(const RunsArgs& a) {
  Json params = Json::object();
  if (!a.processor.empty()) params["processor"] = a.processor;
  if (!a.status.empty()) params["status"] = a.status;
  if (!a.since.empty()) params["since"] = a.since;
  if (!a.partition.empty()) {
    Day d;
    Status s = ParseDay(a.partition, &d);
    if (!s.ok()) return Usage("runs", "--partition: " + s.message());
    params["partition"] = a.partition;
  }
  if (a.limit_given != nullptr && a.limit_given->count() > 0) {
    if (a.limit < 1) return Usage("runs", fmt::format("--limit: expected at least 1, found {}", a.limit));
    params["limit"] = a.limit;
  }
  Json result;
  if (int rc = CallOnce(a.c, "runs", params, &result); rc != kExitOk) return rc;
  if (a.c.json) PrintJson(result);
  else PrintRuns(result);
  return kExitOk;
}

std::string LogLine(const Json& l) {
  return fmt::format("{} {:<5} {}", Text(l, "time"), Text(l, "level"), Text(l, "message", ""));
}

void PrintShow(const Json& result) {
  const Json& r = result.contains("run") && result["run"].is_object() ? result["run"] : Json::object();
  auto row = [](const char* key, const std::string& value) { std::printf("%-13s %s\n", key, value.c_str()); };
  row("run", Text(r, "id"));
  row("processor", Text(r, "processor"));
  row("plugin", fmt::format("{} {}", Text(r, "plugin"), Text(r, "plugin_version")));
  row("plugin hash", Text(r, "plugin_hash"));
  row("partition", Text(r, "partition"));
  row("trigger", Text(r, "trigger"));
  row("status", Text(r, "status"));
  row("attempt", Text(r, "attempt"));
  row("scheduled at", Text(r, "scheduled_at"));
  row("started at", Text(r, "started_at"));
  row("ended at", Text(r, "ended_at"));
  row("duration", RunDuration(r));
  row("records", Text(r, "records"));
  row("backfill", Text(r, "backfill_id"));
  row("error", Text(r, "error"));
  if (r.contains("phases") && r["phases"].is_object() && !r["phases"].empty()) {
    // In lifecycle order, not the JSON object's alphabetical one.
    static const char* kOrder[] = {"configure", "init", "extract", "validate", "transform", "save", "post_process"};
    bool first = true;
    for (const char* name : kOrder) {
      if (!r["phases"].contains(name) || !r["phases"][name].is_number()) continue;
      row(first ? "phases" : "", fmt::format("{:<13} {:>10.3f} ms", name, r["phases"][name].get<double>()));
      first = false;
    }
  } else {
    row("phases", "-");
  }
  const Json& log = result.contains("log") && result["log"].is_array() ? result["log"] : Json::array();
  row("log", log.empty() ? "none" : fmt::format("{} line{}", log.size(), log.size() == 1 ? "" : "s"));
  for (const Json& l : log) std::printf("  %s\n", LogLine(l).c_str());
}

struct LogsArgs {
  ClientOptions c;
  int64_t run = 0;
  bool follow = false;
};

int ExecuteLogs(const LogsArgs& a) {
  ControlClient client(ResolveSocketPath(a.c.socket), Timeout(a.c));
  int64_t after = 0;
  for (;;) {
    Json result;
    CallError err;
    if (!client.Call("logs", Json{{"run", a.run}, {"after", after}}, &result, &err)) return Report(err);
    if (a.c.json && !a.follow) {
      PrintJson(result);
      return kExitOk;
    }
    if (result.contains("lines") && result["lines"].is_array()) {
      for (const Json& l : result["lines"]) {
        if (a.c.json) std::printf("%s\n", l.dump().c_str());  // one JSON object a line
        else std::printf("%s\n", LogLine(l).c_str());
        after = std::max(after, Int(l, "seq"));
      }
    }
    std::fflush(stdout);
    const bool finished = result.contains("finished") && result["finished"].is_boolean() && result["finished"].get<bool>();
    if (!a.follow || finished) return kExitOk;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

Command AddRuns(CLI::App& app) {
  auto* cmd = app.add_subcommand("runs", "List runs from kilnd's ledger, newest first");
  auto a = std::make_shared<RunsArgs>();
  AddClientOptions(cmd, &a->c);
  cmd->add_option("--processor", a->processor, "Only runs of this processor");
  cmd->add_option("--status", a->status, "Only runs in this status")
      ->check(CLI::IsMember({"queued", "running", "succeeded", "failed", "timed_out", "cancelled", "abandoned"}));
  cmd->add_option("--since", a->since, "Only runs started at or after this date or time (UTC)");
  cmd->add_option("--partition", a->partition, "Only runs for this partition date YYYY-MM-DD");
  a->limit_given = cmd->add_option("--limit", a->limit, "At most this many runs (kilnd's default: 50)");
  return {cmd, [a] { return ExecuteRuns(*a); }};
}

Command AddShow(CLI::App& app) {
  auto* cmd = app.add_subcommand("show", "Show one run: every field, its phases and its log");
  auto o = std::make_shared<ClientOptions>();
  auto run = std::make_shared<int64_t>(0);
  cmd->add_option("run", *run, "Run id")->required();
  AddClientOptions(cmd, o.get());
  return {cmd, [o, run] {
            Json result;
            if (int rc = CallOnce(*o, "show", Json{{"run", *run}}, &result); rc != kExitOk) return rc;
            if (o->json) PrintJson(result);
            else PrintShow(result);
            return kExitOk;
          }};
}

Command AddLogs(CLI::App& app) {
  auto* cmd = app.add_subcommand("logs", "Print what a run's plugin logged");
  auto a = std::make_shared<LogsArgs>();
  cmd->add_option("run", a->run, "Run id")->required();
  cmd->add_flag("--follow,-f", a->follow, "Keep printing new lines until the run finishes");
  AddClientOptions(cmd, &a->c);
  return {cmd, [a] { return ExecuteLogs(*a); }};
}

}  // namespace kiln::ctl

// kilnctl backfill PROCESSOR --start-date A --end-date B [--parallel N]
//     [--cascade] [--reprocess none|failed|all] [--dry-run] [--detach]
// kilnctl backfill status|watch|cancel ID
// kilnctl backfill list [--limit N]
//
// Starts a backfill in kilnd and, unless --detach, watches it to the end:
// a live progress bar on a terminal, a plain line every 5 s otherwise. The
// exit code is the backfill's outcome: 0 succeeded, 1 failed or cancelled.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

constexpr auto kPollInterval = std::chrono::milliseconds(500);
constexpr auto kPlainInterval = std::chrono::seconds(5);

std::atomic<bool> g_interrupted{false};
extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

struct BackfillArgs {
  ClientOptions c;
  // start
  std::string processor, start_date, end_date;
  int parallel = 1;
  bool cascade = false;
  std::string reprocess = "none";
  bool dry_run = false;
  bool detach = false;
  // status, watch, cancel
  int64_t id = 0;
  // list
  int limit = 0;
  CLI::Option* limit_given = nullptr;  // absent: kilnd's default (20)
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "kilnctl backfill: %s\n", message.c_str());
  return kExitUsage;
}

// result["backfill"], or a malformed-response failure.
bool BackfillOf(const ControlClient& client, const Json& result, const Json** b, int* rc) {
  if (result.contains("backfill") && result["backfill"].is_object()) {
    *b = &result["backfill"];
    return true;
  }
  CallError err;
  err.kind = CallError::Kind::kTransport;
  err.message = fmt::format("malformed response from kilnd at {}: no \"backfill\" object", client.path());
  *rc = Report(err);
  return false;
}

std::string ResumeHint(int64_t id, const ClientOptions& o) {
  std::string cmd = fmt::format("kilnctl backfill watch {}", id);
  if (!o.socket.empty()) cmd += " --socket " + o.socket;
  return cmd;
}

int Watch(ControlClient& client, int64_t id, const ClientOptions& o) {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked poll() returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  client.set_interrupt(&g_interrupted);

  const bool tty = !o.json && isatty(STDOUT_FILENO) == 1;
  bool drawn = false;
  bool printed = false;
  auto last_plain = std::chrono::steady_clock::now();
  auto interrupted = [&] {
    if (drawn) std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "kilnctl: stopped watching; backfill %lld keeps running (resume with: %s)\n",
                 static_cast<long long>(id), ResumeHint(id, o).c_str());
    return kExitInterrupted;
  };
  for (;;) {
    Json result;
    CallError err;
    if (!client.Call("backfill.status", Json{{"id", id}}, &result, &err)) {
      if (err.kind == CallError::Kind::kInterrupted) return interrupted();
      if (drawn) std::printf("\n");
      std::fflush(stdout);
      return Report(err);
    }
    const Json* b = nullptr;
    int rc = kExitFailed;
    if (!BackfillOf(client, result, &b, &rc)) return rc;
    const std::string state = Text(*b, "state");
    const bool finished = state != "running";
    const auto now = std::chrono::steady_clock::now();
    if (tty) {
      std::printf("\r%s\x1b[K", BackfillBar(*b).c_str());
      drawn = true;
    } else if (!o.json && !finished && (!printed || now - last_plain >= kPlainInterval)) {
      std::printf("backfill %lld: %s\n", static_cast<long long>(id), BackfillProgress(*b, true).c_str());
      printed = true;
      last_plain = now;
    }
    if (finished) {
      if (drawn) std::printf("\n");
      if (o.json) PrintJson(result);
      else std::printf("backfill %lld %s: %s\n", static_cast<long long>(id), state.c_str(), BackfillProgress(*b, true).c_str());
      std::fflush(stdout);
      return state == "succeeded" ? kExitOk : kExitFailed;
    }
    std::fflush(stdout);
    const auto wake = now + kPollInterval;
    while (!g_interrupted.load() && std::chrono::steady_clock::now() < wake) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (g_interrupted.load()) return interrupted();
  }
}

std::string DateRange(const Json& dates) {
  if (!dates.is_array() || dates.empty()) return "-";
  std::string first, last;
  for (const Json& d : dates) {
    if (!d.is_string()) continue;
    const std::string s = d.get<std::string>();
    if (first.empty() || s < first) first = s;
    if (last.empty() || s > last) last = s;
  }
  return first == last ? first : first + ".." + last;
}

int64_t CountOf(const Json& j) {
  if (j.is_array()) return static_cast<int64_t>(j.size());
  if (j.is_number()) return j.get<int64_t>();
  return 0;
}

void PrintPlan(const BackfillArgs& a, const Json& result) {
  const Json plan = result.contains("plan") && result["plan"].is_object() ? result["plan"] : Json::object();
  const Json partitions = plan.contains("partitions") && plan["partitions"].is_object() ? plan["partitions"] : Json::object();
  const Json skipped = plan.contains("skipped") && plan["skipped"].is_object() ? plan["skipped"] : Json::object();
  std::vector<std::string> names;
  if (plan.contains("processors") && plan["processors"].is_array()) {
    for (const Json& p : plan["processors"]) {
      if (p.is_string()) names.push_back(p.get<std::string>());
    }
  }
  for (auto it = partitions.begin(); it != partitions.end(); ++it) {
    if (std::find(names.begin(), names.end(), it.key()) == names.end()) names.push_back(it.key());
  }
  std::printf("dry run, nothing started: backfill %s %s..%s\n", a.processor.c_str(), a.start_date.c_str(),
              a.end_date.c_str());
  Table t({});
  int64_t total = 0, total_skipped = 0;
  for (const std::string& name : names) {
    const Json dates = partitions.contains(name) ? partitions[name] : Json::array();
    const int64_t n = CountOf(dates);
    const int64_t s = skipped.contains(name) ? CountOf(skipped[name]) : 0;
    total += n;
    total_skipped += s;
    t.Add({name, fmt::format("{} date{}", n, n == 1 ? "" : "s"), DateRange(dates), fmt::format("{} skipped", s)});
  }
  t.Print("  ");
  std::printf("total: %lld run%s, %lld skipped\n", static_cast<long long>(total), total == 1 ? "" : "s",
              static_cast<long long>(total_skipped));
}

int ExecuteStart(const BackfillArgs& a) {
  if (a.processor.empty()) {
    return Usage("give PROCESSOR --start-date YYYY-MM-DD --end-date YYYY-MM-DD, or one of: status, watch, cancel, list");
  }
  if (a.start_date.empty() || a.end_date.empty()) return Usage("--start-date and --end-date are required");
  Day start, end;
  Status s = ParseDay(a.start_date, &start);
  if (!s.ok()) return Usage("--start-date: " + s.message());
  s = ParseDay(a.end_date, &end);
  if (!s.ok()) return Usage("--end-date: " + s.message());
  if (end < start) return Usage(fmt::format("--end-date {} is before --start-date {}", a.end_date, a.start_date));
  if (a.parallel < 1) return Usage(fmt::format("--parallel: expected at least 1, found {}", a.parallel));

  Json params;
  params["processor"] = a.processor;
  params["start_date"] = a.start_date;
  params["end_date"] = a.end_date;
  params["parallel"] = a.parallel;
  params["cascade"] = a.cascade;
  params["reprocess"] = a.reprocess;
  params["dry_run"] = a.dry_run;
  ControlClient client(ResolveSocketPath(a.c.socket), Timeout(a.c));
  Json result;
  CallError err;
  if (!client.Call("backfill.start", params, &result, &err)) return Report(err);
  if (a.dry_run) {
    if (a.c.json) PrintJson(result);
    else PrintPlan(a, result);
    return kExitOk;
  }
  const Json* b = nullptr;
  int rc = kExitFailed;
  if (!BackfillOf(client, result, &b, &rc)) return rc;
  const int64_t id = Int(*b, "id");
  if (a.detach) {
    if (a.c.json) PrintJson(result);
    else std::printf("%lld\n", static_cast<long long>(id));
    return kExitOk;
  }
  if (!a.c.json) {
    const int64_t skipped = Int(*b, "skipped");
    std::printf("started backfill %lld: %s, %lld runs%s\n", static_cast<long long>(id), BackfillSubject(*b).c_str(),
                static_cast<long long>(Int(*b, "total")),
                skipped > 0 ? fmt::format(", {} skipped", skipped).c_str() : "");
    std::fflush(stdout);
  }
  return Watch(client, id, a.c);
}

void PrintBackfill(const Json& b) {
  std::printf("backfill %s: %s\n", Text(b, "id").c_str(), BackfillSubject(b).c_str());
  auto row = [](const char* key, const std::string& value) { std::printf("  %-12s %s\n", key, value.c_str()); };
  row("state", Text(b, "state"));
  std::string processors;
  if (b.contains("processors") && b["processors"].is_array()) {
    for (const Json& p : b["processors"]) processors += (processors.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : p.dump());
  }
  row("processors", processors.empty() ? "-" : processors);
  row("parallel", Text(b, "parallel"));
  row("cascade", b.contains("cascade") && b["cascade"].is_boolean() && b["cascade"].get<bool>() ? "yes" : "no");
  row("reprocess", Text(b, "reprocess"));
  row("created at", Text(b, "created_at"));
  row("finished at", Text(b, "finished_at"));
  row("progress", BackfillProgress(b, true));
  row("succeeded", Text(b, "succeeded"));
  row("skipped", Text(b, "skipped"));
}

int ExecuteOne(const BackfillArgs& a, const char* method) {
  ControlClient client(ResolveSocketPath(a.c.socket), Timeout(a.c));
  Json result;
  CallError err;
  if (!client.Call(method, Json{{"id", a.id}}, &result, &err)) return Report(err);
  if (a.c.json) {
    PrintJson(result);
    return kExitOk;
  }
  const Json* b = nullptr;
  int rc = kExitFailed;
  if (!BackfillOf(client, result, &b, &rc)) return rc;
  if (std::string(method) == "backfill.cancel") {
    std::printf("cancelled backfill %s: %s\n", Text(*b, "id").c_str(), BackfillProgress(*b, true).c_str());
  } else {
    PrintBackfill(*b);
  }
  return kExitOk;
}

int ExecuteList(const BackfillArgs& a) {
  Json params = Json::object();
  if (a.limit_given != nullptr && a.limit_given->count() > 0) {
    if (a.limit < 1) return Usage(fmt::format("list: --limit: expected at least 1, found {}", a.limit));
    params["limit"] = a.limit;
  }
  Json result;
  if (int rc = CallOnce(a.c, "backfill.list", params, &result); rc != kExitOk) return rc;
  if (a.c.json) {
    PrintJson(result);
    return kExitOk;
  }
  if (!result.contains("backfills") || !result["backfills"].is_array() || result["backfills"].empty()) {
    std::printf("no backfills\n");
    return kExitOk;
  }
  Table t({"ID", "PROCESSOR", "RANGE", "STATE", "PROGRESS", "CREATED"});
  for (const Json& b : result["backfills"]) {
    t.Add({Text(b, "id"), Text(b, "processor"), Text(b, "start_date") + ".." + Text(b, "end_date"), Text(b, "state"),
           fmt::format("{}/{} done, {} failed", Int(b, "succeeded") + Int(b, "failed"), Int(b, "total"), Int(b, "failed")),
           ShortTime(b, "created_at")});
  }
  t.Print();
  return kExitOk;
}

}  // namespace

Command AddBackfill(CLI::App& app) {
  auto* cmd = app.add_subcommand("backfill", "Run a processor over a date range in kilnd, and follow backfills");
  cmd->require_subcommand(0, 1);
  auto a = std::make_shared<BackfillArgs>();
  cmd->add_option("processor", a->processor, "Processor to backfill");
  cmd->add_option("--start-date", a->start_date, "First date YYYY-MM-DD");
  cmd->add_option("--end-date", a->end_date, "Last date YYYY-MM-DD (inclusive)");
  cmd->add_option("--parallel", a->parallel, "Partitions run at a time")->capture_default_str();
  cmd->add_flag("--cascade", a->cascade, "Also run the processors that depend on it, for the same dates");
  cmd->add_option("--reprocess", a->reprocess, "Which dates with a finished run to run again")
      ->check(CLI::IsMember({"none", "failed", "all"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", a->dry_run, "Print the plan, start nothing");
  cmd->add_flag("--detach", a->detach, "Start it and print its id; do not watch");
  AddClientOptions(cmd, &a->c);

  auto* status = cmd->add_subcommand("status", "Show a backfill");
  status->add_option("id", a->id, "Backfill id")->required();
  AddClientOptions(status, &a->c);
  auto* watch = cmd->add_subcommand("watch", "Follow a backfill's progress until it ends (Ctrl-C stops watching)");
  watch->add_option("id", a->id, "Backfill id")->required();
  AddClientOptions(watch, &a->c);
  auto* cancel = cmd->add_subcommand("cancel", "Cancel a backfill and its runs in flight");
  cancel->add_option("id", a->id, "Backfill id")->required();
  AddClientOptions(cancel, &a->c);
  auto* list = cmd->add_subcommand("list", "List backfills, newest first");
  a->limit_given = list->add_option("--limit", a->limit, "At most this many (kilnd's default: 20)");
  AddClientOptions(list, &a->c);

  return {cmd, [a, status, watch, cancel, list] {
            for (CLI::App* sub : {status, watch, cancel, list}) {
              if (sub->parsed() && !a->processor.empty()) {
                return Usage(fmt::format("'{}' takes no PROCESSOR (found '{}')", sub->get_name(), a->processor));
              }
            }
            if (status->parsed()) return ExecuteOne(*a, "backfill.status");
            if (cancel->parsed()) return ExecuteOne(*a, "backfill.cancel");
            if (list->parsed()) return ExecuteList(*a);
            if (watch->parsed()) {
              ControlClient client(ResolveSocketPath(a->c.socket), Timeout(a->c));
              return Watch(client, a->id, a->c);
            }
            return ExecuteStart(*a);
          }};
}

}  // namespace kiln::ctl

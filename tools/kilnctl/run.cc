// kilnctl run TARGET --date D | --start-date A --end-date B
//
// Runs a plugin standalone through the exact run path kilnd uses: the same
// loader, the same option binding, the same Instance::Run. TARGET is a plugin
// file (any argument containing '/' or ending in .so).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "host/base/date.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"
#include "tools/kilnctl/commands.h"

namespace kiln::ctl {
namespace {

std::atomic<bool> g_cancel{false};
extern "C" void OnSignal(int) { g_cancel.store(true); }

struct RunArgs {
  std::string target;
  std::string date, start_date, end_date;
  std::vector<std::string> options;
  bool dry_run = false;
  bool json = false;
  bool keep_going = false;
  bool unchecked = false;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "kilnctl run: %s\n", message.c_str());
  return kExitUsage;
}

// The days to run, in order; empty for an unpartitioned plugin.
Status PlanDays(const RunArgs& a, bool partitioned, const std::string& plugin, std::vector<std::optional<Day>>* days) {
  const bool single = !a.date.empty();
  const bool range = !a.start_date.empty() || !a.end_date.empty();
  if (single && range) return Status::InvalidArgument("--date cannot be combined with --start-date/--end-date");
  if (!partitioned) {
    if (single || range) {
      return Status::InvalidArgument(fmt::format("plugin '{}' is not partitioned by date: it takes no --date", plugin));
    }
    days->push_back(std::nullopt);
    return Status::OK();
  }
  if (!single && !range) {
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' is partitioned by date: give --date YYYY-MM-DD or --start-date and --end-date", plugin));
  }
  if (single) {
    Day d;
    Status s = ParseDay(a.date, &d);
    if (!s.ok()) return Status::InvalidArgument("--date: " + s.message());
    days->push_back(d);
    return Status::OK();
  }
  if (a.start_date.empty() || a.end_date.empty()) {
    return Status::InvalidArgument("--start-date and --end-date go together");
  }
  Day start, end;
  Status s = ParseDay(a.start_date, &start);
  if (!s.ok()) return Status::InvalidArgument("--start-date: " + s.message());
  s = ParseDay(a.end_date, &end);
  if (!s.ok()) return Status::InvalidArgument("--end-date: " + s.message());
  if (end < start) {
    return Status::InvalidArgument(
        fmt::format("--end-date {} is before --start-date {}", a.end_date, a.start_date));
  }
  for (Day d = start; d <= end; d += date::days(1)) days->push_back(d);
  return Status::OK();
}

void PrintRun(const std::string& label, const RunResult& r, bool show_phases) {
  double total = 0;
  for (const PhaseResult& p : r.phases) total += p.millis;
  if (show_phases) {
    for (const PhaseResult& p : r.phases) {
      std::printf("  %-13s %10.3f ms %8llu records%s\n", p.name.c_str(), p.millis,
                  static_cast<unsigned long long>(p.records), p.ok ? "" : "  FAILED");
    }
  }
  std::printf("%-10s %s: %llu records in %.3f ms%s%s\n", label.c_str(),
              r.status.ok() ? "succeeded" : (r.status.code() == Status::Code::kCancelled ? "cancelled" : "failed"),
              static_cast<unsigned long long>(r.records), total, r.status.ok() ? "" : ": ",
              r.status.ok() ? "" : r.status.message().c_str());
}

nlohmann::json RunJson(const std::string& partition, const RunResult& r) {
  nlohmann::json j;
  j["partition"] = partition.empty() ? nlohmann::json(nullptr) : nlohmann::json(partition);
  j["status"] = r.status.ok() ? "succeeded" : (r.status.code() == Status::Code::kCancelled ? "cancelled" : "failed");
  j["error"] = r.status.ok() ? nlohmann::json(nullptr) : nlohmann::json(r.status.message());
  j["records"] = r.records;
  j["phases"] = nlohmann::json::array();
  for (const PhaseResult& p : r.phases) {
    j["phases"].push_back({{"name", p.name}, {"ms", p.millis}, {"records", p.records}, {"ok", p.ok}});
  }
  return j;
}

int Execute(const RunArgs& a) {
  const bool is_file = a.target.find('/') != std::string::npos ||
                       (a.target.size() > 3 && a.target.compare(a.target.size() - 3, 3, ".so") == 0);
  if (!is_file) {
    return Usage(fmt::format("'{}' is not a plugin file: expected a path containing '/' or ending in .so",
                             a.target));
  }
  std::vector<OptionInput> inputs;
  for (const std::string& text : a.options) {
    OptionInput in;
    Status s = ParseOptionAssignment(text, &in);
    if (!s.ok()) return Usage(s.message());
    inputs.push_back(std::move(in));
  }

  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  Status s = loader.Load(a.target, &plugin, nullptr, {.check_trust = !a.unchecked});
  if (!s.ok()) {
    std::fprintf(stderr, "kilnctl run: %s\n", s.message().c_str());
    return kExitFailed;
  }
  const PluginInfo& info = plugin->info();
  std::vector<std::optional<Day>> days;
  s = PlanDays(a, info.partitioned(), info.name, &days);
  if (!s.ok()) return Usage(s.message());
  BoundOptions options;
  std::vector<std::string> errors;
  s = BoundOptions::Bind(info.name, info.options, inputs, &options, &errors);
  if (!s.ok()) {
    for (const std::string& e : errors) std::fprintf(stderr, "kilnctl run: %s\n", e.c_str());
    return kExitUsage;
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::vector<PhaseResult> open_phases;
  std::unique_ptr<Instance> instance;
  s = Instance::Open(plugin, info.name, options, &instance, &open_phases);
  nlohmann::json out = nlohmann::json::array();
  if (!a.json) {
    for (const PhaseResult& p : open_phases) std::printf("  %-13s %10.3f ms\n", p.name.c_str(), p.millis);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "kilnctl run: %s\n", s.message().c_str());
    return kExitFailed;
  }

  int failed = 0, succeeded = 0;
  std::string first_failure;
  for (size_t i = 0; i < days.size(); ++i) {
    const std::string partition = days[i] ? FormatDay(*days[i]) : std::string();
    RunRequest req;
    req.run_id = fmt::format("cli-{}-{}", getpid(), i + 1);
    req.partition = days[i];
    req.trigger = KILN_TRIGGER_MANUAL;
    req.dry_run = a.dry_run;
    req.cancel = &g_cancel;
    RunResult r;
    instance->Run(req, &r);
    if (a.json) out.push_back(RunJson(partition, r));
    else PrintRun(partition.empty() ? info.name : partition, r, days.size() == 1);
    if (r.status.ok()) {
      ++succeeded;
    } else {
      ++failed;
      if (first_failure.empty()) first_failure = partition;
      if (!a.keep_going || r.status.code() == Status::Code::kCancelled) break;
    }
  }
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else if (days.size() > 1) {
    const size_t skipped = days.size() - static_cast<size_t>(succeeded + failed);
    std::printf("%zu days: %d succeeded, %d failed, %zu not run%s\n", days.size(), succeeded, failed, skipped,
                first_failure.empty() ? "" : fmt::format(" (first failure {})", first_failure).c_str());
  }
  return failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace

Command AddRun(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a plugin now, standalone, through the daemon's run path");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("target", a->target, "Plugin file (.so)")->required();
  cmd->add_option("--date", a->date, "Partition date YYYY-MM-DD");
  cmd->add_option("--start-date", a->start_date, "First date of an inclusive range");
  cmd->add_option("--end-date", a->end_date, "Last date of an inclusive range");
  cmd->add_option("--option,-o", a->options, "Plugin option key=value (repeatable)");
  cmd->add_flag("--dry-run", a->dry_run, "Compute and validate, write nothing");
  cmd->add_flag("--unchecked", a->unchecked,
                "Skip the check that only root or you can change the file and its directories");
  cmd->add_flag("--keep-going", a->keep_going, "In a range, go on after a failed day");
  cmd->add_flag("--json", a->json, "JSON on stdout");
  return {cmd, [a] { return Execute(*a); }};
}

}  // namespace kiln::ctl

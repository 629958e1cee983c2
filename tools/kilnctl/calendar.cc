// kilnctl calendar EXPR [--tz ZONE] [--from TIME] [--count N] [--json]
//
// The next N fire times of a cron expression, strictly after TIME (default
// now), one per line in ISO 8601 with the zone's offset, as kilnd's scheduler
// computes them (like systemd-analyze calendar --iterations).
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "host/calendar/cron.h"
#include "tools/kilnctl/commands.h"

namespace kiln::ctl {
namespace {

struct CalendarArgs {
  std::string expr;
  std::string tz = "UTC";
  std::string from;
  int count = 5;
  bool json = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "kilnctl calendar: %s\n", message.c_str());
  return kExitUsage;
}

int Execute(const CalendarArgs& a) {
  const date::time_zone* zone = nullptr;
  Status s = FindTimeZone(a.tz, &zone);
  if (!s.ok()) return Fail("--tz: " + s.message());
  CronSchedule schedule;
  s = CronSchedule::Parse(a.expr, &schedule);
  if (!s.ok()) return Fail(s.message());
  if (a.count < 1 || a.count > 10000) return Fail("--count: expected 1 to 10000, found " + std::to_string(a.count));
  SysSeconds t = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!a.from.empty()) {
    s = ParseTime(a.from, zone, &t);
    if (!s.ok()) return Fail("--from: " + s.message());
  }
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < a.count; ++i) {
    SysSeconds next;
    s = schedule.Next(t, zone, &next);
    if (!s.ok()) {
      if (i == 0) return Fail(s.message());
      break;
    }
    const std::string iso = FormatIso8601(next, zone);
    if (a.json) out.push_back(iso);
    else std::printf("%s\n", iso.c_str());
    t = next;
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  return kExitOk;
}

}  // namespace

Command AddCalendar(CLI::App& app) {
  auto* cmd = app.add_subcommand("calendar", "Print the next fire times of a cron expression");
  auto a = std::make_shared<CalendarArgs>();
  cmd->add_option("expression", a->expr, "Cron expression, 5 or 6 fields or @daily etc.")->required();
  cmd->add_option("--tz", a->tz, "IANA time zone")->capture_default_str();
  cmd->add_option("--from", a->from, "Start after this time (ISO 8601; no offset: wall time in --tz)");
  cmd->add_option("--count,-n", a->count, "How many fire times")->capture_default_str();
  cmd->add_flag("--json", a->json, "A JSON array on stdout");
  return {cmd, [a] { return Execute(*a); }};
}

}  // namespace kiln::ctl

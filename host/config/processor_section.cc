// One [[processor]] table: what runs, when, with which options.
#include <algorithm>

#include <fmt/format.h>

#include "host/calendar/cron.h"
#include "host/calendar/zone.h"
#include "host/config/sections.h"
#include "host/config/table_reader.h"

namespace kiln {
namespace {

const std::vector<std::string> kProcessorKeys = {
    "name",        "plugin",  "schedule",      "every",       "timezone", "options",
    "depends_on",  "timeout", "retries",       "retry_backoff", "concurrency", "catchup",
    "catchup_cap", "isolation", "enabled"};
const std::vector<std::string> kConcurrency = {"forbid", "allow", "replace"};
const std::vector<std::string> kCatchup = {"none", "latest", "all"};

void ReadName(const TableReader& r, const TomlNode& table, ProcessorDraft* out) {
  const TomlEntry* e = r.Find("name");
  if (e == nullptr) {
    r.diag()->At(table, "missing required key 'name' in [[processor]]");
    return;
  }
  std::string name;
  if (!r.String("name", &name)) return;
  if (!IsValidConfigName(name)) {
    r.diag()->At(e->value, fmt::format("name '{}': expected [a-z][a-z0-9_]{{0,63}}", name));
    return;
  }
  out->config.name = name;
  out->named = true;
  out->name_line = e->value.line;
  out->name_column = e->value.column;
}

void ReadPlugin(const TableReader& r, const TomlNode& table, const DaemonConfig& daemon,
                PluginResolver& resolver, ProcessorDraft* out) {
  const TomlEntry* e = r.Find("plugin");
  if (e == nullptr) {
    r.diag()->At(table, "missing required key 'plugin' in [[processor]]");
    return;
  }
  std::string name;
  if (!r.String("plugin", &name)) return;
  out->config.plugin = name;
  if (!IsValidConfigName(name)) {
    r.diag()->At(e->value, fmt::format("plugin '{}': expected [a-z][a-z0-9_]{{0,63}}", name));
    return;
  }
  std::shared_ptr<const Plugin> plugin;
  Status s = resolver.Resolve(name, daemon.plugin_dirs, &plugin);
  if (!s.ok()) {
    r.diag()->At(e->value, s.message());  // already names the plugin or its file
    return;
  }
  out->config.loaded = plugin;
  out->config.plugin_path = plugin->info().path;
  out->config.partitioned = plugin->info().partitioned();
}

void ReadWhen(const TableReader& r, const TomlNode& table, ProcessorDraft* out) {
  std::string text;
  if (r.String("schedule", &text)) {
    CronSchedule cron;
    Status s = CronSchedule::Parse(text, &cron);
    if (s.ok()) out->config.schedule = cron;
    else r.diag()->At(r.Find("schedule")->value, fmt::format("schedule: {}", s.message()));
  }
  std::chrono::milliseconds every{};
  if (r.Duration("every", &every)) out->config.every = every;

  const TomlEntry* schedule = r.Find("schedule");
  const TomlEntry* periodic = r.Find("every");
  if (schedule != nullptr && periodic != nullptr) {
    // Point at whichever was written second: that is the one to remove.
    const TomlEntry* later = (schedule->line > periodic->line ||
                              (schedule->line == periodic->line && schedule->column > periodic->column))
                                 ? schedule
                                 : periodic;
    r.diag()->AtKey(*later, "both schedule and every are set: use one of them");
  }

  std::string zone_name = "UTC";
  const TomlEntry* e = r.Find("timezone");
  if (e != nullptr && !r.String("timezone", &zone_name)) return;
  Status s = FindTimeZone(zone_name, &out->config.zone);
  if (!s.ok()) {
    // Without a timezone key only an unreadable tz database gets here.
    r.diag()->At(e ? e->value : table, fmt::format("timezone: {}", s.message()));
    return;
  }
  out->config.timezone = zone_name;
}

// A TOML value as an option input. Dates become "YYYY-MM-DD" text, which is
// how DATE options are carried.
bool ToOptionInput(const TomlEntry& e, OptionInput* in, std::string* problem) {
  in->name = e.key;
  in->is_text = false;
  switch (e.value.kind) {
    case TomlNode::Kind::kString:
    case TomlNode::Kind::kDate: in->value = e.value.text; return true;
    case TomlNode::Kind::kInteger: in->value = e.value.integer; return true;
    case TomlNode::Kind::kFloat: in->value = e.value.real; return true;
    case TomlNode::Kind::kBoolean: in->value = e.value.boolean; return true;
    default:
      *problem = fmt::format("expected a string, integer, float, boolean or date, found {}",
                             TomlKindName(e.value.kind));
      return false;
  }
}

void ReadOptions(const TableReader& r, const TomlNode& table, ProcessorDraft* out) {
  const TomlEntry* e = r.Find("options");
  if (e != nullptr && !r.Expect("options", e->value, TomlNode::Kind::kTable)) return;
  const std::string& plugin = out->config.plugin;
  const std::string prefix = plugin.empty() ? std::string() : fmt::format("plugin '{}': ", plugin);

  std::vector<OptionInput> inputs;
  std::vector<const TomlEntry*> sources;  // parallel to inputs
  std::vector<std::string> unusable;      // options already reported
  if (e != nullptr) {
    for (const TomlEntry& option : e->value.entries) {
      OptionInput in;
      std::string problem;
      if (!ToOptionInput(option, &in, &problem)) {
        r.diag()->At(option.value, fmt::format("{}option '{}': {}", prefix, option.key, problem));
        unusable.push_back(option.key);
        continue;
      }
      inputs.push_back(std::move(in));
      sources.push_back(&option);
    }
  }
  if (!out->config.loaded) return;  // no schema to check against

  std::vector<std::string> problems;
  BoundOptions::Bind(plugin, out->config.loaded->info().options, inputs, &out->config.options, &problems);
  // Bind's messages name the option but not where it was written; its
  // prefixes are fixed, so each message is matched back to its entry.
  for (const std::string& msg : problems) {
    // An option left out for its bad value is not also "missing".
    auto reported = [&](const std::string& name) {
      return msg == fmt::format("{}missing required option '{}'", prefix, name);
    };
    if (std::any_of(unusable.begin(), unusable.end(), reported)) continue;
    // An unknown option is a bad key, a bad value is the value's fault, and
    // a missing option belongs to the options table (or the processor).
    const TomlNode* at = e ? &e->value : &table;
    const TomlEntry* unknown = nullptr;
    for (const TomlEntry* src : sources) {
      if (msg.rfind(fmt::format("{}unknown option '{}'", prefix, src->key), 0) == 0) {
        unknown = src;
        break;
      }
      if (msg.rfind(fmt::format("{}option '{}':", prefix, src->key), 0) == 0) {
        at = &src->value;
        break;
      }
    }
    if (unknown) r.diag()->AtKey(*unknown, msg);
    else r.diag()->At(*at, msg);
  }
}

void ReadDependencies(const TableReader& r, ProcessorDraft* out) {
  std::vector<const TomlNode*> names;
  r.StringArray("depends_on", &names);  // keeps the good elements even if some are bad
  for (const TomlNode* n : names) {
    auto same = [&](const ProcessorDraft::Dependency& d) { return d.name == n->text; };
    if (std::any_of(out->depends_on.begin(), out->depends_on.end(), same)) continue;
    out->depends_on.push_back({n->text, n->line, n->column});
    out->config.depends_on.push_back(n->text);
  }
}

void ReadRunPolicy(const TableReader& r, ProcessorDraft* out) {
  ProcessorConfig& c = out->config;
  std::chrono::milliseconds ms{};
  if (r.Duration("timeout", &ms)) c.timeout = ms;
  r.Integer("retries", 0, 100, &c.retries);
  r.Duration("retry_backoff", &c.retry_backoff);
  int choice = 0;
  if (r.Choice("concurrency", kConcurrency, &choice)) c.concurrency = static_cast<Concurrency>(choice);
  if (r.Choice("catchup", kCatchup, &choice)) c.catchup = static_cast<Catchup>(choice);
  r.Integer("catchup_cap", 1, 10000, &c.catchup_cap);
  r.Boolean("enabled", &c.enabled);

  std::string isolation;
  if (r.String("isolation", &isolation) && isolation != "inprocess") {
    const TomlNode& at = r.Find("isolation")->value;
    if (isolation == "process") {
      r.diag()->At(at, "isolation 'process' is not available yet: worker processes are not built; use \"inprocess\"");
    } else {
      r.diag()->At(at, fmt::format("isolation '{}': expected inprocess", isolation));
    }
  }
}

}  // namespace

void ReadProcessorSection(const TomlNode& table, const DaemonConfig& daemon, PluginResolver& resolver,
                          Diagnostics* diag, ProcessorDraft* out) {
  const TableReader r(table, "in [[processor]]", kProcessorKeys, diag);
  out->config.where = SourceLocation{diag->file(), table.line, table.column};
  ReadName(r, table, out);
  ReadPlugin(r, table, daemon, resolver, out);
  ReadWhen(r, table, out);
  ReadOptions(r, table, out);
  ReadDependencies(r, out);
  ReadRunPolicy(r, out);
}

}  // namespace kiln

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
    "catchup_cap", "isolation", "enabled", "memory_limit", "max_runs_per_worker", "user", "group",
    "rollback_after_failures"};
const std::vector<std::string> kIsolation = {"process", "inprocess"};
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

// "512MiB", "2GiB", "64MB" (decimal), or plain bytes; at least 16 MiB, since
// a worker needs that much address space to load a plugin at all.
bool ParseByteSize(const std::string& text, int64_t* out) {
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (n > (INT64_MAX - 9) / 10) return false;
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0) return false;
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", int64_t{1} << 30},
      {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}};
  const std::string unit = text.substr(i);
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      if (n > INT64_MAX / mult) return false;
      *out = n * mult;
      return *out >= (int64_t{16} << 20);
    }
  }
  return false;
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

  if (r.Choice("isolation", kIsolation, &choice)) c.isolation = static_cast<Isolation>(choice);
  r.Integer("max_runs_per_worker", 1, 1000000, &c.max_runs_per_worker);
  r.Integer("rollback_after_failures", 0, 1000, &c.rollback_after_failures);
  r.String("user", &c.user);
  r.String("group", &c.group);
  std::string size;
  if (r.String("memory_limit", &size)) {
    int64_t bytes = 0;
    if (!ParseByteSize(size, &bytes)) {
      r.diag()->At(r.Find("memory_limit")->value,
                   fmt::format("memory_limit '{}': expected a size like 512MiB, 2GiB or 1048576 (at least 16MiB)", size));
    } else {
      c.memory_limit = bytes;
    }
  }
  if (c.isolation == Isolation::kInProcess) {
    for (const char* key : {"memory_limit", "user", "group"}) {
      if (r.Find(key)) {
        r.diag()->At(r.Find(key)->value, fmt::format("{} needs isolation = \"process\"", key));
      }
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

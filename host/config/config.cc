// LoadConfig: read the file, check every section, and only then publish.
#include "host/config/config.h"
#include "host/config/config_text.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "host/config/diagnostics.h"
#include "host/config/sections.h"
#include "host/config/table_reader.h"
#include "host/config/toml_tree.h"

namespace kiln {

const char* ConcurrencyName(Concurrency c) {
  switch (c) {
    case Concurrency::kForbid: return "forbid";
    case Concurrency::kAllow: return "allow";
    case Concurrency::kReplace: return "replace";
  }
  return "unknown";
}

const char* CatchupName(Catchup c) {
  switch (c) {
    case Catchup::kNone: return "none";
    case Catchup::kLatest: return "latest";
    case Catchup::kAll: return "all";
  }
  return "unknown";
}

const ProcessorConfig* Config::Find(std::string_view name) const {
  for (const ProcessorConfig& p : processors) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> Config::Dependents(std::string_view name) const {
  std::vector<std::string> out;
  for (const ProcessorConfig& p : processors) {
    for (const std::string& d : p.depends_on) {
      if (d == name) {
        out.push_back(p.name);
        break;
      }
    }
  }
  return out;
}

namespace {

const std::vector<std::string> kTopLevelKeys = {"daemon", "plugin", "processor"};

Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("{}: cannot read config: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("{}: cannot read config: {}", path, std::strerror(errno)));
  *out = ss.str();
  return Status::OK();
}

// The [[processor]] tables, reporting anything else written under that key.
std::vector<const TomlNode*> ProcessorTables(const TomlEntry* entry, Diagnostics* diag) {
  std::vector<const TomlNode*> tables;
  if (entry == nullptr) return tables;
  if (entry->value.kind != TomlNode::Kind::kArray) {
    diag->At(entry->value, fmt::format("processor: expected an array of tables ([[processor]]), found {}",
                                       TomlKindName(entry->value.kind)));
    return tables;
  }
  for (const TomlNode& item : entry->value.items) {
    if (item.kind == TomlNode::Kind::kTable) tables.push_back(&item);
    else diag->At(item, fmt::format("processor: expected a table, found {}", TomlKindName(item.kind)));
  }
  return tables;
}

Status Fail(Status::Code code, const std::vector<std::string>& lines, std::vector<std::string>* errors) {
  if (errors) *errors = lines;
  std::string msg = lines.front();
  if (lines.size() > 1) {
    msg += fmt::format(" (and {} more error{})", lines.size() - 1, lines.size() == 2 ? "" : "s");
  }
  return code == Status::Code::kIOError ? Status::IOError(msg) : Status::InvalidArgument(msg);
}

}  // namespace

Status LoadConfig(const std::string& path, PluginResolver& resolver, Config* out,
                  std::vector<std::string>* errors) {
  if (errors) errors->clear();
  std::string text;
  if (Status s = ReadFile(path, &text); !s.ok()) return Fail(s.code(), {s.message()}, errors);
  return LoadConfigText(text, path, resolver, out, errors);
}

Status LoadConfigText(const std::string& text, const std::string& path, PluginResolver& resolver,
                      Config* out, std::vector<std::string>* errors) {
  if (errors) errors->clear();
  TomlNode root;
  int line = 0, column = 0;
  if (Status s = ParseToml(text, &root, &line, &column); !s.ok()) {
    return Fail(Status::Code::kInvalidArgument, {fmt::format("{}:{}:{}: {}", path, line, column, s.message())},
                errors);
  }

  Diagnostics diag(path);
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) absolute = std::filesystem::path(path);
  const std::string config_dir = absolute.parent_path().lexically_normal().string();

  const TableReader top(root, "at the top level", kTopLevelKeys, &diag);
  const TomlEntry* daemon_entry = top.Find("daemon");
  const TomlNode* daemon_table = nullptr;
  if (daemon_entry && top.Expect("daemon", daemon_entry->value, TomlNode::Kind::kTable)) {
    daemon_table = &daemon_entry->value;
  }
  Config config;
  config.path = path;
  ReadDaemonSection(daemon_table, config_dir, &diag, &config.daemon);
  ReadPluginSections(top.Find("plugin"), &diag, &config.daemon);
  resolver.Prepare(config.daemon);

  std::vector<ProcessorDraft> drafts;
  std::map<std::string, int, std::less<>> first_line;  // name -> line of its first definition
  for (const TomlNode* table : ProcessorTables(top.Find("processor"), &diag)) {
    ProcessorDraft& draft = drafts.emplace_back();
    ReadProcessorSection(*table, config.daemon, resolver, &diag, &draft);
    if (!draft.named) continue;
    auto [it, inserted] = first_line.emplace(draft.config.name, draft.name_line);
    if (!inserted) {
      diag.Add(draft.name_line, draft.name_column, fmt::format("duplicate processor name '{}' (first defined at line {})",
                                       draft.config.name, it->second));
    }
  }
  CheckDependencies(drafts, &diag);
  // A pin for a plugin nothing uses protects nothing: most likely a typo in
  // the name of the plugin it was meant for.
  if (const TomlEntry* plugins = top.Find("plugin"); plugins && plugins->value.kind == TomlNode::Kind::kTable) {
    for (const TomlEntry& plugin : plugins->value.entries) {
      if (!config.daemon.plugin_sha256.count(plugin.key)) continue;
      const bool used = std::any_of(drafts.begin(), drafts.end(),
                                    [&](const ProcessorDraft& d) { return d.config.plugin == plugin.key; });
      if (!used) diag.AtKey(plugin, fmt::format("[plugin.{}]: no processor uses plugin '{}'", plugin.key, plugin.key));
    }
  }

  if (!diag.empty()) return Fail(Status::Code::kInvalidArgument, diag.Lines(), errors);
  config.processors = OrderByDependencies(std::move(drafts));
  *out = std::move(config);
  return Status::OK();
}

}  // namespace kiln

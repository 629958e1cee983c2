// [daemon]: where plugins and state live, how many workers, how to log.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "host/config/sections.h"
#include "host/config/table_reader.h"

namespace kiln {
namespace {

const std::vector<std::string> kDaemonKeys = {
    "plugin_dirs", "state_dir", "workers", "log_level", "log_format", "log_file", "control_socket",
    "unchecked_plugin_dirs"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
const std::vector<std::string> kLogFormats = {"text", "json"};

// Paths in a config mean the same thing whatever directory kilnd was started
// from: relative ones are taken from the config file's directory.
std::string Resolve(const std::string& config_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(config_dir) / p;
  return p.lexically_normal().string();
}

// A path-valued key: present, a string, and not empty.
bool ReadPath(const TableReader& r, std::string_view key, const std::string& config_dir, std::string* out) {
  std::string text;
  if (!r.String(key, &text)) return false;
  if (text.empty()) {
    r.diag()->At(r.Find(key)->value, fmt::format("{}: expected a path, found an empty string", key));
    return false;
  }
  *out = Resolve(config_dir, text);
  return true;
}

}  // namespace

void ReadDaemonSection(const TomlNode* table, const std::string& config_dir, Diagnostics* diag,
                       DaemonConfig* out) {
  static const TomlNode kEmpty;
  const TableReader r(table ? *table : kEmpty, "in [daemon]", kDaemonKeys, diag);

  out->plugin_dirs = {Resolve(config_dir, "plugins")};
  std::vector<const TomlNode*> dirs;
  if (r.StringArray("plugin_dirs", &dirs)) {
    if (dirs.empty()) {
      diag->At(r.Find("plugin_dirs")->value, "plugin_dirs: expected at least one directory, found an empty array");
    } else {
      out->plugin_dirs.clear();
      for (const TomlNode* d : dirs) {
        if (d->text.empty()) {
          diag->At(*d, "plugin_dirs: expected a path, found an empty string");
          continue;
        }
        out->plugin_dirs.push_back(Resolve(config_dir, d->text));
      }
    }
  }

  // A directory exempt from the trust check must be one kilnd searches: an
  // exemption for a path no plugin comes from is a typo waiting to matter.
  out->unchecked_plugin_dirs.clear();
  std::vector<const TomlNode*> unchecked;
  if (r.StringArray("unchecked_plugin_dirs", &unchecked)) {
    for (const TomlNode* d : unchecked) {
      const std::string dir = Resolve(config_dir, d->text);
      if (std::find(out->plugin_dirs.begin(), out->plugin_dirs.end(), dir) == out->plugin_dirs.end()) {
        diag->At(*d, fmt::format("unchecked_plugin_dirs: '{}' is not one of plugin_dirs", d->text));
        continue;
      }
      out->unchecked_plugin_dirs.push_back(dir);
    }
  }

  out->state_dir = Resolve(config_dir, "state");
  ReadPath(r, "state_dir", config_dir, &out->state_dir);

  out->workers = 2;
  r.Integer("workers", 1, 256, &out->workers);

  int choice = 0;
  out->log = LogOptions();
  if (r.Choice("log_level", kLogLevels, &choice)) out->log.level = kLogLevels[choice];
  if (r.Choice("log_format", kLogFormats, &choice)) out->log.format = kLogFormats[choice];
  // An empty log_file is allowed and means "console only".
  std::string log_file;
  if (r.String("log_file", &log_file) && !log_file.empty()) out->log.file = Resolve(config_dir, log_file);

  // The socket defaults to a place under state_dir, so that one setting
  // moves all of a daemon's files.
  out->control_socket = Resolve(out->state_dir, "run/kilnd.sock");
  ReadPath(r, "control_socket", config_dir, &out->control_socket);
}

}  // namespace kiln

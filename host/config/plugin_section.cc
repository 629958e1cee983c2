// [plugin.NAME]: settings that belong to a plugin file rather than to a
// processor using it (two processors may share one plugin).
#include <cctype>

#include <fmt/format.h>

#include "host/config/sections.h"
#include "host/config/table_reader.h"

namespace kiln {
namespace {

const std::vector<std::string> kPluginKeys = {"sha256"};

bool IsSha256Hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

void ReadPluginSections(const TomlEntry* entry, Diagnostics* diag, DaemonConfig* out) {
  out->plugin_sha256.clear();
  if (entry == nullptr) return;
  if (entry->value.kind != TomlNode::Kind::kTable) {
    diag->At(entry->value, fmt::format("plugin: expected a table of plugins ([plugin.NAME]), found {}",
                                       TomlKindName(entry->value.kind)));
    return;
  }
  for (const TomlEntry& plugin : entry->value.entries) {
    if (!IsValidConfigName(plugin.key)) {
      diag->AtKey(plugin, fmt::format("[plugin.{}]: invalid plugin name: expected [a-z][a-z0-9_]{{0,63}}",
                                      plugin.key));
      continue;
    }
    if (plugin.value.kind != TomlNode::Kind::kTable) {
      diag->At(plugin.value, fmt::format("plugin.{}: expected a table, found {}", plugin.key,
                                         TomlKindName(plugin.value.kind)));
      continue;
    }
    const TableReader r(plugin.value, fmt::format("in [plugin.{}]", plugin.key), kPluginKeys, diag);
    std::string sha256;
    if (r.String("sha256", &sha256)) {
      if (!IsSha256Hex(sha256)) {
        r.diag()->At(r.Find("sha256")->value,
                     fmt::format("sha256: expected 64 hexadecimal digits, found '{}'", sha256));
        continue;
      }
      for (char& c : sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out->plugin_sha256[plugin.key] = sha256;
    }
  }
}

}  // namespace kiln

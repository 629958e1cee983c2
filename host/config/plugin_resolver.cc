#include "host/config/plugin_resolver.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kiln {

bool IsValidConfigName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

Status DirectoryPluginResolver::Resolve(const std::string& name,
                                        const std::vector<std::string>& plugin_dirs,
                                        std::shared_ptr<const Plugin>* out) {
  // The name becomes part of a path: refuse anything that could leave the
  // plugin directories ("../x") before touching the file system.
  if (!IsValidConfigName(name)) {
    return Status::InvalidArgument(
        fmt::format("plugin '{}': invalid name: expected [a-z][a-z0-9_]{{0,63}}", name));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(name); it != cache_.end()) {
    *out = it->second;
    return Status::OK();
  }
  for (const std::string& dir : plugin_dirs) {
    const std::filesystem::path file = std::filesystem::path(dir) / (name + ".so");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    // The first directory that has the file wins, even if the loader then
    // refuses it: silently falling back to another copy would run code the
    // user did not expect.
    std::shared_ptr<const Plugin> plugin;
    Status s = loader_.Load(file.string(), &plugin);
    if (!s.ok()) return s;
    cache_.emplace(name, plugin);
    *out = std::move(plugin);
    return Status::OK();
  }
  return Status::NotFound(
      fmt::format("plugin '{}' not found in plugin_dirs ({})", name, fmt::join(plugin_dirs, ", ")));
}

}  // namespace kiln

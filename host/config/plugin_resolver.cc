#include "host/config/plugin_resolver.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "host/base/sha256.h"
#include "host/config/config.h"

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
  const bool replacing = replacing_.count(name) > 0;
  if (auto it = cache_.find(name); it != cache_.end() && !replacing) {
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
    Status s = private_copies_ ? LoadCopy(name, file.string(), replacing, &plugin)
                               : loader_.Load(file.string(), &plugin, nullptr, replacing);
    if (!s.ok()) return s;
    replacing_.erase(name);
    cache_[name] = plugin;
    *out = std::move(plugin);
    return Status::OK();
  }
  return Status::NotFound(
      fmt::format("plugin '{}' not found in plugin_dirs ({})", name, fmt::join(plugin_dirs, ", ")));
}

void DirectoryPluginResolver::Prepare(const DaemonConfig& daemon) {
  std::lock_guard<std::mutex> lock(mu_);
  copy_dir_ = (std::filesystem::path(daemon.state_dir) / "plugins").string();
}

void DirectoryPluginResolver::Forget(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  replacing_.insert(name);
}

void DirectoryPluginResolver::Pin(const std::string& name, std::shared_ptr<const Plugin> plugin) {
  std::lock_guard<std::mutex> lock(mu_);
  replacing_.erase(name);
  cache_[name] = std::move(plugin);
}

Status DirectoryPluginResolver::LoadCopy(const std::string& name, const std::string& file, bool replacing,
                                         std::shared_ptr<const Plugin>* out) {
  std::string hash;
  Status s = Sha256File(file, &hash);
  if (!s.ok()) return s;
  std::error_code ec;
  std::filesystem::create_directories(copy_dir_, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot create: {}", copy_dir_, ec.message()));
  const std::string copy = (std::filesystem::path(copy_dir_) / (name + "-" + hash.substr(0, 16) + ".so")).string();
  // The same contents are the same plugin: share it, so no second owner
  // can delete a copy that is still in use.
  if (auto alive = copies_[copy].lock()) {
    *out = std::move(alive);
    return Status::OK();
  }
  if (!std::filesystem::exists(copy, ec)) {
    // Write-then-rename: a half-written copy never carries the final name.
    const std::string tmp = copy + ".tmp";
    std::filesystem::copy_file(file, tmp, std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) std::filesystem::rename(tmp, copy, ec);
    if (ec) return Status::IOError(fmt::format("{}: cannot copy to {}: {}", file, copy, ec.message()));
  }
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  s = loader_.Load(copy, &plugin, &info, replacing);
  if (!s.ok()) {
    std::filesystem::remove(copy, ec);
    // Name the file the user gave, not our copy of it.
    std::string message = s.message();
    for (size_t at; (at = message.find(copy)) != std::string::npos;) message.replace(at, copy.size(), file);
    return Status(s.code() == Status::Code::kNotFound ? Status::NotFound(message) : Status::Refused(message));
  }
  // The copy goes when the plugin does: the holder unloads the image
  // first, then removes its file.
  struct Holder {
    std::shared_ptr<const Plugin> plugin;
    std::string path;
    ~Holder() {
      plugin.reset();
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  };
  auto holder = std::make_shared<Holder>();  // built in place: a temporary Holder would delete the copy
  holder->plugin = std::move(plugin);
  holder->path = copy;
  *out = std::shared_ptr<const Plugin>(holder, holder->plugin.get());
  copies_[copy] = *out;
  return Status::OK();
}

}  // namespace kiln

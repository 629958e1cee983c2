#include "host/config/plugin_resolver.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "host/base/sha256.h"
#include "host/config/config.h"
#include "host/loader/trust.h"

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
    // A pin added by a reload applies to the plugin already loaded too.
    if (Status s = CheckPin(name, it->second.file, it->second.sha256); !s.ok()) return s;
    *out = it->second.plugin;
    return Status::OK();
  }
  for (const std::string& dir : plugin_dirs) {
    const std::filesystem::path file = std::filesystem::path(dir) / (name + ".so");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    // The first directory that has the file wins, even if the loader then
    // refuses it: silently falling back to another copy would run code the
    // user did not expect.
    const bool check_trust = std::find(unchecked_dirs_.begin(), unchecked_dirs_.end(), dir) == unchecked_dirs_.end();
    Cached loaded;
    loaded.file = file.string();
    Status s = private_copies_ ? LoadCopy(name, loaded.file, replacing, check_trust, &loaded)
                               : LoadInPlace(name, loaded.file, replacing, check_trust, &loaded);
    if (!s.ok()) return s;
    replacing_.erase(name);
    *out = loaded.plugin;
    cache_[name] = std::move(loaded);
    return Status::OK();
  }
  return Status::NotFound(
      fmt::format("plugin '{}' not found in plugin_dirs ({})", name, fmt::join(plugin_dirs, ", ")));
}

void DirectoryPluginResolver::Prepare(const DaemonConfig& daemon) {
  std::lock_guard<std::mutex> lock(mu_);
  copy_dir_ = (std::filesystem::path(daemon.state_dir) / "plugins").string();
  unchecked_dirs_ = daemon.unchecked_plugin_dirs;
  pins_ = daemon.plugin_sha256;
}

void DirectoryPluginResolver::Forget(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  replacing_.insert(name);
}

void DirectoryPluginResolver::Pin(const std::string& name, std::shared_ptr<const Plugin> plugin) {
  std::lock_guard<std::mutex> lock(mu_);
  replacing_.erase(name);
  Cached& entry = cache_[name];
  if (entry.plugin == plugin) return;
  // A pinned image is a private copy still in use: its file is its bytes.
  entry.sha256 = plugin->file_hash();
  if (entry.file.empty()) entry.file = plugin->info().path;
  entry.plugin = std::move(plugin);
}

Status DirectoryPluginResolver::CheckPin(const std::string& name, const std::string& file,
                                         const std::string& sha256) const {
  auto pin = pins_.find(name);
  if (pin == pins_.end() || pin->second == sha256) return Status::OK();
  return Status::Refused(fmt::format("plugin '{}': {} has sha256 {}, but [plugin.{}] pins {}", name, file, sha256,
                                     name, pin->second));
}

Status DirectoryPluginResolver::LoadInPlace(const std::string& name, const std::string& file, bool replacing,
                                            bool check_trust, Cached* out) {
  if (check_trust) {
    if (Status s = CheckTrustedPath(file); !s.ok()) return s;
  }
  if (Status s = Sha256File(file, &out->sha256); !s.ok()) return s;
  if (Status s = CheckPin(name, file, out->sha256); !s.ok()) return s;
  // The path was checked above (or is exempt); the loader need not redo it.
  return loader_.Load(file, &out->plugin, nullptr, {.replacing = replacing, .check_trust = false});
}

Status DirectoryPluginResolver::LoadCopy(const std::string& name, const std::string& file, bool replacing,
                                         bool check_trust, Cached* out) {
  // The original is what others could have planted: check it before its
  // bytes are copied. The copy is then checked by the loader like any file.
  if (check_trust) {
    if (Status s = CheckTrustedPath(file); !s.ok()) return s;
  }
  std::error_code ec;
  std::filesystem::create_directories(copy_dir_, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot create: {}", copy_dir_, ec.message()));
  // Copy, then hash the copy: the bytes hashed (and checked against a pin)
  // are the bytes that get mapped, even if the original changes meanwhile.
  // Write-then-rename: a half-written copy never carries a final name.
  // The pid keeps two kilnds (one about to be refused) off each other's file.
  const std::string tmp =
      (std::filesystem::path(copy_dir_) / fmt::format("{}.so.{}.tmp", name, getpid())).string();
  std::filesystem::copy_file(file, tmp, std::filesystem::copy_options::overwrite_existing, ec);
  // The copy is ours whatever the original's mode (a file in an unchecked
  // directory may be group-writable): only we may write it, a worker running
  // as another user may read it.
  if (!ec) std::filesystem::permissions(tmp, std::filesystem::perms(0755), ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot copy to {}: {}", file, tmp, ec.message()));
  Status s = Sha256File(tmp, &out->sha256);
  if (s.ok()) s = CheckPin(name, file, out->sha256);
  if (!s.ok()) {
    std::filesystem::remove(tmp, ec);
    return s;
  }
  const std::string copy = (std::filesystem::path(copy_dir_) / (name + "-" + out->sha256.substr(0, 16) + ".so")).string();
  // The same contents are the same plugin: share it, so no second owner
  // can delete a copy that is still in use.
  if (auto alive = copies_[copy].lock()) {
    std::filesystem::remove(tmp, ec);
    out->plugin = std::move(alive);
    return Status::OK();
  }
  std::filesystem::rename(tmp, copy, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot copy to {}: {}", file, copy, ec.message()));
  std::shared_ptr<const Plugin> plugin;
  PluginInfo info;
  s = loader_.Load(copy, &plugin, &info, {.replacing = replacing});
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
  out->plugin = std::shared_ptr<const Plugin>(holder, holder->plugin.get());
  copies_[copy] = out->plugin;
  return Status::OK();
}

}  // namespace kiln

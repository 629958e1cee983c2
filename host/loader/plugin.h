// A plugin image that passed every load-time check.
//
// A Plugin owns the loaded shared object. Instances of processors hold a
// shared_ptr to it, so the image is unloaded only when the last instance that
// runs its code is gone (hot swap relies on this).
#ifndef KILN_HOST_LOADER_PLUGIN_H_
#define KILN_HOST_LOADER_PLUGIN_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "host/loader/option_schema.h"
#include "kiln/plugin.h"

namespace kiln {

// The lifecycle functions every ABI 1.0 plugin must export, in call order.
inline constexpr const char* kRequiredMethods[] = {
    "configure", "init", "extract", "validate", "transform", "save", "post_process", "teardown"};
inline constexpr size_t kRequiredMethodCount = std::size(kRequiredMethods);

// What the loader learned about a file: all of it for a plugin that loaded,
// as much as it got to for one that was refused (kilnctl verify prints both).
struct PluginInfo {
  std::string path;
  std::string name;
  std::string version;
  int abi_major = -1;  // -1: not read
  int abi_minor = -1;
  uint64_t capabilities = 0;
  std::string compiler;
  uint32_t cxx_runtime = 0;
  std::vector<OptionSpec> options;
  bool methods_checked = false;
  bool method_present[kRequiredMethodCount] = {};
  std::vector<std::string> gnu_unique_symbols;

  bool partitioned() const { return (capabilities & KILN_CAP_PARTITIONED_BY_DATE) != 0; }
};

// "partitioned_by_date" etc., comma-separated; "none" when zero.
std::string CapabilityNames(uint64_t capabilities);
// "libstdc++", "libc++", "none (C)", ...
const char* CxxRuntimeName(uint32_t runtime);

class Plugin {
 public:
  Plugin(boost::dll::shared_library library, const kiln_plugin_descriptor_t& descriptor,
         PluginInfo info)
      : library_(std::move(library)), descriptor_(descriptor), info_(std::move(info)) {}
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const PluginInfo& info() const { return info_; }
  const std::string& name() const { return info_.name; }
  // SHA-256 of the file, computed on first use (loading stays cheap); empty
  // if the file can no longer be read.
  const std::string& file_hash() const;
  // The host's copy of the descriptor: fields the plugin's struct_size does
  // not cover are zero, so an optional function added by a later minor
  // version reads as NULL.
  const kiln_plugin_descriptor_t& descriptor() const { return descriptor_; }

 private:
  boost::dll::shared_library library_;  // unloads in its destructor
  mutable std::once_flag hash_once_;
  mutable std::string hash_;
  kiln_plugin_descriptor_t descriptor_;
  PluginInfo info_;
};

}  // namespace kiln

#endif  // KILN_HOST_LOADER_PLUGIN_H_

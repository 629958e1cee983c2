// The verifying loader: the one way a plugin gets into a Kiln process.
//
// kilnd, kilnctl and the tests all load plugins through Loader::Load, which
// checks, in this order, and stops at the first failure:
//   1. the file exists and is readable;
//   2. it is a complete ELF shared object for this machine (not an executable);
//   2a. only root or this process's user can change it or any directory
//       above it (host/loader/trust.h);
//   3. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds: every symbol resolves now;
//   4. it exports KILN_ENTRY_SYMBOL, which returns a descriptor;
//   5. the descriptor's magic;
//   6. ABI major equal to the host's, minor not newer;
//   7. the build signature (pointer size, byte order);
//   8. struct_size covers every field of the plugin's ABI version;
//   9. every required lifecycle function is present, all missing ones named;
//  10. name and version are valid, capabilities known, name not yet loaded;
//  11. the option schema is well formed.
// Each refusal is one line naming the file, what was expected and what was
// found. A file that fails step 1, 2 or 2a never reaches the dynamic linker.
#ifndef KILN_HOST_LOADER_LOADER_H_
#define KILN_HOST_LOADER_LOADER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "host/base/status.h"
#include "host/loader/plugin.h"

namespace kiln {

struct LoadOptions {
  // A new version of a plugin that is loaded now (hot swap): the name may
  // already be taken, and from now on belongs to this one.
  bool replacing = false;
  // Step 2a. Off for a path someone vouches for: a directory the config
  // lists in unchecked_plugin_dirs, `kilnctl --unchecked`, or a caller that
  // has just run CheckTrustedPath itself.
  bool check_trust = true;
};

class Loader {
 public:
  // `host_abi_minor` is the minor version this loader speaks; tests lower
  // or raise it to prove the minor-version rule both ways.
  explicit Loader(uint16_t host_abi_minor = KILN_ABI_MINOR) : host_abi_minor_(host_abi_minor) {}
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Loads and verifies `path`. On success *out holds the plugin; `info`, when
  // given, is filled with what was learned whether or not the load succeeded.
  Status Load(const std::string& path, std::shared_ptr<const Plugin>* out,
              PluginInfo* info = nullptr, LoadOptions options = {});

 private:
  Status Verify(const std::string& path, std::shared_ptr<const Plugin>* out, PluginInfo* info,
                LoadOptions options);

  const uint16_t host_abi_minor_;
  std::mutex mu_;
  // Plugin names currently loaded, to refuse a second plugin with the same
  // name. Entries expire with the plugin.
  std::map<std::string, std::weak_ptr<const Plugin>, std::less<>> loaded_;
};

}  // namespace kiln

#endif  // KILN_HOST_LOADER_LOADER_H_

// How a config's plugin names become loaded, verified plugins.
//
// LoadConfig does not load files itself: it asks a PluginResolver, so kilnd
// can share one Loader (and its "name already loaded" rule) across reloads,
// and tests can supply plugins that no file provides.
#ifndef KILN_HOST_CONFIG_PLUGIN_RESOLVER_H_
#define KILN_HOST_CONFIG_PLUGIN_RESOLVER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/base/status.h"
#include "host/loader/loader.h"
#include "host/loader/plugin.h"

namespace kiln {

class PluginResolver {
 public:
  virtual ~PluginResolver() = default;

  // Finds and loads the plugin called `name`, searching `plugin_dirs` (in
  // order). Errors are one line and do not carry a config location: the
  // caller adds that.
  virtual Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                         std::shared_ptr<const Plugin>* out) = 0;
};

// Resolves `name` to the file <dir>/<name>.so in the first directory that has
// one, and loads it through a Loader. Results are cached by name, so a config
// that names a plugin twice loads it once, and later calls return the same
// image whatever the directories (a new image needs a new resolver). Errors:
//   plugin 'x' not found in plugin_dirs (/a, /b)
//   plugin 'X': invalid name: expected [a-z][a-z0-9_]{0,63}
//   <the loader's one-line refusal, unchanged>
// Safe to call from several threads.
class DirectoryPluginResolver : public PluginResolver {
 public:
  explicit DirectoryPluginResolver(Loader& loader) : loader_(loader) {}

  Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                 std::shared_ptr<const Plugin>* out) override;

 private:
  Loader& loader_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Plugin>, std::less<>> cache_;
};

// True if `name` is a valid plugin or processor name: [a-z][a-z0-9_]{0,63}.
bool IsValidConfigName(const std::string& name);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_PLUGIN_RESOLVER_H_

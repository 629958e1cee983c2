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
#include <set>
#include <string>
#include <vector>

#include "host/base/status.h"
#include "host/loader/loader.h"
#include "host/loader/plugin.h"

namespace kiln {
struct DaemonConfig;
}

namespace kiln {

class PluginResolver {
 public:
  virtual ~PluginResolver() = default;

  // Finds and loads the plugin called `name`, searching `plugin_dirs` (in
  // order). Errors are one line and do not carry a config location: the
  // caller adds that.
  virtual Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                         std::shared_ptr<const Plugin>* out) = 0;
  // Called once the [daemon] section is read, before any Resolve.
  virtual void Prepare(const DaemonConfig& daemon) { (void)daemon; }
};

// Resolves `name` to the file <dir>/<name>.so in the first directory that has
// one, and loads it through a Loader. Results are cached by name, so a config
// that names a plugin twice loads it once, and later calls return the same
// image whatever the directories (a new image needs a new resolver). Errors:
//   plugin 'x' not found in plugin_dirs (/a, /b)
//   plugin 'X': invalid name: expected [a-z][a-z0-9_]{0,63}
//   <the loader's one-line refusal, unchanged>
// Safe to call from several threads.
//
// With `private_copies` (kilnd), the file is never loaded where it lies:
// it is copied to <state_dir>/plugins/<name>-<sha256 prefix>.so, a name
// never reused for other contents, and the copy is loaded. The dynamic
// loader can then never hand back a cached old image for a replaced file,
// and a file overwritten in place cannot crash a process that maps it. A
// copy is deleted when the last user of its plugin lets go.
class DirectoryPluginResolver : public PluginResolver {
 public:
  explicit DirectoryPluginResolver(Loader& loader, bool private_copies = false)
      : loader_(loader), private_copies_(private_copies) {}

  Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                 std::shared_ptr<const Plugin>* out) override;
  void Prepare(const DaemonConfig& daemon) override;

  // Hot swap. Forget: the next Resolve of `name` loads the file again, as a
  // replacement of the plugin now cached. Pin: Resolve returns `plugin` for
  // `name` (a rollback, or keeping the old one after a refused swap).
  void Forget(const std::string& name);
  void Pin(const std::string& name, std::shared_ptr<const Plugin> plugin);

 private:
  Status LoadCopy(const std::string& name, const std::string& file, bool replacing,
                  std::shared_ptr<const Plugin>* out);

  Loader& loader_;
  const bool private_copies_;
  std::mutex mu_;
  std::string copy_dir_;
  std::map<std::string, std::shared_ptr<const Plugin>, std::less<>> cache_;
  std::set<std::string, std::less<>> replacing_;
  std::map<std::string, std::weak_ptr<const Plugin>> copies_;  // private copy path -> its plugin
};

// True if `name` is a valid plugin or processor name: [a-z][a-z0-9_]{0,63}.
bool IsValidConfigName(const std::string& name);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_PLUGIN_RESOLVER_H_

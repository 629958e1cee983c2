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
// image whatever the directories (a new image needs a new resolver). Before
// any byte of the file is mapped, the file and its directories must pass
// CheckTrustedPath (unless the directory is in unchecked_plugin_dirs) and its
// sha256 must match the config's pin, if it has one. Errors:
//   plugin 'x' not found in plugin_dirs (/a, /b)
//   plugin 'X': invalid name: expected [a-z][a-z0-9_]{0,63}
//   plugin 'x': /a/x.so has sha256 <hex>, but [plugin.x] pins <hex>
//   <the trust check's or the loader's one-line refusal, unchanged>
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
  struct Cached {
    std::shared_ptr<const Plugin> plugin;
    std::string file;    // the file in a plugin directory it came from
    std::string sha256;  // of the bytes that were loaded
  };
  Status CheckPin(const std::string& name, const std::string& file, const std::string& sha256) const;
  Status LoadInPlace(const std::string& name, const std::string& file, bool replacing, bool check_trust,
                     Cached* out);
  Status LoadCopy(const std::string& name, const std::string& file, bool replacing, bool check_trust,
                  Cached* out);

  Loader& loader_;
  const bool private_copies_;
  std::mutex mu_;
  std::string copy_dir_;
  std::vector<std::string> unchecked_dirs_;                          // from the config
  std::map<std::string, std::string, std::less<>> pins_;             // name -> sha256, from the config
  std::map<std::string, Cached, std::less<>> cache_;
  std::set<std::string, std::less<>> replacing_;
  std::map<std::string, std::weak_ptr<const Plugin>> copies_;  // private copy path -> its plugin
};

// True if `name` is a valid plugin or processor name: [a-z][a-z0-9_]{0,63}.
bool IsValidConfigName(const std::string& name);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_PLUGIN_RESOLVER_H_

// The steps of LoadConfig, one file each: the [daemon] table, each
// [[processor]] table, and the checks across processors. Internal to the
// config library.
#ifndef KILN_HOST_CONFIG_SECTIONS_H_
#define KILN_HOST_CONFIG_SECTIONS_H_

#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/config/diagnostics.h"
#include "host/config/plugin_resolver.h"
#include "host/config/toml_tree.h"

namespace kiln {

// Reads [daemon] (`table` is null when the file has none: all defaults).
// Relative paths are resolved against `config_dir`, which is absolute.
void ReadDaemonSection(const TomlNode* table, const std::string& config_dir, Diagnostics* diag,
                       DaemonConfig* out);

// Reads the [plugin.NAME] tables (`entry` is the top-level "plugin" key, or
// null) into out->plugin_sha256.
void ReadPluginSections(const TomlEntry* entry, Diagnostics* diag, DaemonConfig* out);

// A processor as read from its table, with what the cross-processor checks
// need to point at the right place.
struct ProcessorDraft {
  ProcessorConfig config;
  bool named = false;  // config.name is present and valid
  int name_line = 0;  // where the name's value was written
  int name_column = 0;
  struct Dependency {
    std::string name;
    int line = 0;
    int column = 0;
  };
  std::vector<Dependency> depends_on;  // as written, repeats removed
};

// Reads one [[processor]] table, resolving its plugin and binding its
// options. Problems go to `diag`; the draft holds whatever was good.
void ReadProcessorSection(const TomlNode& table, const DaemonConfig& daemon, PluginResolver& resolver,
                          Diagnostics* diag, ProcessorDraft* out);

// Checks depends_on across processors: unknown names (with did-you-mean),
// cycles ("dependency cycle: a -> b -> a"), and dependencies between a
// partitioned and an unpartitioned processor. Drafts with a duplicate name
// have already been reported; only the first of a name takes part.
void CheckDependencies(const std::vector<ProcessorDraft>& drafts, Diagnostics* diag);

// The processors of a config that passed every check, dependencies first,
// otherwise in file order.
std::vector<ProcessorConfig> OrderByDependencies(std::vector<ProcessorDraft> drafts);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_SECTIONS_H_

// LoadConfig on text already in memory (config.h describes the checks).
//
// kilnd reads its config from a file; tests and the config fuzzer
// (tests/fuzz) hand the text in directly.
#ifndef KILN_HOST_CONFIG_CONFIG_TEXT_H_
#define KILN_HOST_CONFIG_CONFIG_TEXT_H_

#include <string>
#include <vector>

#include "host/config/config.h"

namespace kiln {

// Exactly LoadConfig(path, ...) for a file that holds `text`: `path` names
// the file in every message, and relative paths in the config resolve
// against its directory. The file itself is never read.
Status LoadConfigText(const std::string& text, const std::string& path, PluginResolver& resolver,
                      Config* out, std::vector<std::string>* errors = nullptr);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_CONFIG_TEXT_H_

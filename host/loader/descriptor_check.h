// Checks 5-11 of the verifying loader (loader.h), on a descriptor in memory.
//
// Loader::Load dlopens a file and asks it for its descriptor; everything it
// then checks about that descriptor lives here, apart from the file, so the
// checks can be tested and fuzzed on descriptors built in memory.
#ifndef KILN_HOST_LOADER_DESCRIPTOR_CHECK_H_
#define KILN_HOST_LOADER_DESCRIPTOR_CHECK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "host/base/status.h"
#include "host/loader/plugin.h"
#include "kiln/plugin.h"

namespace kiln {

// Called once name, version and capabilities are valid and before the
// option schema is read, with the "plugin '<name>' (<path>)" prefix every
// later refusal starts with. A non-OK Status stops the verification and is
// returned as is (the loader refuses a name already loaded here).
using DescriptorNameCheck = std::function<Status(const std::string& who)>;

// Verifies the descriptor `d` a plugin at `path` returned: magic, ABI
// version against `host_abi_minor`, struct_size, build signature, required
// methods, name, version, capabilities and option schema, in that order,
// stopping at the first failure with the loader's one-line refusal. `info`
// is filled with what was learned whether or not the descriptor passes. On
// success *copy holds the host's copy of the descriptor: the plugin's
// struct_size bytes of it, the rest zero.
//
// Reads at most min(d->struct_size, sizeof *d) bytes of *d, and strings the
// descriptor points to (name, version and compiler up to 256 bytes).
Status VerifyDescriptor(const kiln_plugin_descriptor_t* d, const std::string& path, uint16_t host_abi_minor,
                        PluginInfo* info, kiln_plugin_descriptor_t* copy,
                        const DescriptorNameCheck& name_check = nullptr);

// [a-z][a-z0-9_]{0,63}: a plugin's name.
bool ValidPluginName(std::string_view s);
// A semantic version 2.0.0: MAJOR.MINOR.PATCH[-prerelease][+build].
bool ValidSemver(std::string_view s);

}  // namespace kiln

#endif  // KILN_HOST_LOADER_DESCRIPTOR_CHECK_H_

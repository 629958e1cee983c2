// Inspection of a plugin file before dlopen ever sees it.
//
// dlopen maps whatever it is given, and a truncated file it maps can raise
// SIGBUS when the loader touches a page past its end. So the host proves, by
// reading the file itself, that it is a complete ELF shared object for this
// machine before handing it to the dynamic linker.
#ifndef KILN_HOST_LOADER_ELF_FILE_H_
#define KILN_HOST_LOADER_ELF_FILE_H_

#include <string>
#include <vector>

#include "host/base/status.h"

namespace kiln {

struct ElfReport {
  // Defined dynamic symbols bound STB_GNU_UNIQUE: while any exists the image
  // can never be unloaded, which defeats hot swap.
  std::vector<std::string> gnu_unique_symbols;
};

// OK when `path` is a readable, complete ELF shared library (not an
// executable) for the machine the host runs on. Errors are one line,
// "<path>: <what was expected and what was found>".
Status InspectElfFile(const std::string& path, ElfReport* report);

}  // namespace kiln

#endif  // KILN_HOST_LOADER_ELF_FILE_H_

#include "host/loader/loader.h"

#include <dlfcn.h>

#include <cstring>

#include <fmt/format.h>

#include "host/loader/descriptor_check.h"
#include "host/loader/elf_file.h"
#include "host/loader/trust.h"

namespace kiln {
namespace {

// Rewrites glibc's "<path>: undefined symbol: foo" into the loader's voice.
std::string DlopenError(const std::string& path) {
  const char* raw = dlerror();
  std::string err = raw ? raw : "unknown error";
  static const char kUndefined[] = "undefined symbol: ";
  if (auto pos = err.find(kUndefined); pos != std::string::npos) {
    std::string sym = err.substr(pos + sizeof(kUndefined) - 1);
    if (auto paren = sym.find(" ("); paren != std::string::npos) sym.resize(paren);
    return fmt::format("{}: unresolved symbol '{}'", path, sym);
  }
  if (err.compare(0, path.size() + 2, path + ": ") == 0) err.erase(0, path.size() + 2);
  return fmt::format("{}: dlopen failed: {}", path, err);
}

}  // namespace

std::string CapabilityNames(uint64_t capabilities) {
  if (capabilities == 0) return "none";
  std::string out;
  if (capabilities & KILN_CAP_PARTITIONED_BY_DATE) out += "partitioned_by_date";
  if (uint64_t unknown = capabilities & ~KILN_CAP_KNOWN_V1_0) {
    out += fmt::format("{}unknown(0x{:x})", out.empty() ? "" : ",", unknown);
  }
  return out;
}

const char* CxxRuntimeName(uint32_t runtime) {
  switch (runtime) {
    case KILN_CXX_RUNTIME_NONE: return "none (C)";
    case KILN_CXX_RUNTIME_LIBSTDCXX: return "libstdc++";
    case KILN_CXX_RUNTIME_LIBSTDCXX_OLD: return "libstdc++ (pre-C++11 ABI)";
    case KILN_CXX_RUNTIME_LIBCXX: return "libc++";
    default: return "other";
  }
}

Status Loader::Load(const std::string& path, std::shared_ptr<const Plugin>* out, PluginInfo* info,
                    LoadOptions options) {
  PluginInfo scratch;
  PluginInfo* pi = info ? info : &scratch;
  *pi = PluginInfo();
  pi->path = path;
  std::lock_guard<std::mutex> lock(mu_);
  return Verify(path, out, pi, options);
}

Status Loader::Verify(const std::string& path, std::shared_ptr<const Plugin>* out, PluginInfo* info,
                      LoadOptions options) {
  // 1-2: the file itself, before the dynamic linker maps any of it.
  ElfReport elf;
  Status s = InspectElfFile(path, &elf);
  if (!s.ok()) return s;
  info->gnu_unique_symbols = elf.gnu_unique_symbols;

  // 2a: nobody but root or us can swap the file between here and dlopen.
  if (options.check_trust) {
    if (s = CheckTrustedPath(path); !s.ok()) return s;
  }

  // 3: dlopen through Boost.DLL. RTLD_NOW so an unresolved symbol fails here,
  // not in the middle of a run; RTLD_LOCAL so plugins cannot see each other.
  boost::dll::shared_library library;
  boost::dll::fs::error_code ec;
  dlerror();  // clear any stale message
  library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec || !library.is_loaded()) return Status::Refused(DlopenError(path));

  // 4: the entry symbol.
  if (!library.has(KILN_ENTRY_SYMBOL)) {
    return Status::Refused(fmt::format("{}: not a Kiln plugin: expected exported symbol '{}', found none",
                                       path, KILN_ENTRY_SYMBOL));
  }
  auto entry = library.get<const kiln_plugin_descriptor_t*()>(KILN_ENTRY_SYMBOL);
  const kiln_plugin_descriptor_t* d = entry();
  if (d == nullptr) {
    return Status::Refused(fmt::format("{}: {}() returned no descriptor", path, KILN_ENTRY_SYMBOL));
  }

  // 5-11: the descriptor itself (descriptor_check.h).
  kiln_plugin_descriptor_t desc;
  s = VerifyDescriptor(d, path, host_abi_minor_, info, &desc, [&](const std::string& who) {
    auto it = loaded_.find(info->name);
    if (it != loaded_.end() && !options.replacing) {
      if (auto other = it->second.lock()) {
        return Status::Refused(fmt::format("{}: name already loaded from {}", who, other->info().path));
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;

  auto plugin = std::make_shared<const Plugin>(std::move(library), desc, *info);
  loaded_[info->name] = plugin;
  *out = std::move(plugin);
  return Status::OK();
}

}  // namespace kiln

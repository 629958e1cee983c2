#include "host/loader/loader.h"

#include <dlfcn.h>

#include <cstring>

#include <fmt/format.h>

#include "host/loader/elf_file.h"

namespace kiln {
namespace {

constexpr size_t kMaxNameLength = 64;

bool ValidPluginName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Semantic version 2.0.0: MAJOR.MINOR.PATCH, numbers without leading zeros,
// then optional -prerelease and +build of [0-9A-Za-z-.] identifiers.
bool ValidSemver(std::string_view s) {
  size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || (s[start] == '0' && i - start > 1)) return false;
    if (part < 2) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  auto ident_list = [&](char lead) {
    if (i >= s.size() || s[i] != lead) return true;
    ++i;
    bool need = true;
    while (i < s.size() && s[i] != '+') {
      char c = s[i];
      if (c == '.') {
        if (need) return false;
        need = true;
      } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-') {
        need = false;
      } else {
        return false;
      }
      ++i;
    }
    return !need;
  };
  if (!ident_list('-')) return false;
  if (!ident_list('+')) return false;
  return i == s.size();
}

// A bounded copy of a string the plugin owns, for messages and PluginInfo.
std::string PluginString(const char* s) {
  if (s == nullptr) return std::string();
  return std::string(s, strnlen(s, 256));
}

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
                    bool replacing) {
  PluginInfo scratch;
  PluginInfo* pi = info ? info : &scratch;
  *pi = PluginInfo();
  pi->path = path;
  std::lock_guard<std::mutex> lock(mu_);
  return Verify(path, out, pi, replacing);
}

Status Loader::Verify(const std::string& path, std::shared_ptr<const Plugin>* out, PluginInfo* info,
                      bool replacing) {
  // 1-2: the file itself, before the dynamic linker maps any of it.
  ElfReport elf;
  Status s = InspectElfFile(path, &elf);
  if (!s.ok()) return s;
  info->gnu_unique_symbols = elf.gnu_unique_symbols;

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

  // 5-6: the fixed head, the only part read before its size is known.
  if (d->magic != KILN_ABI_MAGIC) {
    return Status::Refused(fmt::format("{}: bad descriptor magic: expected 0x{:016x}, found 0x{:016x}",
                                       path, KILN_ABI_MAGIC, d->magic));
  }
  info->abi_major = d->abi_major;
  info->abi_minor = d->abi_minor;
  if (d->abi_major != KILN_ABI_MAJOR) {
    return Status::Refused(fmt::format("{}: ABI major mismatch: host speaks {}.{}, plugin was built for {}.{}",
                                       path, KILN_ABI_MAJOR, host_abi_minor_, d->abi_major, d->abi_minor));
  }
  if (d->abi_minor > host_abi_minor_) {
    return Status::Refused(fmt::format(
        "{}: ABI minor too new: host speaks {}.{}, plugin was built for {}.{}; upgrade kilnd", path,
        KILN_ABI_MAJOR, host_abi_minor_, d->abi_major, d->abi_minor));
  }

  // 8 before 7: the signature lies inside the body, so the size must cover it
  // before it is read. Every minor of major 1 extends the 1.0 layout.
  if (d->struct_size < KILN_DESCRIPTOR_V1_0_SIZE) {
    return Status::Refused(fmt::format(
        "{}: descriptor too small: expected at least {} bytes for ABI {}.{}, found {}", path,
        KILN_DESCRIPTOR_V1_0_SIZE, d->abi_major, d->abi_minor, d->struct_size));
  }
  // Copy what the plugin defined; fields past its struct_size stay zero.
  kiln_plugin_descriptor_t desc;
  std::memset(&desc, 0, sizeof desc);
  std::memcpy(&desc, d, std::min<size_t>(d->struct_size, sizeof desc));

  // 7: build signature.
  info->compiler = PluginString(desc.build.compiler);
  info->cxx_runtime = desc.build.cxx_runtime;
  if (desc.build.pointer_size != sizeof(void*)) {
    return Status::Refused(fmt::format("{}: build signature mismatch: expected pointer size {}, found {}",
                                       path, sizeof(void*), desc.build.pointer_size));
  }
  if (desc.build.byte_order != KILN_BYTE_ORDER_MARK) {
    return Status::Refused(fmt::format("{}: build signature mismatch: expected byte order mark 0x{:08x}, found 0x{:08x}",
                                       path, KILN_BYTE_ORDER_MARK, desc.build.byte_order));
  }

  // 9: every required method, all missing ones at once.
  info->name = PluginString(desc.name);
  const std::string who = fmt::format("plugin '{}' ({})", info->name, path);
  const void* methods[kRequiredMethodCount] = {
      reinterpret_cast<const void*>(desc.configure), reinterpret_cast<const void*>(desc.init),
      reinterpret_cast<const void*>(desc.extract),   reinterpret_cast<const void*>(desc.validate),
      reinterpret_cast<const void*>(desc.transform), reinterpret_cast<const void*>(desc.save),
      reinterpret_cast<const void*>(desc.post_process), reinterpret_cast<const void*>(desc.teardown)};
  std::string missing;
  for (size_t i = 0; i < kRequiredMethodCount; ++i) {
    info->method_present[i] = methods[i] != nullptr;
    if (!info->method_present[i]) missing += fmt::format("{}{}", missing.empty() ? "" : ", ", kRequiredMethods[i]);
  }
  info->methods_checked = true;
  if (!missing.empty()) return Status::Refused(fmt::format("{}: missing required methods: {}", who, missing));

  // 10: identity.
  if (!ValidPluginName(info->name)) {
    return Status::Refused(fmt::format("{}: invalid name: expected [a-z][a-z0-9_]{{0,63}}, found '{}'",
                                       who, info->name));
  }
  info->version = PluginString(desc.version);
  if (!ValidSemver(info->version)) {
    return Status::Refused(fmt::format(
        "{}: invalid version: expected a semantic version like 1.2.3, found '{}'", who, info->version));
  }
  info->capabilities = desc.capabilities;
  if (uint64_t unknown = desc.capabilities & ~KILN_CAP_KNOWN_V1_0) {
    return Status::Refused(fmt::format("{}: unknown capability bits 0x{:x} for ABI {}.{}", who, unknown,
                                       info->abi_major, info->abi_minor));
  }

  auto it = loaded_.find(info->name);
  if (it != loaded_.end() && !replacing) {
    if (auto other = it->second.lock()) {
      return Status::Refused(fmt::format("{}: name already loaded from {}", who, other->info().path));
    }
  }

  // 11: the option schema.
  s = ReadOptionSchema(desc.options, desc.option_count, &info->options);
  if (!s.ok()) return Status::Refused(fmt::format("{}: {}", who, s.message()));

  auto plugin = std::make_shared<const Plugin>(std::move(library), desc, *info);
  loaded_[info->name] = plugin;
  *out = std::move(plugin);
  return Status::OK();
}

}  // namespace kiln

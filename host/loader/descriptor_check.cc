#include "host/loader/descriptor_check.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "host/base/printable.h"

namespace kiln {
namespace {

constexpr size_t kMaxNameLength = 64;

// A bounded copy of a string the plugin owns, for messages and PluginInfo.
std::string PluginString(const char* s) {
  if (s == nullptr) return std::string();
  return std::string(s, strnlen(s, 256));
}

}  // namespace

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

Status VerifyDescriptor(const kiln_plugin_descriptor_t* d, const std::string& path, uint16_t host_abi_minor,
                        PluginInfo* info, kiln_plugin_descriptor_t* copy, const DescriptorNameCheck& name_check) {
  // 5-6: the fixed head, the only part read before its size is known.
  if (d->magic != KILN_ABI_MAGIC) {
    return Status::Refused(fmt::format("{}: bad descriptor magic: expected 0x{:016x}, found 0x{:016x}",
                                       path, KILN_ABI_MAGIC, d->magic));
  }
  info->abi_major = d->abi_major;
  info->abi_minor = d->abi_minor;
  if (d->abi_major != KILN_ABI_MAJOR) {
    return Status::Refused(fmt::format("{}: ABI major mismatch: host speaks {}.{}, plugin was built for {}.{}",
                                       path, KILN_ABI_MAJOR, host_abi_minor, d->abi_major, d->abi_minor));
  }
  if (d->abi_minor > host_abi_minor) {
    return Status::Refused(fmt::format(
        "{}: ABI minor too new: host speaks {}.{}, plugin was built for {}.{}; upgrade kilnd", path,
        KILN_ABI_MAJOR, host_abi_minor, d->abi_major, d->abi_minor));
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
  const std::string who = fmt::format("plugin '{}' ({})", Printable(info->name), path);
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
                                       who, Printable(info->name)));
  }
  info->version = PluginString(desc.version);
  if (!ValidSemver(info->version)) {
    return Status::Refused(fmt::format(
        "{}: invalid version: expected a semantic version like 1.2.3, found '{}'", who, Printable(info->version)));
  }
  info->capabilities = desc.capabilities;
  if (uint64_t unknown = desc.capabilities & ~KILN_CAP_KNOWN_V1_0) {
    return Status::Refused(fmt::format("{}: unknown capability bits 0x{:x} for ABI {}.{}", who, unknown,
                                       info->abi_major, info->abi_minor));
  }

  if (name_check) {
    if (Status s = name_check(who); !s.ok()) return s;
  }

  // 11: the option schema.
  Status s = ReadOptionSchema(desc.options, desc.option_count, &info->options);
  if (!s.ok()) return Status::Refused(fmt::format("{}: {}", who, s.message()));

  *copy = desc;
  return Status::OK();
}

}  // namespace kiln

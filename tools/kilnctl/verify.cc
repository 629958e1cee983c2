// kilnctl verify FILE.so...: loads each file through the host's loader and
// reports what it found. Plugin authors run this in their own CI.
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "host/loader/loader.h"
#include "tools/kilnctl/commands.h"

namespace kiln::ctl {
namespace {

std::string OptionLine(const OptionSpec& o) {
  std::string line = fmt::format("{} ({})", o.name, OptionTypeName(o.type));
  line += o.required ? ", required" : fmt::format(", default {}", o.default_text);
  return line + ": " + o.doc;
}

nlohmann::json ToJson(const PluginInfo& info, const Status& s) {
  nlohmann::json j;
  j["path"] = info.path;
  j["ok"] = s.ok();
  j["error"] = s.ok() ? nlohmann::json(nullptr) : nlohmann::json(s.message());
  j["name"] = info.name;
  j["version"] = info.version;
  j["sdk"] = info.abi_major < 0 ? nlohmann::json(nullptr)
                                : nlohmann::json(fmt::format("{}.{}", info.abi_major, info.abi_minor));
  j["compiler"] = info.compiler;
  j["cxx_runtime"] = CxxRuntimeName(info.cxx_runtime);
  j["capabilities"] = nlohmann::json::array();
  if (info.partitioned()) j["capabilities"].push_back("partitioned_by_date");
  j["options"] = nlohmann::json::array();
  for (const OptionSpec& o : info.options) {
    j["options"].push_back({{"name", o.name},
                            {"type", OptionTypeName(o.type)},
                            {"required", o.required},
                            {"default", o.required ? nlohmann::json(nullptr) : nlohmann::json(o.default_text)},
                            {"doc", o.doc}});
  }
  j["methods"] = nlohmann::json::object();
  if (info.methods_checked) {
    for (size_t i = 0; i < kRequiredMethodCount; ++i) {
      j["methods"][kRequiredMethods[i]] = info.method_present[i] ? "ok" : "missing";
    }
  }
  j["gnu_unique_symbols"] = info.gnu_unique_symbols;
  return j;
}

void PrintHuman(const PluginInfo& info, const Status& s) {
  std::printf("%-5s %s\n", s.ok() ? "ok" : "FAIL", info.path.c_str());
  auto row = [](const char* key, const std::string& value) {
    std::printf("      %-13s %s\n", key, value.c_str());
  };
  if (!s.ok()) row("error", s.message());
  if (!info.name.empty()) row("plugin", info.version.empty() ? info.name : info.name + " " + info.version);
  if (info.abi_major >= 0) {
    std::string sdk = fmt::format("{}.{}", info.abi_major, info.abi_minor);
    if (!info.compiler.empty()) sdk += fmt::format(" (built with {}, {})", info.compiler, CxxRuntimeName(info.cxx_runtime));
    row("sdk", sdk);
  }
  if (s.ok()) {
    row("capabilities", CapabilityNames(info.capabilities));
    if (info.options.empty()) row("options", "none");
    for (size_t i = 0; i < info.options.size(); ++i) row(i == 0 ? "options" : "", OptionLine(info.options[i]));
  }
  if (info.methods_checked) {
    for (size_t i = 0; i < kRequiredMethodCount; ++i) {
      row(i == 0 ? "methods" : "", fmt::format("{:<13} {}", kRequiredMethods[i], info.method_present[i] ? "ok" : "MISSING"));
    }
  }
  if (!info.gnu_unique_symbols.empty()) {
    std::fprintf(stderr,
                 "warning: %s: %zu STB_GNU_UNIQUE symbol(s), first '%s': the image can never be unloaded, "
                 "so hot swap cannot replace it; build with -fno-gnu-unique\n",
                 info.path.c_str(), info.gnu_unique_symbols.size(), info.gnu_unique_symbols[0].c_str());
  }
}

}  // namespace

Command AddVerify(CLI::App& app) {
  auto* cmd = app.add_subcommand("verify", "Load each plugin through the host's loader and check it");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  auto unchecked = std::make_shared<bool>(false);
  cmd->add_option("files", *files, "Plugin shared objects")->required();
  cmd->add_flag("--json", *json, "One JSON array on stdout");
  cmd->add_flag("--unchecked", *unchecked,
                "Skip the check that only root or you can change the files and their directories");
  return {cmd, [files, json, unchecked] {
    Loader loader;  // one loader: duplicate names among the files are refused too
    std::vector<std::shared_ptr<const Plugin>> keep;
    nlohmann::json all = nlohmann::json::array();
    bool ok = true;
    for (const std::string& path : *files) {
      std::shared_ptr<const Plugin> plugin;
      PluginInfo info;
      Status s = loader.Load(path, &plugin, &info, {.check_trust = !*unchecked});
      ok = ok && s.ok();
      if (plugin) keep.push_back(plugin);
      if (*json) all.push_back(ToJson(info, s));
      else PrintHuman(info, s);
    }
    if (*json) std::printf("%s\n", all.dump(2).c_str());
    return ok ? kExitOk : kExitFailed;
  }};
}

}  // namespace kiln::ctl

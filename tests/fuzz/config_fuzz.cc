// Fuzz target: the config loader and validator (LoadConfigText), on the
// bytes as the text of a config file. Plugins come from an in-memory
// resolver, so no file is read and no plugin code runs.
//
// Checks: LoadConfig's contract in config.h. A failure has at least one
// error, each one line "path:line:col: message", and the Status carries the
// first; a success has every processor after those it depends on, with a
// time zone.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/config/config_text.h"
#include "host/config/plugin_resolver.h"
#include "tests/fuzz/fuzz_check.h"

namespace kiln {
namespace {

OptionSpec Option(const char* name, int32_t type, const char* default_text, const char* doc) {
  OptionSpec o;
  o.name = name;
  o.type = type;
  o.doc = doc;
  if (default_text == nullptr) {
    o.required = true;
  } else {
    o.default_text = default_text;
    Status s = ParseOptionText(type, default_text, &o.default_value.emplace());
    FUZZ_CHECK(s.ok(), s.message());
  }
  return o;
}

std::shared_ptr<const Plugin> MakePlugin(const std::string& name, bool partitioned, std::vector<OptionSpec> options) {
  PluginInfo info;
  info.path = "(fuzz)/" + name + ".so";
  info.name = name;
  info.version = "1.0.0";
  info.capabilities = partitioned ? KILN_CAP_PARTITIONED_BY_DATE : 0;
  info.options = std::move(options);
  return std::make_shared<const Plugin>(boost::dll::shared_library(), kiln_plugin_descriptor_t{}, info);
}

// The plugins the seed configs name, plus "plain", which is unpartitioned
// (as in tests/config/config_test_util.h).
class FuzzResolver : public PluginResolver {
 public:
  FuzzResolver() {
    // The schemas of plugins/ (rolling_average.cc, row_count.c, ...).
    const char* kReq = nullptr;
    plugins_["rolling_average"] = MakePlugin(
        "rolling_average", true,
        {Option("input", KILN_OPTION_STRING, kReq, "csv"), Option("output_dir", KILN_OPTION_STRING, kReq, "dir"),
         Option("window", KILN_OPTION_INT, "5", "games")});
    plugins_["row_count"] = MakePlugin(
        "row_count", true,
        {Option("input", KILN_OPTION_STRING, kReq, "csv"), Option("output_dir", KILN_OPTION_STRING, kReq, "dir")});
    plugins_["player_daily_cache"] = MakePlugin(
        "player_daily_cache", true,
        {Option("season_db", KILN_OPTION_STRING, kReq, "db"), Option("db", KILN_OPTION_STRING, kReq, "db"),
         Option("window_short", KILN_OPTION_INT, "5", "games"), Option("window_long", KILN_OPTION_INT, "10", "games")});
    plugins_["ml_feature_store"] = MakePlugin(
        "ml_feature_store", true,
        {Option("season_db", KILN_OPTION_STRING, kReq, "db"), Option("cache_db", KILN_OPTION_STRING, kReq, "db"),
         Option("db", KILN_OPTION_STRING, kReq, "db")});
    plugins_["spot_check"] = MakePlugin(
        "spot_check", true,
        {Option("season_db", KILN_OPTION_STRING, kReq, "db"), Option("cache_db", KILN_OPTION_STRING, kReq, "db"),
         Option("features_db", KILN_OPTION_STRING, kReq, "db"), Option("samples", KILN_OPTION_INT, "20", "n"),
         Option("seed", KILN_OPTION_INT, "1", "seed"), Option("lookback_days", KILN_OPTION_INT, "1", "days"),
         Option("threshold", KILN_OPTION_FLOAT, "0.95", "fraction"),
         Option("usage_tolerance", KILN_OPTION_FLOAT, "0.025", "tolerance"),
         Option("window_short", KILN_OPTION_INT, "5", "games"), Option("window_long", KILN_OPTION_INT, "10", "games")});
    plugins_["plain"] = MakePlugin(
        "plain", false,
        {Option("path", KILN_OPTION_STRING, "-", "a path"), Option("since", KILN_OPTION_DATE, "2025-01-01", "day")});
  }

  Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                 std::shared_ptr<const Plugin>* out) override {
    auto it = plugins_.find(name);
    if (it == plugins_.end()) {
      std::string dirs;
      for (const std::string& d : plugin_dirs) dirs += (dirs.empty() ? "" : ", ") + d;
      return Status::NotFound("plugin '" + name + "' not found in plugin_dirs (" + dirs + ")");
    }
    *out = it->second;
    return Status::OK();
  }

 private:
  std::map<std::string, std::shared_ptr<const Plugin>> plugins_;
};

}  // namespace
}  // namespace kiln

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln;
  static FuzzResolver* resolver = new FuzzResolver();
  const std::string path = "/fuzz/etc/kiln.toml";
  const std::string text(reinterpret_cast<const char*>(data), size);

  Config config;
  config.path = "untouched";
  std::vector<std::string> errors;
  Status s = LoadConfigText(text, path, *resolver, &config, &errors);
  if (!s.ok()) {
    FUZZ_CHECK(config.path == "untouched", "a failed config changed *out");
    FUZZ_CHECK(!errors.empty(), s.ToString());
    FUZZ_CHECK(s.message().rfind(errors.front(), 0) == 0, s.message());
    for (const std::string& e : errors) {
      FUZZ_CHECK(e.rfind(path + ":", 0) == 0, e);
      FUZZ_CHECK(kiln_fuzz::OneLine(e), e);
    }
    return 0;
  }
  FUZZ_CHECK(errors.empty());
  FUZZ_CHECK(config.path == path);
  std::set<std::string> seen;
  for (const ProcessorConfig& p : config.processors) {
    FUZZ_CHECK(p.zone != nullptr, p.name);
    FUZZ_CHECK(p.loaded != nullptr, p.name);
    FUZZ_CHECK(!(p.schedule && p.every), p.name);
    for (const std::string& d : p.depends_on) FUZZ_CHECK(seen.count(d) == 1, p.name + " before " + d);
    FUZZ_CHECK(seen.insert(p.name).second, "duplicate " + p.name);
  }
  return 0;
}

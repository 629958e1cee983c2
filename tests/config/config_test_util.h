// Shared by the config tests: a scratch directory to write configs into and a
// resolver that finds the real test plugins plus one unpartitioned plugin
// that no file provides (every built plugin is partitioned by date).
#ifndef KILN_TESTS_CONFIG_CONFIG_TEST_UTIL_H_
#define KILN_TESTS_CONFIG_CONFIG_TEST_UTIL_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/config/config.h"
#include "host/config/plugin_resolver.h"
#include "host/loader/loader.h"

namespace kiln {

inline const std::string kGalleryDir = KILN_GALLERY_DIR;
inline const std::string kPluginsDir = KILN_PLUGINS_DIR;

// "plain": not partitioned; optional options path (string, "-") and since
// (date, 2025-01-01).
class TestResolver : public PluginResolver {
 public:
  TestResolver() : directories_(loader_) {}

  Status Resolve(const std::string& name, const std::vector<std::string>& plugin_dirs,
                 std::shared_ptr<const Plugin>* out) override {
    ++calls;
    if (name != "plain") return directories_.Resolve(name, plugin_dirs, out);
    PluginInfo info;
    info.path = "(built in)/plain.so";
    info.name = "plain";
    info.version = "1.0.0";
    info.capabilities = 0;
    OptionSpec path;
    path.name = "path";
    path.type = KILN_OPTION_STRING;
    path.default_value = OptionValue(std::string("-"));
    path.default_text = "-";
    path.doc = "a path";
    info.options.push_back(path);
    OptionSpec since;
    since.name = "since";
    since.type = KILN_OPTION_DATE;
    since.default_value = OptionValue(std::string("2025-01-01"));
    since.default_text = "2025-01-01";
    since.doc = "first day";
    info.options.push_back(since);
    *out = std::make_shared<Plugin>(boost::dll::shared_library(), kiln_plugin_descriptor_t{}, info);
    return Status::OK();
  }
  void Prepare(const DaemonConfig& daemon) override { directories_.Prepare(daemon); }

  int calls = 0;

 private:
  Loader loader_;
  DirectoryPluginResolver directories_;
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln_config_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `text` to <scratch>/<name> and returns its path.
  std::string Write(const std::string& text, const std::string& name = "kiln.toml") {
    const std::filesystem::path p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  Status Load(const std::string& path, Config* out, std::vector<std::string>* errors) {
    return LoadConfig(path, resolver_, out, errors);
  }

  std::filesystem::path dir_;
  TestResolver resolver_;
};

}  // namespace kiln

#endif  // KILN_TESTS_CONFIG_CONFIG_TEST_UTIL_H_

// What LoadConfig trusts: [plugin.NAME] sha256 pins, the trust check of
// plugin files and unchecked_plugin_dirs, through a DirectoryPluginResolver
// in both of its modes (in place, as kilnctl and --check-config load, and
// private copies, as kilnd loads).
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/base/sha256.h"
#include "host/config/config.h"
#include "tests/config/config_test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

const std::string kZeros(64, '0');

class PluginTrustTest : public ConfigTest {
 protected:
  void SetUp() override {
    ConfigTest::SetUp();
    plugins_ = (dir_ / "plugins").string();
    fs::create_directories(plugins_);
    chmod(plugins_.c_str(), 0755);
    file_ = plugins_ + "/good.so";
    fs::copy_file(kGalleryDir + "/good.so", file_);
    chmod(file_.c_str(), 0755);
    ASSERT_TRUE(Sha256File(file_, &sha256_).ok());
  }

  // A config using plugin "good" from plugins_; `extra_daemon` goes in
  // [daemon], `tail` after the processor.
  std::string Config(const std::string& extra_daemon = "", const std::string& tail = "") {
    return Write("[daemon]\nplugin_dirs = [\"plugins\"]\nstate_dir = \"state\"\n" + extra_daemon +
                 "[[processor]]\nname = \"p\"\nplugin = \"good\"\n" + tail);
  }

  std::vector<std::string> Errors(const std::string& path, PluginResolver& resolver) {
    kiln::Config config;
    std::vector<std::string> errors;
    LoadConfig(path, resolver, &config, &errors);
    return errors;
  }

  std::string plugins_, file_, sha256_;
};

TEST_F(PluginTrustTest, MatchingPinLoadsInBothModes) {
  const std::string path = Config("", "[plugin.good]\nsha256 = \"" + sha256_ + "\"\n");
  for (bool copies : {false, true}) {
    Loader loader;
    DirectoryPluginResolver resolver(loader, copies);
    kiln::Config config;
    Status s = LoadConfig(path, resolver, &config, nullptr);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(config.daemon.plugin_sha256.at("good"), sha256_);
  }
}

TEST_F(PluginTrustTest, UppercasePinIsTheSameHash) {
  std::string upper = sha256_;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Loader loader;
  DirectoryPluginResolver resolver(loader);
  EXPECT_EQ(Errors(Config("", "[plugin.good]\nsha256 = \"" + upper + "\"\n"), resolver), std::vector<std::string>{});
}

TEST_F(PluginTrustTest, MismatchedPinIsRefusedBeforeAnyByteIsMapped) {
  const std::string path = Config("", "[plugin.good]\nsha256 = \"" + kZeros + "\"\n");
  const std::string expected = path + ":6:10: plugin 'good': " + file_ + " has sha256 " + sha256_ +
                               ", but [plugin.good] pins " + kZeros;
  {
    Loader loader;
    DirectoryPluginResolver resolver(loader);
    EXPECT_EQ(Errors(path, resolver), std::vector<std::string>{expected});
  }
  Loader loader;
  DirectoryPluginResolver resolver(loader, /*private_copies=*/true);
  EXPECT_EQ(Errors(path, resolver), std::vector<std::string>{expected});
  // No copy, finished or not, is left behind.
  EXPECT_TRUE(fs::is_empty(dir_ / "state" / "plugins"));
}

TEST_F(PluginTrustTest, APinAddedByAReloadAppliesToTheLoadedPlugin) {
  Loader loader;
  DirectoryPluginResolver resolver(loader, /*private_copies=*/true);
  EXPECT_EQ(Errors(Config(), resolver), std::vector<std::string>{});
  const std::string path = Config("", "[plugin.good]\nsha256 = \"" + kZeros + "\"\n");
  EXPECT_EQ(Errors(path, resolver),
            std::vector<std::string>{path + ":6:10: plugin 'good': " + file_ + " has sha256 " + sha256_ +
                                     ", but [plugin.good] pins " + kZeros});
}

TEST_F(PluginTrustTest, BadPluginTables) {
  Loader loader;
  DirectoryPluginResolver resolver(loader);
  std::string path = Config("", "[plugin.good]\nsha256 = \"abc\"\nsha = 1\n[plugin.Bad]\nsha256 = \"" + kZeros + "\"\n");
  EXPECT_EQ(Errors(path, resolver),
            (std::vector<std::string>{
                path + ":8:10: sha256: expected 64 hexadecimal digits, found 'abc'",
                path + ":9:1: unknown key 'sha' in [plugin.good]",
                path + ":10:9: [plugin.Bad]: invalid plugin name: expected [a-z][a-z0-9_]{0,63}",
            }));
  path = Config("", "[plugin.goood]\nsha256 = \"" + kZeros + "\"\n");
  EXPECT_EQ(Errors(path, resolver),
            std::vector<std::string>{path + ":7:9: [plugin.goood]: no processor uses plugin 'goood'"});
  path = Config("", "[plugin]\ngood = 5\n");
  EXPECT_EQ(Errors(path, resolver),
            std::vector<std::string>{path + ":8:8: plugin.good: expected a table, found an integer"});
  path = Write("plugin = 5\n[daemon]\nplugin_dirs = [\"plugins\"]\n");
  EXPECT_EQ(Errors(path, resolver),
            std::vector<std::string>{path + ":1:10: plugin: expected a table of plugins ([plugin.NAME]), found an integer"});
}

TEST_F(PluginTrustTest, UntrustedPluginDirectoryIsRefusedUnlessExempted) {
  chmod(plugins_.c_str(), 0775);
  for (bool copies : {false, true}) {
    Loader loader;
    DirectoryPluginResolver resolver(loader, copies);
    const std::string path = Config();
    EXPECT_EQ(Errors(path, resolver),
              std::vector<std::string>{path + ":6:10: " + file_ + ": refused: untrusted path: " + plugins_ +
                                       " is group-writable (mode 0775)"})
        << "private copies: " << copies;
  }
  for (bool copies : {false, true}) {
    Loader loader;
    DirectoryPluginResolver resolver(loader, copies);
    EXPECT_EQ(Errors(Config("unchecked_plugin_dirs = [\"plugins\"]\n"), resolver), std::vector<std::string>{})
        << "private copies: " << copies;
  }
}

TEST_F(PluginTrustTest, AGroupWritableFileInAnUncheckedDirectoryLoadsInBothModes) {
  chmod(file_.c_str(), 0664);
  for (bool copies : {false, true}) {
    Loader loader;
    DirectoryPluginResolver resolver(loader, copies);
    EXPECT_EQ(Errors(Config("unchecked_plugin_dirs = [\"plugins\"]\n"), resolver), std::vector<std::string>{})
        << "private copies: " << copies;
  }
  // Checked, the same file is refused.
  Loader loader;
  DirectoryPluginResolver resolver(loader, /*private_copies=*/true);
  const std::string path = Config();
  EXPECT_EQ(Errors(path, resolver), std::vector<std::string>{path + ":6:10: " + file_ + ": refused: untrusted path: " +
                                                             file_ + " is group-writable (mode 0664)"});
}

TEST_F(PluginTrustTest, UncheckedDirectoryMustBeAPluginDirectory) {
  Loader loader;
  DirectoryPluginResolver resolver(loader);
  const std::string path = Config("unchecked_plugin_dirs = [\"plugin\"]\n");
  EXPECT_EQ(Errors(path, resolver),
            std::vector<std::string>{path + ":4:26: unchecked_plugin_dirs: 'plugin' is not one of plugin_dirs"});
}

}  // namespace
}  // namespace kiln

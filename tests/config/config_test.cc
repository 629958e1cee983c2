// LoadConfig on configs that are right: every field, every default, paths,
// dependency order; and the resolver that finds plugin files.
#include <filesystem>

#include <gtest/gtest.h>

#include "host/config/config.h"
#include "tests/config/config_test_util.h"

namespace kiln {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

const char kFullConfig[] = R"(# every field set
[daemon]
plugin_dirs = ["plugs", "@GALLERY@"]
state_dir = "../state"
workers = 4
log_level = "debug"
log_format = "json"
log_file = "logs/kilnd.log"
control_socket = "/run/kiln/kilnd.sock"

[[processor]]
name = "player_cache"
plugin = "rolling_average"
schedule = "0 6 * * *"
timezone = "America/New_York"
options = { input = "data/games.csv", output_dir = "out", window = 7 }
depends_on = ["games"]
timeout = "30m"
retries = 2
retry_backoff = "1m"
concurrency = "replace"
catchup = "all"
catchup_cap = 50
isolation = "inprocess"
enabled = false

[[processor]]
name = "games"
plugin = "row_count"
every = "15m"
concurrency = "allow"
catchup = "none"
options = { input = "in.csv", output_dir = "counts" }

[[processor]]
name = "manual"
plugin = "good"
options.label = "hello"
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

TEST_F(ConfigTest, FullConfigRoundTrip) {
  std::filesystem::create_directories(dir_ / "etc");
  std::filesystem::create_directory_symlink(kPluginsDir, dir_ / "etc" / "plugs");
  const std::string path = Write(Replace(kFullConfig, "@GALLERY@", kGalleryDir), "etc/kiln.toml");

  Config config;
  std::vector<std::string> errors;
  Status s = Load(path, &config, &errors);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(errors.empty());

  EXPECT_EQ(config.path, path);
  const DaemonConfig& d = config.daemon;
  EXPECT_EQ(d.plugin_dirs, (std::vector<std::string>{(dir_ / "etc/plugs").string(), kGalleryDir}));
  EXPECT_EQ(d.state_dir, (dir_ / "state").string());
  EXPECT_EQ(d.workers, 4);
  EXPECT_EQ(d.log.level, "debug");
  EXPECT_EQ(d.log.format, "json");
  EXPECT_EQ(d.log.file, (dir_ / "etc/logs/kilnd.log").string());
  EXPECT_EQ(d.control_socket, "/run/kiln/kilnd.sock");

  // Dependencies first, otherwise file order.
  ASSERT_EQ(config.processors.size(), 3u);
  EXPECT_EQ(config.processors[0].name, "games");
  EXPECT_EQ(config.processors[1].name, "player_cache");
  EXPECT_EQ(config.processors[2].name, "manual");

  const ProcessorConfig* p = config.Find("player_cache");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->plugin, "rolling_average");
  EXPECT_EQ(p->plugin_path, (dir_ / "etc/plugs/rolling_average.so").string());
  ASSERT_NE(p->loaded, nullptr);
  EXPECT_EQ(p->loaded->name(), "rolling_average");
  ASSERT_TRUE(p->schedule.has_value());
  EXPECT_EQ(p->schedule->text(), "0 6 * * *");
  EXPECT_FALSE(p->every.has_value());
  EXPECT_EQ(p->timezone, "America/New_York");
  ASSERT_NE(p->zone, nullptr);
  EXPECT_EQ(p->zone->name(), "America/New_York");
  ASSERT_EQ(p->options.size(), 3u);
  EXPECT_EQ(p->options.values()[0], (std::pair<std::string, OptionValue>{"input", std::string("data/games.csv")}));
  EXPECT_EQ(p->options.values()[1], (std::pair<std::string, OptionValue>{"output_dir", std::string("out")}));
  EXPECT_EQ(p->options.values()[2], (std::pair<std::string, OptionValue>{"window", int64_t{7}}));
  EXPECT_EQ(p->options.data()[2].as.i, 7);
  EXPECT_EQ(p->depends_on, std::vector<std::string>{"games"});
  EXPECT_EQ(p->timeout, milliseconds(minutes(30)));
  EXPECT_EQ(p->retries, 2);
  EXPECT_EQ(p->retry_backoff, milliseconds(60000));
  EXPECT_EQ(p->concurrency, Concurrency::kReplace);
  EXPECT_EQ(p->catchup, Catchup::kAll);
  EXPECT_EQ(p->catchup_cap, 50);
  EXPECT_FALSE(p->enabled);
  EXPECT_TRUE(p->partitioned);
  EXPECT_EQ(p->where.file, path);
  EXPECT_EQ(p->where.line, 11);
  EXPECT_EQ(p->where.column, 1);

  const ProcessorConfig* g = config.Find("games");
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->schedule.has_value());
  EXPECT_EQ(g->every, milliseconds(minutes(15)));
  EXPECT_EQ(g->concurrency, Concurrency::kAllow);
  EXPECT_EQ(g->catchup, Catchup::kNone);
  EXPECT_EQ(g->where.line, 27);

  // A plugin found in the second directory; dotted option keys; defaults.
  const ProcessorConfig* m = config.Find("manual");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->plugin_path, kGalleryDir + "/good.so");
  EXPECT_EQ(m->loaded->name(), "gallery");
  EXPECT_FALSE(m->schedule.has_value());
  EXPECT_FALSE(m->every.has_value());
  ASSERT_EQ(m->options.size(), 2u);
  EXPECT_EQ(m->options.values()[0].second, OptionValue(int64_t{5}));
  EXPECT_EQ(m->options.values()[1].second, OptionValue(std::string("hello")));

  EXPECT_EQ(config.Dependents("games"), std::vector<std::string>{"player_cache"});
  EXPECT_TRUE(config.Dependents("manual").empty());
  EXPECT_EQ(config.Find("nope"), nullptr);
}

TEST_F(ConfigTest, DefaultsWithoutADaemonTable) {
  std::filesystem::create_directory_symlink(kGalleryDir, dir_ / "plugins");
  const std::string path = Write("[[processor]]\nname = \"g\"\nplugin = \"good\"\n");
  Config config;
  Status s = Load(path, &config, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();

  EXPECT_EQ(config.daemon.plugin_dirs, std::vector<std::string>{(dir_ / "plugins").string()});
  EXPECT_EQ(config.daemon.state_dir, (dir_ / "state").string());
  EXPECT_EQ(config.daemon.control_socket, (dir_ / "state/run/kilnd.sock").string());
  EXPECT_EQ(config.daemon.workers, 2);
  EXPECT_EQ(config.daemon.log.level, "info");
  EXPECT_EQ(config.daemon.log.format, "text");
  EXPECT_EQ(config.daemon.log.file, "");

  ASSERT_EQ(config.processors.size(), 1u);
  const ProcessorConfig& p = config.processors[0];
  EXPECT_EQ(p.timezone, "UTC");
  ASSERT_NE(p.zone, nullptr);
  EXPECT_FALSE(p.schedule || p.every || p.timeout);
  EXPECT_EQ(p.retries, 0);
  EXPECT_EQ(p.retry_backoff, milliseconds(30000));
  EXPECT_EQ(p.concurrency, Concurrency::kForbid);
  EXPECT_EQ(p.catchup, Catchup::kLatest);
  EXPECT_EQ(p.catchup_cap, 100);
  EXPECT_TRUE(p.enabled);
  EXPECT_TRUE(p.partitioned);
  EXPECT_TRUE(p.depends_on.empty());
  EXPECT_EQ(p.options.size(), 2u);
}

TEST_F(ConfigTest, ControlSocketDefaultFollowsStateDir) {
  const std::string path = Write("[daemon]\nstate_dir = \"/var/lib/kiln\"\nlog_file = \"\"\n");
  Config config;
  ASSERT_TRUE(Load(path, &config, nullptr).ok());
  EXPECT_EQ(config.daemon.state_dir, "/var/lib/kiln");
  EXPECT_EQ(config.daemon.control_socket, "/var/lib/kiln/run/kilnd.sock");
  EXPECT_EQ(config.daemon.log.file, "");  // empty: console only
  EXPECT_TRUE(config.processors.empty());
}

TEST_F(ConfigTest, TomlDatesBindToDateOptionsAndUnpartitionedDependencies) {
  const std::string path = Write(R"([[processor]]
name = "b"
plugin = "plain"
depends_on = ["a"]
[[processor]]
name = "a"
plugin = "plain"
options = { since = 2025-03-01 }
)");
  Config config;
  Status s = Load(path, &config, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(config.processors.size(), 2u);
  EXPECT_EQ(config.processors[0].name, "a");
  EXPECT_FALSE(config.processors[0].partitioned);
  EXPECT_EQ(config.processors[0].options.values()[1].second, OptionValue(std::string("2025-03-01")));
}

TEST_F(ConfigTest, AFailedLoadLeavesTheOldConfigAlone) {
  Config config;
  config.path = "previous";
  config.daemon.workers = 7;
  std::vector<std::string> errors;
  Status s = Load(Write("[daemon]\nworkers = 0\n"), &config, &errors);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(config.path, "previous");
  EXPECT_EQ(config.daemon.workers, 7);
  EXPECT_EQ(errors.size(), 1u);
}

TEST_F(ConfigTest, TheStatusCarriesTheFirstErrorAndACount) {
  const std::string path = Write("[daemon]\nworkers = 0\nlog_level = \"loud\"\nlog_format = \"xml\"\n");
  Config config;
  std::vector<std::string> errors;
  Status s = Load(path, &config, &errors);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(s.message(), errors[0] + " (and 2 more errors)");
}

TEST_F(ConfigTest, UnreadableFile) {
  const std::string path = (dir_ / "missing.toml").string();
  Config config;
  std::vector<std::string> errors;
  Status s = Load(path, &config, &errors);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(errors, std::vector<std::string>{path + ": cannot read config: No such file or directory"});
  EXPECT_EQ(s.message(), errors[0]);
}

TEST_F(ConfigTest, APluginNamedTwiceIsLoadedOnce) {
  const std::string path = Write("[daemon]\nplugin_dirs = [\"" + kGalleryDir +
                                 "\"]\n[[processor]]\nname = \"a\"\nplugin = \"good\"\n"
                                 "[[processor]]\nname = \"b\"\nplugin = \"good\"\n");
  Config config;
  Status s = Load(path, &config, nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(config.processors[0].loaded, config.processors[1].loaded);
}

TEST(DirectoryPluginResolver, FirstDirectoryWinsAndResultsAreCached) {
  Loader loader;
  DirectoryPluginResolver resolver(loader);
  std::shared_ptr<const Plugin> first, again;
  ASSERT_TRUE(resolver.Resolve("good", {"/nonexistent", kGalleryDir}, &first).ok());
  EXPECT_EQ(first->info().path, kGalleryDir + "/good.so");
  ASSERT_TRUE(resolver.Resolve("good", {kGalleryDir}, &again).ok());
  EXPECT_EQ(first, again);
}

TEST(DirectoryPluginResolver, Errors) {
  Loader loader;
  DirectoryPluginResolver resolver(loader);
  std::shared_ptr<const Plugin> plugin;
  Status s = resolver.Resolve("nope", {"/a", "/b"}, &plugin);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "plugin 'nope' not found in plugin_dirs (/a, /b)");

  s = resolver.Resolve("../good", {kGalleryDir}, &plugin);
  EXPECT_EQ(s.message(), "plugin '../good': invalid name: expected [a-z][a-z0-9_]{0,63}");

  // The loader's refusal, word for word.
  s = resolver.Resolve("bad_name", {kGalleryDir}, &plugin);
  EXPECT_EQ(s.code(), Status::Code::kRefused);
  EXPECT_EQ(s.message(), "plugin 'Bad-Name' (" + kGalleryDir +
                             "/bad_name.so): invalid name: expected [a-z][a-z0-9_]{0,63}, found 'Bad-Name'");
}

}  // namespace
}  // namespace kiln

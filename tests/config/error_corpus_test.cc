// The error corpus: for each mistake a user can make, a small config and the
// exact lines LoadConfig reports. Line numbers are those of the case's text.
// Unless a case is about [daemon], a [daemon] table naming the test plugin
// directories is appended after it, so it never shifts a line.
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/config/config.h"
#include "tests/config/config_test_util.h"

namespace kiln {
namespace {

struct Case {
  const char* name;
  std::string toml;
  std::vector<std::string> expected;  // "kiln.toml:" stands for the config's path
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::string Substitute(std::string text, const std::string& path) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
      text.replace(pos, from.size(), to);
    }
  };
  replace("@GALLERY@", kGalleryDir);
  replace("@PLUGINS@", kPluginsDir);
  if (text.rfind("kiln.toml:", 0) == 0) text.replace(0, 9, path);
  return text;
}

const std::vector<Case>& Corpus() {
  static const std::vector<Case> corpus = {
      // TOML syntax: one error, then stop.
      {"syntax_error", "[[processor]]\nname = \n",
       {"kiln.toml:2:8: Error while parsing key-value pair: expected value, saw '\\n'"}},
      {"syntax_error_stops_reading", "[daemon]\nworkers = 0\nworkers = 1\nlog_level = \"loud\"\n",
       {"kiln.toml:3:11: Error while parsing key-value pair: cannot redefine existing integer 'workers'"}},

      // Unknown keys, with and without a suggestion.
      {"unknown_top_level_key", "deamon = 1\n",
       {"kiln.toml:1:1: unknown key 'deamon' at the top level (did you mean 'daemon'?)"}},
      {"unknown_top_level_table", "[processors]\nname = \"a\"\n",
       {"kiln.toml:1:2: unknown key 'processors' at the top level (did you mean 'processor'?)"}},
      {"unknown_daemon_key", "[daemon]\nworker = 4\ncolour = \"red\"\n",
       {"kiln.toml:2:1: unknown key 'worker' in [daemon] (did you mean 'workers'?)",
        "kiln.toml:3:1: unknown key 'colour' in [daemon]"}},
      {"unknown_processor_key", "[[processor]]\nname = \"a\"\nplugin = \"good\"\nschedul = \"@daily\"\n",
       {"kiln.toml:4:1: unknown key 'schedul' in [[processor]] (did you mean 'schedule'?)"}},

      // Wrong types.
      {"wrong_types_daemon",
       "[daemon]\nplugin_dirs = \"plugins\"\nworkers = \"4\"\nlog_file = false\n",
       {"kiln.toml:2:15: plugin_dirs: expected an array of strings, found a string",
        "kiln.toml:3:11: workers: expected an integer, found a string",
        "kiln.toml:4:12: log_file: expected a string, found a boolean"}},
      {"wrong_type_in_array", "[daemon]\nplugin_dirs = [\"@GALLERY@\", 3]\n",
       {"kiln.toml:2:" + std::to_string(20 + std::string(KILN_GALLERY_DIR).size()) +
        ": plugin_dirs: expected a string, found an integer"}},
      {"daemon_not_a_table", "daemon = 5\n", {"kiln.toml:1:10: daemon: expected a table, found an integer"}},
      {"processor_not_an_array_of_tables", "[processor]\nname = \"a\"\n",
       {"kiln.toml:1:1: processor: expected an array of tables ([[processor]]), found a table"}},
      {"processor_items_not_tables", "processor = [{ name = \"a\", plugin = \"good\" }, 5]\n",
       {"kiln.toml:1:47: processor: expected a table, found an integer"}},
      {"wrong_types_processor",
       "[[processor]]\nname = 5\nplugin = \"good\"\nenabled = \"yes\"\nretries = 1.5\n"
       "options = \"window=3\"\ndepends_on = \"b\"\ntimezone = 0\n",
       {"kiln.toml:2:8: name: expected a string, found an integer",
        "kiln.toml:4:11: enabled: expected a boolean, found a string",
        "kiln.toml:5:11: retries: expected an integer, found a float",
        "kiln.toml:6:11: options: expected a table, found a string",
        "kiln.toml:7:14: depends_on: expected an array of strings, found a string",
        "kiln.toml:8:12: timezone: expected a string, found an integer"}},

      // Names and plugins.
      {"missing_name_and_plugin", "[[processor]]\nschedule = \"@daily\"\n",
       {"kiln.toml:1:1: missing required key 'name' in [[processor]]",
        "kiln.toml:1:1: missing required key 'plugin' in [[processor]]"}},
      {"invalid_names", "[[processor]]\nname = \"Player-1\"\nplugin = \"../good\"\n",
       {"kiln.toml:2:8: name 'Player-1': expected [a-z][a-z0-9_]{0,63}",
        "kiln.toml:3:10: plugin '../good': expected [a-z][a-z0-9_]{0,63}"}},
      {"unknown_plugin", "[[processor]]\nname = \"a\"\nplugin = \"nope\"\n",
       {"kiln.toml:3:10: plugin 'nope' not found in plugin_dirs (@GALLERY@, @PLUGINS@)"}},
      {"refused_plugin", "[[processor]]\nname = \"a\"\nplugin = \"major2\"\n",
       {"kiln.toml:3:10: @GALLERY@/major2.so: ABI major mismatch: host speaks 1.0, "
        "plugin was built for 2.0"}},
      {"duplicate_names",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\n[[processor]]\nname = \"b\"\nplugin = \"good\"\n"
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\n",
       {"kiln.toml:8:8: duplicate processor name 'a' (first defined at line 2)"}},

      // Control characters the config quotes (TOML escapes allow any) are
      // shown as '?': each problem stays one line. Found by tests/fuzz/config.
      {"control_characters_quoted",
       "[[processor]]\nname = \"a\\nb\"\nplugin = \"good\"\noptions = { \"win\\rdow\" = 3 }\n"
       "[[processor]]\nname = \"c\"\nplugin = \"plain\"\noptions = { since = \"2025-02-3\\u0001\" }\n",
       {"kiln.toml:2:8: name 'a?b': expected [a-z][a-z0-9_]{0,63}",
        "kiln.toml:4:13: plugin 'good': unknown option 'win?dow' (did you mean 'window'?)",
        "kiln.toml:8:21: plugin 'plain': option 'since': invalid date '2025-02-3?': expected YYYY-MM-DD"}},
      {"control_character_in_syntax_error", "[daemon]\nworkers = t\n\n",
       {"kiln.toml:2:12: Error while parsing boolean: expected 'true', saw 't?'"}},

      // Options against the plugin's schema.
      {"options_against_schema",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\noptions = { windw = 3, label = 7 }\n",
       {"kiln.toml:4:13: plugin 'good': unknown option 'windw' (did you mean 'window'?)",
        "kiln.toml:4:32: plugin 'good': option 'label': expected string, found int 7"}},
      {"options_missing_required",
       "[[processor]]\nname = \"a\"\nplugin = \"row_count\"\noptions = { input = \"x.csv\" }\n"
       "[[processor]]\nname = \"b\"\nplugin = \"row_count\"\n",
       {"kiln.toml:4:11: plugin 'row_count': missing required option 'output_dir'",
        "kiln.toml:5:1: plugin 'row_count': missing required option 'input'",
        "kiln.toml:5:1: plugin 'row_count': missing required option 'output_dir'"}},
      {"option_value_of_no_option_type",
       "[[processor]]\nname = \"a\"\nplugin = \"row_count\"\n"
       "options = { input = [\"x.csv\"], output_dir = \"out\" }\n",
       {"kiln.toml:4:21: plugin 'row_count': option 'input': expected a string, integer, float, boolean or "
        "date, found an array"}},
      {"option_bad_date",
       "[[processor]]\nname = \"a\"\nplugin = \"plain\"\noptions = { since = \"2025-02-30\" }\n",
       {"kiln.toml:4:21: plugin 'plain': option 'since': invalid date '2025-02-30': February 2025 has 28 days"}},

      // Dependencies.
      {"unknown_dependency",
       "[[processor]]\nname = \"games\"\nplugin = \"good\"\n[[processor]]\nname = \"report\"\nplugin = \"good\"\n"
       "depends_on = [\"gmaes\", \"nothing_like_it\"]\n",
       {"kiln.toml:7:15: depends_on: unknown processor 'gmaes' (did you mean 'games'?)",
        "kiln.toml:7:24: depends_on: unknown processor 'nothing_like_it'"}},
      {"dependency_cycle",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\ndepends_on = [\"b\"]\n"
       "[[processor]]\nname = \"b\"\nplugin = \"good\"\ndepends_on = [\"c\"]\n"
       "[[processor]]\nname = \"c\"\nplugin = \"good\"\ndepends_on = [\"a\"]\n",
       {"kiln.toml:12:15: dependency cycle: a -> b -> c -> a"}},
      {"self_dependency", "[[processor]]\nname = \"a\"\nplugin = \"good\"\ndepends_on = [\"a\"]\n",
       {"kiln.toml:4:15: dependency cycle: a -> a"}},
      {"partitioned_and_unpartitioned",
       "[[processor]]\nname = \"daily\"\nplugin = \"good\"\ndepends_on = [\"flat\"]\n"
       "[[processor]]\nname = \"flat\"\nplugin = \"plain\"\n"
       "[[processor]]\nname = \"flat2\"\nplugin = \"plain\"\ndepends_on = [\"daily\"]\n",
       {"kiln.toml:4:15: depends_on: 'daily' is partitioned by date but 'flat' is not; a dependency must join "
        "two partitioned processors, since a run for date D waits for its upstream's run for D",
        "kiln.toml:11:15: depends_on: 'daily' is partitioned by date but 'flat2' is not; a dependency must join "
        "two partitioned processors, since a run for date D waits for its upstream's run for D"}},

      // When it runs.
      {"bad_cron", "[[processor]]\nname = \"a\"\nplugin = \"good\"\nschedule = \"61 * * * *\"\n",
       {"kiln.toml:4:12: schedule: cron '61 * * * *': minute: value 61 out of range 0-59"}},
      {"impossible_cron", "[[processor]]\nname = \"a\"\nplugin = \"good\"\nschedule = \"0 0 30 2 *\"\n",
       {"kiln.toml:4:12: schedule: cron '0 0 30 2 *': never fires: day-of-month 30 never occurs in month 2"}},
      {"schedule_and_every",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\nschedule = \"@daily\"\nevery = \"1h\"\n",
       {"kiln.toml:5:1: both schedule and every are set: use one of them"}},
      {"unknown_time_zone", "[[processor]]\nname = \"a\"\nplugin = \"good\"\ntimezone = \"Mars/Base\"\n",
       {"kiln.toml:4:12: timezone: unknown time zone 'Mars/Base'"}},
      {"bad_durations",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\nevery = \"15x\"\ntimeout = \"0s\"\nretry_backoff = \"-5m\"\n",
       {"kiln.toml:4:9: every: bad duration '15x': expected a number followed by ms, s, m, h or d",
        "kiln.toml:5:11: timeout: bad duration '0s': must be greater than zero",
        "kiln.toml:6:17: retry_backoff: bad duration '-5m': must be greater than zero"}},

      // Ranges and choices.
      {"out_of_range_daemon", "[daemon]\nworkers = 257\n",
       {"kiln.toml:2:11: workers: 257 is out of range 1..256"}},
      {"out_of_range_processor",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\nretries = -1\ncatchup_cap = 10001\n"
       "[[processor]]\nname = \"b\"\nplugin = \"good\"\nretries = 101\ncatchup_cap = 0\n",
       {"kiln.toml:4:11: retries: -1 is out of range 0..100",
        "kiln.toml:5:15: catchup_cap: 10001 is out of range 1..10000",
        "kiln.toml:9:11: retries: 101 is out of range 0..100",
        "kiln.toml:10:15: catchup_cap: 0 is out of range 1..10000"}},
      {"bad_choices_processor",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\nconcurrency = \"sometimes\"\ncatchup = \"most\"\n",
       {"kiln.toml:4:15: concurrency 'sometimes': expected forbid, allow or replace",
        "kiln.toml:5:11: catchup 'most': expected none, latest or all"}},
      {"bad_choices_daemon", "[daemon]\nlog_level = \"loud\"\nlog_format = \"xml\"\n",
       {"kiln.toml:2:13: log_level 'loud': expected trace, debug, info, warn, error or off",
        "kiln.toml:3:14: log_format 'xml': expected text or json"}},
      {"isolation_unknown", "[[processor]]\nname = \"a\"\nplugin = \"good\"\nisolation = \"thread\"\n",
       {"kiln.toml:4:13: isolation 'thread': expected process or inprocess"}},
      {"memory_limit_bad", "[[processor]]\nname = \"a\"\nplugin = \"good\"\nmemory_limit = \"lots\"\n",
       {"kiln.toml:4:16: memory_limit 'lots': expected a size like 512MiB, 2GiB or 1048576 (at least 16MiB)"}},
      {"memory_limit_inprocess",
       "[[processor]]\nname = \"a\"\nplugin = \"good\"\nisolation = \"inprocess\"\nmemory_limit = \"64MiB\"\n",
       {"kiln.toml:5:16: memory_limit needs isolation = \"process\""}},
      {"empty_paths", "[daemon]\nplugin_dirs = []\nstate_dir = \"\"\ncontrol_socket = \"\"\n",
       {"kiln.toml:2:15: plugin_dirs: expected at least one directory, found an empty array",
        "kiln.toml:3:13: state_dir: expected a path, found an empty string",
        "kiln.toml:4:18: control_socket: expected a path, found an empty string"}},
  };
  return corpus;
}

class ErrorCorpus : public ConfigTest, public ::testing::WithParamInterface<Case> {};

TEST_P(ErrorCorpus, ReportsExactly) {
  const Case& c = GetParam();
  std::string text = c.toml;
  if (text.find("daemon") == std::string::npos) {
    text += "\n[daemon]\nplugin_dirs = [\"@GALLERY@\", \"@PLUGINS@\"]\n";
  }
  const std::string path = (dir_ / "kiln.toml").string();
  Write(Substitute(text, path));

  std::vector<std::string> expected;
  for (const std::string& line : c.expected) expected.push_back(Substitute(line, path));

  Config config;
  std::vector<std::string> errors;
  Status s = Load(path, &config, &errors);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(errors, expected);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(s.message().rfind(errors[0], 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(Config, ErrorCorpus, ::testing::ValuesIn(Corpus()),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// Several mistakes in one file: every one reported in one pass, in file
// order, though they are found by different checks at different times.
TEST_F(ConfigTest, EveryErrorInOnePassInFileOrder) {
  const std::string path = Write(R"([daemon]
plugin_dirs = [")" + kGalleryDir + R"("]
workers = 0
[[processor]]
name = "a"
plugin = "good"
depends_on = ["b"]
schedul = "@daily"
[[processor]]
name = "b"
plugin = "missing"
depends_on = ["a"]
every = "soon"
[[processor]]
name = "a"
plugin = "good"
options = { window = "wide" }
concurrency = "sometimes"
)");
  Config config;
  std::vector<std::string> errors;
  Status s = Load(path, &config, &errors);
  const std::vector<std::string> expected = {
      path + ":3:11: workers: 0 is out of range 1..256",
      path + ":8:1: unknown key 'schedul' in [[processor]] (did you mean 'schedule'?)",
      path + ":11:10: plugin 'missing' not found in plugin_dirs (" + kGalleryDir + ")",
      path + ":12:15: dependency cycle: a -> b -> a",
      path + ":13:9: every: bad duration 'soon': expected a number followed by ms, s, m, h or d",
      path + ":15:8: duplicate processor name 'a' (first defined at line 5)",
      path + ":17:22: plugin 'good': option 'window': expected int, found string \"wide\"",
      path + ":18:15: concurrency 'sometimes': expected forbid, allow or replace",
  };
  EXPECT_EQ(errors, expected);
  EXPECT_EQ(s.message(), expected[0] + " (and 7 more errors)");
}

}  // namespace
}  // namespace kiln

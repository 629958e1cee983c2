// kilnctl verify and kilnctl run, as a user calls them: exit codes and the
// exact lines they print.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"

namespace kiln {
namespace {

using testing::CommandResult;
using testing::RunCommand;

const std::string kCtl = KILNCTL;
std::string G(const std::string& name) { return std::string(KILN_GALLERY_DIR) + "/" + name + ".so"; }
std::string P(const std::string& name) { return std::string(KILN_PLUGIN_DIR) + "/" + name + ".so"; }

class Kilnctl : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-ctl-XXXXXX";
    dir_ = mkdtemp(tmpl);
    // Three games for p1, two for p2, before 2025-01-04.
    std::ofstream(dir_ + "/games.csv") << "date,player,points\n"
                                          "2025-01-01,p1,10\n"
                                          "2025-01-02,p1,20\n"
                                          "2025-01-02,p2,7\n"
                                          "2025-01-03,p1,30\n"
                                          "2025-01-03,p2,8\n"
                                          "2025-01-04,p1,99\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CommandResult Run(const std::string& args) { return RunCommand(kCtl + " " + args); }
  std::string RollingArgs() { return P("rolling_average") + " -o input=" + dir_ + "/games.csv -o output_dir=" + dir_; }

  std::string dir_;
};

TEST_F(Kilnctl, VerifyPassesGoodPlugins) {
  CommandResult r = Run("verify " + P("rolling_average") + " " + P("row_count"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok    " + P("rolling_average") + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("      plugin        row_count 1.0.0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("      capabilities  partitioned_by_date\n"), std::string::npos);
  EXPECT_NE(r.out.find("window (int), default 5: number of most recent games averaged"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST_F(Kilnctl, VerifyNamesEveryMissingMethodAndFails) {
  CommandResult r = Run("verify " + G("no_extract_save") + " " + P("row_count"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  " + G("no_extract_save") + "\n      error         plugin 'gallery' (" +
                       G("no_extract_save") + "): missing required methods: extract, save\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("                    extract       MISSING\n"), std::string::npos);
  EXPECT_NE(r.out.find("                    validate      ok\n"), std::string::npos);
  EXPECT_NE(r.out.find("ok    " + P("row_count")), std::string::npos);
}

TEST_F(Kilnctl, VerifyJson) {
  CommandResult r = Run("verify --json " + P("row_count") + " " + G("major2"));
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["ok"], true);
  EXPECT_EQ(j[0]["name"], "row_count");
  EXPECT_EQ(j[0]["sdk"], "1.0");
  EXPECT_EQ(j[0]["cxx_runtime"], "none (C)");
  EXPECT_EQ(j[0]["methods"]["save"], "ok");
  EXPECT_EQ(j[0]["options"][0]["name"], "input");
  EXPECT_EQ(j[0]["options"][0]["required"], true);
  EXPECT_EQ(j[1]["ok"], false);
  EXPECT_EQ(j[1]["error"], G("major2") + ": ABI major mismatch: host speaks 1.0, plugin was built for 2.0");
}

TEST_F(Kilnctl, VerifyWarnsAboutGnuUniqueSymbols) {
  CommandResult r = Run("verify " + G("gnu_unique"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "warning: " + G("gnu_unique") +
                       ": 1 STB_GNU_UNIQUE symbol(s), first '_ZZ13UniqueCountervE7counter': the image can never "
                       "be unloaded, so hot swap cannot replace it; build with -fno-gnu-unique\n");
}

TEST_F(Kilnctl, VerifyRefusesADuplicateNameAmongItsFiles) {
  CommandResult r = Run("verify " + G("good") + " " + G("good_copy"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("plugin 'gallery' (" + G("good_copy") + "): name already loaded from " + G("good")),
            std::string::npos);
}

TEST_F(Kilnctl, VerifyAndRunRefuseAPluginOthersCanChangeUnlessUnchecked) {
  const std::string shared = dir_ + "/shared";
  std::filesystem::create_directory(shared);
  std::filesystem::copy_file(P("rolling_average"), shared + "/rolling_average.so");
  chmod(shared.c_str(), 0775);
  const std::string file = shared + "/rolling_average.so";
  const std::string refusal = file + ": refused: untrusted path: " + shared + " is group-writable (mode 0775)";
  CommandResult r = Run("verify " + file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL  " + file + "\n      error         " + refusal + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(Run("verify --unchecked " + file).exit_code, 0);
  r = Run("run " + file + " --date 2025-01-04 -o input=" + dir_ + "/games.csv -o output_dir=" + dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl run: " + refusal + "\n");
  r = Run("run --unchecked " + file + " --date 2025-01-04 -o input=" + dir_ + "/games.csv -o output_dir=" + dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Kilnctl, RunOneDayComputesTheRollingAverage) {
  CommandResult r = Run("run " + RollingArgs() + " -o window=2 --date 2025-01-04");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2025-01-04 succeeded: 7 records in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  extract   "), std::string::npos);
  EXPECT_EQ(testing::Slurp(dir_ + "/rolling_average/2025-01-04.csv"),
            "player,games,average\np1,2,25.000\np2,2,7.500\n");
  // Idempotent: a second run replaces the day's file, it does not append.
  ASSERT_EQ(Run("run " + RollingArgs() + " -o window=2 --date 2025-01-04").exit_code, 0);
  EXPECT_EQ(testing::Slurp(dir_ + "/rolling_average/2025-01-04.csv"),
            "player,games,average\np1,2,25.000\np2,2,7.500\n");
}

TEST_F(Kilnctl, RunARangeInOrderAsJson) {
  CommandResult r = Run("run " + P("row_count") + " -o input=" + dir_ + "/games.csv -o output_dir=" + dir_ +
                        " --start-date 2025-01-01 --end-date 2025-01-03 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["partition"], "2025-01-01");
  EXPECT_EQ(j[2]["partition"], "2025-01-03");
  EXPECT_EQ(j[1]["status"], "succeeded");
  EXPECT_EQ(j[1]["phases"].size(), 5u);
  EXPECT_EQ(testing::Slurp(dir_ + "/row_count/2025-01-02.txt"), "2\n");
}

TEST_F(Kilnctl, RunDryRunWritesNothing) {
  ASSERT_EQ(Run("run " + RollingArgs() + " --date 2025-01-04 --dry-run").exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/rolling_average/2025-01-04.csv"));
}

TEST_F(Kilnctl, RunFailuresExitOne) {
  CommandResult r = Run("run " + G("fail_save") + " --start-date 2025-01-01 --end-date 2025-01-03");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("2025-01-01 failed: 20 records in"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(": processor 'gallery': save failed: save exploded on purpose\n"), std::string::npos);
  EXPECT_NE(r.out.find("3 days: 0 succeeded, 1 failed, 2 not run (first failure 2025-01-01)\n"), std::string::npos)
      << r.out;
  r = Run("run " + G("fail_save") + " --start-date 2025-01-01 --end-date 2025-01-03 --keep-going");
  EXPECT_NE(r.out.find("3 days: 0 succeeded, 3 failed, 0 not run (first failure 2025-01-01)\n"), std::string::npos);

  r = Run("run " + RollingArgs() + " -o window=0 --date 2025-01-04");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl run: processor 'rolling_average': configure failed: window must be between 1 and 82 "
                   "games, found 0\n");
  r = Run("run " + G("no_save") + " --date 2025-01-04");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl run: plugin 'gallery' (" + G("no_save") + "): missing required methods: save\n");
}

TEST_F(Kilnctl, RunRefusesBadInputWithOneLine) {
  struct Case {
    std::string args;
    std::string err;
  };
  const Case cases[] = {
      {RollingArgs() + " --date 2025-02-30",
       "kilnctl run: --date: invalid date '2025-02-30': February 2025 has 28 days\n"},
      {RollingArgs() + " --start-date 2025-01-05 --end-date 2025-01-01",
       "kilnctl run: --end-date 2025-01-01 is before --start-date 2025-01-05\n"},
      {RollingArgs() + " --start-date 2025-01-05", "kilnctl run: --start-date and --end-date go together\n"},
      {RollingArgs() + " --date 2025-01-01 --start-date 2025-01-01 --end-date 2025-01-02",
       "kilnctl run: --date cannot be combined with --start-date/--end-date\n"},
      {RollingArgs(),
       "kilnctl run: plugin 'rolling_average' is partitioned by date: give --date YYYY-MM-DD or --start-date and "
       "--end-date\n"},
      {RollingArgs() + " -o windw=3 --date 2025-01-04",
       "kilnctl run: plugin 'rolling_average': unknown option 'windw' (did you mean 'window'?)\n"},
      {RollingArgs() + " -o window=many --date 2025-01-04",
       "kilnctl run: plugin 'rolling_average': option 'window': expected int, found 'many'\n"},
      {P("rolling_average") + " --date 2025-01-04",
       "kilnctl run: plugin 'rolling_average': missing required option 'input'\n"
       "kilnctl run: plugin 'rolling_average': missing required option 'output_dir'\n"},
      {RollingArgs() + " -o window --date 2025-01-04", "kilnctl run: --option 'window': expected key=value\n"},
      {G("throwing") + " --date 2025-01-04",
       "kilnctl run: plugin 'throwing' is not partitioned by date: it takes no --date\n"},
      {"player_cache --date 2025-01-04",
       "kilnctl run: 'player_cache' is not a plugin file: expected a path containing '/' or ending in .so\n"},
  };
  for (const Case& c : cases) {
    CommandResult r = Run("run " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.err, c.err) << c.args;
    EXPECT_EQ(r.out, "") << c.args;
  }
}

TEST_F(Kilnctl, CalendarPrintsFireTimesWithOffsets) {
  // Spring forward in New York: 02:30 does not exist on 2012-03-11 and runs
  // at 03:30 EDT (RFC 5545), once.
  CommandResult r = Run("calendar '30 2 * * *' --tz America/New_York --from 2012-03-10T00:00:00 --count 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2012-03-10T02:30:00-05:00\n2012-03-11T03:30:00-04:00\n2012-03-12T02:30:00-04:00\n");
  // Fall back: a periodic schedule fires in both passes of the repeated hour.
  r = Run("calendar '30 * * * *' --tz America/New_York --from 2025-11-02T00:45:00-04:00 -n 3 --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out),
            nlohmann::json({"2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00", "2025-11-02T02:30:00-05:00"}));
  r = Run("calendar '0 0 30 2 *'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl calendar: cron '0 0 30 2 *': never fires: day-of-month 30 never occurs in month 2\n");
  r = Run("calendar @daily --tz Mars/Base");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl calendar: --tz: unknown time zone 'Mars/Base'\n");
  r = Run("calendar @daily --from yesterday");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("kilnctl calendar: --from: ", 0), 0u) << r.err;
}

TEST_F(Kilnctl, UsageErrorsExitTwo) {
  CommandResult r = Run("");
  EXPECT_EQ(r.exit_code, 2);
  r = Run("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kilnctl: "), std::string::npos);
}

}  // namespace
}  // namespace kiln

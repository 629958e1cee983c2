// docs/tutorial.md end to end, on a small season, through a real kilnd and
// its control socket (the requests `kilnctl backfill` and `kilnctl
// reload-config` send): backfill the cache with cascade into the feature
// store and the spot check, all pass; switch on the wrong rolling window,
// reload, backfill again with reprocess all, spot checks fail below the
// threshold; fix, reload, backfill again, spot checks pass.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "tests/pipeline/pipeline_util.h"
#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"
#include "tools/seasongen/season.h"

namespace kiln::pipeline_test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::Request;
using testing::WaitFor;

constexpr const char* kFirst = "2024-11-01";  // three days before the first game
constexpr const char* kLast = "2024-12-01";
constexpr int kDays = 31;

// Parameter: the processors' isolation (process is the default, a kiln-worker per processor).
class Walkthrough : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "state");
    seasongen::SeasonOptions o;
    o.players = 40;
    o.teams = 4;
    o.start = "2024-11-04";
    o.end = kLast;
    o.seed = 11;
    seasongen::Generate(o, dir_ / "state/season.db");
    socket_ = dir_ / "state/run/kilnd.sock";
  }

  // The pipeline's part of config/kiln.toml, with this test's paths.
  void Config(int window_short) {
    const std::string isolation = std::string("isolation = \"") + GetParam() + "\"\n";
    const std::string season = dir_ / "state/season.db", cache = dir_ / "state/cache.db",
                      features = dir_ / "state/features.db";
    std::ofstream(dir_ / "kiln.toml")
        << "[daemon]\nplugin_dirs = [\"" KILN_PIPELINE_PLUGIN_DIR "\"]\nstate_dir = \"state\"\nworkers = 2\n\n"
        << "[[processor]]\nname = \"player_daily_cache\"\nplugin = \"player_daily_cache\"\n"
        << "schedule = \"0 6 * * *\"\ntimezone = \"America/New_York\"\n"
        << "options = { season_db = \"" << season << "\", db = \"" << cache << "\", window_short = " << window_short
        << ", window_long = 10 }\n" << isolation << "\n"
        << "[[processor]]\nname = \"ml_feature_store\"\nplugin = \"ml_feature_store\"\n"
        << "schedule = \"0 6 * * *\"\ntimezone = \"America/New_York\"\n"
        << "options = { season_db = \"" << season << "\", cache_db = \"" << cache << "\", db = \"" << features
        << "\" }\ndepends_on = [\"player_daily_cache\"]\n" << isolation << "\n"
        << "[[processor]]\nname = \"spot_check\"\nplugin = \"spot_check\"\n"
        << "schedule = \"0 6 * * *\"\ntimezone = \"America/New_York\"\n"
        << "options = { season_db = \"" << season << "\", cache_db = \"" << cache << "\", features_db = \"" << features
        << "\", samples = 20, seed = 1, threshold = 0.95 }\n"
        << "depends_on = [\"player_daily_cache\", \"ml_feature_store\"]\n" << isolation;
  }

  json Call(const std::string& method, const json& params = json::object()) { return Request(socket_, method, params); }

  // Starts a backfill of the cache with cascade and waits for it to end.
  json Backfill(const std::string& reprocess) {
    const auto t0 = std::chrono::steady_clock::now();
    json started = Call("backfill.start", {{"processor", "player_daily_cache"}, {"start_date", kFirst},
                                           {"end_date", kLast}, {"parallel", 2}, {"cascade", true},
                                           {"reprocess", reprocess}});
    EXPECT_TRUE(started["ok"] == true) << started;
    if (started["ok"] != true) return json();
    const int64_t id = started["result"]["backfill"]["id"];
    EXPECT_EQ(started["result"]["backfill"]["processors"],
              json({"player_daily_cache", "ml_feature_store", "spot_check"}));
    EXPECT_EQ(started["result"]["backfill"]["total"], 3 * kDays);
    json b;
    EXPECT_TRUE(WaitFor([&] {
      b = Call("backfill.status", {{"id", id}})["result"]["backfill"];
      return b.is_object() && b["state"] != "running";
    }, 60s)) << b << daemon_->Log();
    std::cout << "backfill " << id << " (reprocess " << reprocess << "): " << b["state"] << ", "
              << b["succeeded"] << " succeeded, " << b["failed"] << " failed, in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    return b;
  }

  // The spot check runs of backfill `id`, by partition, once the ledger has them all.
  std::map<std::string, json> SpotRuns(int64_t id) {
    std::map<std::string, json> out;
    WaitFor([&] { return SpotRunsNow(id).size() == static_cast<size_t>(kDays); }, 10s);
    return SpotRunsNow(id);
  }
  std::map<std::string, json> SpotRunsNow(int64_t id) {
    std::map<std::string, json> out;
    json reply = Call("runs", {{"processor", "spot_check"}, {"limit", 1000}});
    if (reply["ok"] != true) ADD_FAILURE() << reply;
    for (const json& r : reply["result"]["runs"]) {
      if (r["backfill_id"] == id) out[r["partition"].get<std::string>()] = r;
    }
    return out;
  }

  // "overall 120/120 checks (100.0%); ..." from a run's log (the ledger keeps it once the run is
  // recorded), or "" with the reply.
  std::string Overall(int64_t run) {
    json reply;
    std::string found;
    WaitFor([&] {
      reply = Call("logs", {{"run", run}});
      for (const json& line : reply["result"]["lines"]) {
        const std::string m = line["message"];
        if (m.find("overall") != std::string::npos) found = m;
      }
      return !found.empty();
    }, 10s);
    return found.empty() ? "no overall line in " + reply.dump() : found;
  }

  TempDir dir_;
  std::string socket_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_P(Walkthrough, BackfillBreakTheWindowFixItAndBackfillAgain) {
  Config(5);
  daemon_ = std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", dir_ / "kiln.toml"},
                                            dir_ / "kilnd.log");
  ASSERT_TRUE(WaitFor([&] { return !Call("status").is_null() || !daemon_->Running(); }, 10s)) << daemon_->Log();
  const std::string cache = dir_ / "state/cache.db", season = dir_ / "state/season.db";
  const int64_t player_dates =
      Count(season, std::string("SELECT COUNT(*) FROM box_scores WHERE game_date BETWEEN '") + kFirst + "' AND '" +
                        kLast + "'");
  ASSERT_GT(player_dates, 300);
  // The last day of the range with games: its spot check samples 20 player-dates (120 checks).
  const std::string last =
      Rows(season, std::string("SELECT MAX(game_date) FROM games WHERE game_date <= '") + kLast + "'")[0];

  // 1. Backfill with cascade: every (processor, day) succeeds, every spot check passes.
  json b = Backfill("none");
  EXPECT_EQ(b["state"], "succeeded") << b << "\n" << Call("runs", {{"status", "failed"}, {"limit", 2}}) << "\n"
                                     << daemon_->Log();
  EXPECT_EQ(b["succeeded"], 3 * kDays);
  std::map<std::string, json> spots = SpotRuns(b["id"]);
  ASSERT_EQ(spots.size(), static_cast<size_t>(kDays));
  for (const auto& [day, run] : spots) EXPECT_EQ(run["status"], "succeeded") << day << " " << run;
  const std::string passing = Overall(spots[last]["id"]);
  EXPECT_NE(passing.find("120/120 checks (100.0%)"), std::string::npos) << passing;
  std::cout << "correct windows, " << last << ": " << passing << "\n";
  EXPECT_EQ(Count(cache, "SELECT COUNT(*) FROM player_daily_cache"), player_dates);

  // 2. The deliberately wrong rolling window, reloaded like `kilnctl reload-config`.
  Config(4);
  json reloaded = Call("reload");
  ASSERT_EQ(reloaded["result"]["processors"], 3) << reloaded;
  // reprocess none refuses: every date already ran.
  EXPECT_EQ(Call("backfill.start", {{"processor", "player_daily_cache"}, {"start_date", kFirst}, {"end_date", kLast}})
                ["error"]["message"],
            "nothing to backfill: all 31 date(s) of 'player_daily_cache' already have finished runs (reprocess = "
            "none; use failed or all)");
  b = Backfill("all");
  EXPECT_EQ(b["state"], "failed") << b;
  spots = SpotRuns(b["id"]);
  ASSERT_EQ(spots.size(), static_cast<size_t>(kDays));
  const std::regex failure(
      R"(processor 'spot_check': transform failed: spot check: \d+\.\d% of checks passed )"
      R"(\(\d+/120\), below threshold 95\.0%)");
  int failed = 0;
  for (const auto& [day, run] : spots) {
    if (run["status"] == "failed") {
      ++failed;
      EXPECT_TRUE(std::regex_match(run["error"].get<std::string>(), failure)) << run["error"];
    }
  }
  // Until players have 5 games behind them a window of 4 is no different; after that every day fails.
  EXPECT_GE(failed, 10);
  EXPECT_EQ(spots[last]["status"], "failed");
  EXPECT_EQ(b["failed"], failed);  // the cache and the feature store themselves succeed
  std::cout << "window_short = 4, " << last << ": " << spots[last]["error"].get<std::string>() << "; " << failed
            << " of " << kDays << " daily spot checks failed\n";
  EXPECT_EQ(Count(cache, "SELECT COUNT(*) FROM player_daily_cache"), player_dates);  // replaced, not added
  EXPECT_EQ(Count(cache, "SELECT COUNT(DISTINCT window_short) FROM cache_partitions"), 1);

  // 3. Fix it, reload, backfill again with reprocess all: every spot check passes again.
  Config(5);
  ASSERT_EQ(Call("reload")["result"]["processors"], 3);
  b = Backfill("all");
  EXPECT_EQ(b["state"], "succeeded") << b;
  EXPECT_EQ(b["succeeded"], 3 * kDays);
  spots = SpotRuns(b["id"]);
  for (const auto& [day, run] : spots) EXPECT_EQ(run["status"], "succeeded") << day << " " << run;
  const std::string fixed = Overall(spots[last]["id"]);
  EXPECT_NE(fixed.find("120/120 checks (100.0%)"), std::string::npos) << fixed;
  std::cout << "fixed, " << last << ": " << fixed << "\n";
  EXPECT_EQ(Count(cache, "SELECT COUNT(*) FROM player_daily_cache"), player_dates);
  EXPECT_EQ(Count(dir_ / "state/features.db", "SELECT COUNT(*) FROM ml_features"), player_dates);
  EXPECT_EQ(Count(cache, "SELECT MIN(window_short) FROM cache_partitions"), 5);

  daemon_->Signal(SIGTERM);
  const std::optional<int> code = daemon_->Wait(15s);
  const std::string log = daemon_->Log();
  EXPECT_EQ(code, 0) << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
}

INSTANTIATE_TEST_SUITE_P(Isolation, Walkthrough, ::testing::Values("process", "inprocess"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace
}  // namespace kiln::pipeline_test

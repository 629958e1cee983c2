// The pipeline's plugins on a tiny hand-written season: every formula against
// numbers computed by hand, idempotent re-runs, and the exact text of option
// and setup errors.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plugins/pipeline_common/features.h"
#include "tests/pipeline/pipeline_util.h"
#include "tools/seasongen/schema.h"

namespace kiln::pipeline_test {
namespace {

// Two teams, three players, five games, the last on D = 2025-01-08.
//
//   game  date        home  team 1 (min fga fta tov pts)  team 2 pts
//   1     2025-01-01  1     240  85  20  14  100           95
//   2     2025-01-03  2     265  90  22  12  110           105   (one overtime)
//   3     2025-01-04  1     240  80  25  15   90           100
//   4     2025-01-07  2     240  88  18  13  120           98
//   5     2025-01-08  1     240  80  20  10  101           99    (D)
//
// Player 1 (team 1):  g1 30 min 10 pts 5 reb 2 ast, 4/10 FG, 2/4 FT, 2 TOV
//                     g2 32 min 20 pts 7 reb 4 ast, 8/12 FG (2 threes), 2/2 FT, 3 TOV
//                     g3 did not play
//                     g4 34 min 30 pts 9 reb 6 ast, 11/14 FG (2 threes), 6/6 FT, 1 TOV
//                     g5 (D) 36 min 40 pts: must never count for D
// Player 2 (team 1):  listed for g5 only (injured): no history
// Player 3 (team 2):  g1 20 min 8 pts 3 reb 1 ast, 3/7 FG, 2/2 FT, 1 TOV; g2..g4 injured; listed for g5
constexpr const char* kFixture = R"sql(
INSERT INTO teams VALUES (1, 'AAA', 'Alpha City Ones'), (2, 'BBB', 'Beta Town Twos');
INSERT INTO players VALUES (1, 'Player One', 'G'), (2, 'Player Two', 'F'), (3, 'Player Three', 'C');
INSERT INTO games VALUES
  (1, '2025-01-01', 1, 2, 100, 95, 0), (2, '2025-01-03', 2, 1, 105, 110, 1), (3, '2025-01-04', 1, 2, 90, 100, 0),
  (4, '2025-01-07', 2, 1, 98, 120, 0), (5, '2025-01-08', 1, 2, 101, 99, 0);
INSERT INTO team_box_scores VALUES
  (1, '2025-01-01', 1, 2, 1, 240, 100, 40, 20, 38, 85, 10, 30, 14, 20, 14),
  (1, '2025-01-01', 2, 1, 0, 240,  95, 40, 20, 36, 84, 10, 30, 13, 19, 15),
  (2, '2025-01-03', 1, 2, 0, 265, 110, 40, 20, 42, 90, 10, 30, 16, 22, 12),
  (2, '2025-01-03', 2, 1, 1, 265, 105, 40, 20, 40, 88, 10, 30, 15, 20, 13),
  (3, '2025-01-04', 1, 2, 1, 240,  90, 40, 20, 34, 80, 10, 30, 12, 25, 15),
  (3, '2025-01-04', 2, 1, 0, 240, 100, 40, 20, 38, 82, 10, 30, 14, 18, 11),
  (4, '2025-01-07', 1, 2, 0, 240, 120, 40, 20, 46, 88, 10, 30, 18, 18, 13),
  (4, '2025-01-07', 2, 1, 1, 240,  98, 40, 20, 37, 85, 10, 30, 14, 20, 14),
  (5, '2025-01-08', 1, 2, 1, 240, 101, 40, 20, 38, 80, 10, 30, 15, 20, 10),
  (5, '2025-01-08', 2, 1, 0, 240,  99, 40, 20, 37, 84, 10, 30, 15, 21, 12);
INSERT INTO box_scores VALUES
  (1, '2025-01-01', 1, 1, 30, 10, 5, 2,  4, 10, 0, 0, 2, 4, 2, NULL),
  (1, '2025-01-01', 3, 2, 20,  8, 3, 1,  3,  7, 0, 1, 2, 2, 1, NULL),
  (2, '2025-01-03', 1, 1, 32, 20, 7, 4,  8, 12, 2, 4, 2, 2, 3, NULL),
  (2, '2025-01-03', 3, 2,  0,  0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 'injured: ankle sprain'),
  (3, '2025-01-04', 1, 1,  0,  0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 'coach''s decision'),
  (3, '2025-01-04', 3, 2,  0,  0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 'injured: ankle sprain'),
  (4, '2025-01-07', 1, 1, 34, 30, 9, 6, 11, 14, 2, 5, 6, 6, 1, NULL),
  (4, '2025-01-07', 3, 2,  0,  0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 'injured: ankle sprain'),
  (5, '2025-01-08', 1, 1, 36, 40, 9, 9, 15, 20, 4, 8, 6, 8, 2, NULL),
  (5, '2025-01-08', 2, 1,  0,  0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 'injured: illness'),
  (5, '2025-01-08', 3, 2, 18,  6, 2, 0,  3,  6, 0, 0, 0, 0, 0, NULL);
)sql";

constexpr const char* kDay = "2025-01-08";

class Plugins : public ::testing::Test {
 protected:
  void SetUp() override {
    season_ = dir_ / "season.db";
    cache_ = dir_ / "cache.db";
    features_ = dir_ / "features.db";
    pipeline::Db db = pipeline::Db::Open(season_, pipeline::Db::Mode::kCreate, "fixture");
    db.Exec(seasongen::kSchemaSql);
    db.Exec(kFixture);
  }

  std::vector<std::string> CacheOptions(int short_window = 2, int long_window = 3) {
    return {"season_db=" + season_, "db=" + cache_, "window_short=" + std::to_string(short_window),
            "window_long=" + std::to_string(long_window)};
  }
  std::vector<std::string> FeatureOptions() {
    return {"season_db=" + season_, "cache_db=" + cache_, "db=" + features_};
  }
  std::vector<std::string> SpotOptions(std::vector<std::string> extra = {}) {
    std::vector<std::string> o = {"season_db=" + season_, "cache_db=" + cache_, "features_db=" + features_,
                                  "samples=100", "lookback_days=8"};
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  }
  std::string Cache(const std::string& columns, int64_t player, const std::string& day = kDay) {
    auto rows = Rows(cache_, "SELECT " + columns + " FROM player_daily_cache WHERE game_date = '" + day +
                                 "' AND player_id = " + std::to_string(player));
    return rows.size() == 1 ? rows[0] : "rows: " + std::to_string(rows.size());
  }
  double CacheReal(const std::string& column, int64_t player) {
    pipeline::Db db = OpenDb(cache_);
    pipeline::Stmt s =
        db.Prepare("SELECT " + column + " FROM player_daily_cache WHERE game_date = ?1 AND player_id = ?2");
    s.Bind(1, kDay).Bind(2, player);
    EXPECT_TRUE(s.Step());
    EXPECT_FALSE(s.IsNull(0)) << column;
    return s.Real(0);
  }
  std::vector<double> Features(int64_t player) {
    pipeline::Db db = OpenDb(features_);
    std::string sql = "SELECT feature_version";
    for (const char* f : pipeline::kFeatureNames) sql += std::string(", ") + f;
    pipeline::Stmt s = db.Prepare(sql + " FROM ml_features WHERE game_date = ?1 AND player_id = ?2");
    s.Bind(1, kDay).Bind(2, player);
    std::vector<double> out;
    if (!s.Step()) return out;
    EXPECT_EQ(s.Text(0), "fs-1");
    for (size_t i = 0; i < pipeline::kFeatureCount; ++i) out.push_back(s.Real(static_cast<int>(i + 1)));
    return out;
  }

  TempDir dir_;
  std::string season_, cache_, features_;
};

TEST_F(Plugins, CacheFormulasMatchHandComputedValues) {
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), kDay), "");
  // Player 1: games before D, newest first: g4 (30/9/6/34), g2 (20/7/4/32), g1 (10/5/2/30).
  // Short window 2: (30+20)/2 = 25 pts, (9+7)/2 = 8 reb, (6+4)/2 = 5 ast, (34+32)/2 = 33 min.
  EXPECT_EQ(Cache("pts_avg_short, reb_avg_short, ast_avg_short, min_avg_short", 1), "25.0|8.0|5.0|33.0");
  // Long window 3 and the season: all three games: 20 pts, 7 reb, 4 ast, 32 min.
  EXPECT_EQ(Cache("pts_avg_long, reb_avg_long, ast_avg_long, min_avg_long", 1), "20.0|7.0|4.0|32.0");
  EXPECT_EQ(Cache("pts_season, reb_season, ast_season, min_season", 1), "20.0|7.0|4.0|32.0");
  // Three games played (the DNP on 01-04 and the game on D itself do not count); last game
  // 2025-01-07, so zero rest days before 2025-01-08 (a back-to-back). Home on D against team 2.
  EXPECT_EQ(Cache("team_id, game_id, opponent_id, home, games_played, rest_days", 1), "1|5|2|1|3|0");
  // FG 23/36, FT 10/12, TS% = 60 / (2 * (36 + 0.44 * 12)) = 60 / 82.56, TOV (2+3+1)/3.
  EXPECT_DOUBLE_EQ(CacheReal("fg_pct", 1), 23.0 / 36.0);
  EXPECT_DOUBLE_EQ(CacheReal("ft_pct", 1), 10.0 / 12.0);
  EXPECT_NEAR(CacheReal("ts_pct", 1), 0.7267441860465116, 1e-12);
  EXPECT_DOUBLE_EQ(CacheReal("tov_season", 1), 2.0);
  // USG% = 100 * ((FGA + 0.44*FTA + TOV) * (TmMP/5)) / (MP * (TmFGA + 0.44*TmFTA + TmTOV))
  //      = 100 * ((36 + 5.28 + 6) * (745/5)) / (96 * (263 + 26.4 + 39))
  //      = 100 * 7044.72 / 31526.4 = 22.345462850182706
  // (team terms from games 1, 2 and 4 only: the games he played, one of them in overtime).
  EXPECT_NEAR(CacheReal("usage_rate", 1), 22.345462850182706, 1e-9);

  // Player 2: listed on D but never played before it: a row, games 0, every statistic NULL.
  EXPECT_EQ(Cache("games_played, rest_days, pts_avg_short, pts_season, fg_pct, usage_rate", 2),
            "0|NULL|NULL|NULL|NULL|NULL");
  // Player 3: one game (g1) before D, fewer than either window: every average is that game.
  EXPECT_EQ(Cache("pts_avg_short, pts_avg_long, pts_season, reb_avg_short, min_avg_long", 3), "8.0|8.0|8.0|3.0|20.0");
  EXPECT_EQ(Cache("team_id, opponent_id, home, games_played, rest_days", 3), "2|1|0|1|6");
  // USG% = 100 * ((7 + 0.88 + 1) * 48) / (20 * (84 + 8.36 + 15)) = 42624 / 2147.2
  EXPECT_NEAR(CacheReal("usage_rate", 3), 100.0 * (8.88 * 48.0) / (20.0 * 107.36), 1e-9);
  EXPECT_NEAR(CacheReal("usage_rate", 3), 19.85097, 1e-5);

  EXPECT_EQ(Rows(cache_, "SELECT game_date, players, window_short, window_long FROM cache_partitions"),
            std::vector<std::string>{"2025-01-08|3|2|3"});
}

TEST_F(Plugins, FeatureDefinitionsMatchHandComputedValues) {
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), kDay), "");
  ASSERT_EQ(RunOnce("ml_feature_store", FeatureOptions(), kDay), "");
  const std::vector<double> p1 = Features(1);
  ASSERT_EQ(p1.size(), 26u);
  const double usage1 = 22.345462850182706;
  // Points allowed by team 2 (player 1's opponent) before D: team 1 scored 100, 110, 90, 120.
  const std::vector<double> want1 = {25, 20, 8, 7, 5, 4, 33, 32, 20, 7, 4, 32, usage1, 23.0 / 36, 10.0 / 12,
                                     0.7267441860465116, 2, 25 - 20, 33 - 32, 36.0 * 20 / 32, 3, 0, 1, 1, 105, 1};
  for (size_t i = 0; i < want1.size(); ++i) EXPECT_NEAR(p1[i], want1[i], 1e-9) << pipeline::kFeatureNames[i];
  // No history: zeros, rest days capped at 7, home, team 1 allowed 95, 105, 100, 98 = 99.5 ... to team 2's
  // players; player 2 plays for team 1, whose opponent team 2 allowed 105.
  const std::vector<double> want2 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 105, 0};
  const std::vector<double> p2 = Features(2);
  ASSERT_EQ(p2.size(), 26u);
  for (size_t i = 0; i < want2.size(); ++i) EXPECT_NEAR(p2[i], want2[i], 1e-9) << pipeline::kFeatureNames[i];
  const std::vector<double> p3 = Features(3);
  ASSERT_EQ(p3.size(), 26u);
  EXPECT_EQ(p3[21], 6);     // rest_days
  EXPECT_EQ(p3[23], 0);     // away
  EXPECT_EQ(p3[24], 99.5);  // team 1 allowed 95, 105, 100, 98
  EXPECT_EQ(p3[19], 36.0 * 8 / 20);
  EXPECT_EQ(Rows(features_, "SELECT game_date, players, feature_version, cache_window_short FROM feature_partitions"),
            std::vector<std::string>{"2025-01-08|3|fs-1|2"});
}

TEST_F(Plugins, RerunningADayReplacesItsRowsAndADryRunWritesNothing) {
  const std::string all_rows = "SELECT * FROM player_daily_cache ORDER BY game_date, player_id";
  for (const char* day : {"2025-01-07", kDay}) ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), day), "");
  const std::vector<std::string> first = Rows(cache_, all_rows);
  ASSERT_EQ(first.size(), 5u);  // 2 players on 01-07, 3 on 01-08
  // Same options: the same rows, no duplicates, the other day untouched.
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), kDay), "");
  EXPECT_EQ(Rows(cache_, all_rows), first);
  // Other options: that day's rows are replaced, never added to.
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(1, 3), kDay), "");
  EXPECT_EQ(Count(cache_, "SELECT COUNT(*) FROM player_daily_cache"), 5);
  EXPECT_EQ(Cache("pts_avg_short", 1), "30.0");
  EXPECT_EQ(Cache("pts_avg_short", 1, "2025-01-07"), "15.0");  // (20 + 10) / 2, untouched
  EXPECT_EQ(Rows(cache_, "SELECT game_date, window_short FROM cache_partitions ORDER BY 1"),
            (std::vector<std::string>{"2025-01-07|2", "2025-01-08|1"}));
  // A dry run computes and writes nothing.
  {
    Opened o = OpenPlugin("player_daily_cache", CacheOptions(2, 3));
    ASSERT_TRUE(o.status.ok()) << o.status.message();
    RunResult r = RunDay(*o.instance, kDay, /*dry_run=*/true);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
  }
  EXPECT_EQ(Cache("pts_avg_short", 1), "30.0");
  // The feature store, run twice on one instance: still one row per player.
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), kDay), "");
  Opened f = OpenPlugin("ml_feature_store", FeatureOptions());
  ASSERT_TRUE(f.status.ok()) << f.status.message();
  ASSERT_TRUE(RunDay(*f.instance, kDay).status.ok());
  const std::vector<std::string> once = Rows(features_, "SELECT * FROM ml_features ORDER BY player_id");
  ASSERT_TRUE(RunDay(*f.instance, kDay).status.ok());
  EXPECT_EQ(Rows(features_, "SELECT * FROM ml_features ORDER BY player_id"), once);
  EXPECT_EQ(once.size(), 3u);
}

TEST_F(Plugins, SpotCheckPassesOnACorrectCacheAndFailsOnAWrongWindow) {
  // Every box-score row of the fixture (11 player-dates over 8 days) is checked.
  for (const char* day : {"2025-01-01", "2025-01-03", "2025-01-04", "2025-01-07", kDay}) {
    ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(2, 3), day), "");
    ASSERT_EQ(RunOnce("ml_feature_store", FeatureOptions(), day), "");
  }
  EXPECT_EQ(RunOnce("spot_check", SpotOptions({"window_short=2", "window_long=3"}), kDay), "");
  // Against the default reference windows (5 and 10) the cache built with 2 and 3 is wrong
  // exactly where a player has more than 2 games before the date: player 1 on 2025-01-08,
  // which fails rolling_short and ml_features: 64 of 66 checks pass, 97.0%.
  EXPECT_EQ(RunOnce("spot_check", SpotOptions({"threshold=0.99"}), kDay),
            "processor 'proc': transform failed: spot check: 97.0% of checks passed (64/66), below threshold 99.0%");
  EXPECT_EQ(RunOnce("spot_check", SpotOptions({"threshold=0.96"}), kDay), "");
  // A missing row fails every check that needs it.
  {
    pipeline::Db db = OpenDb(cache_);
    db.Exec("DELETE FROM player_daily_cache WHERE player_id = 3 AND game_date = '2025-01-01'");
  }
  EXPECT_EQ(RunOnce("spot_check", SpotOptions({"window_short=2", "window_long=3"}), kDay),
            "processor 'proc': transform failed: spot check: 92.4% of checks passed (61/66), below threshold 95.0%");
}

TEST_F(Plugins, OptionErrorsAreExact) {
  auto cache = [&](std::vector<std::string> extra) {
    std::vector<std::string> o = {"season_db=" + season_, "db=" + cache_};
    o.insert(o.end(), extra.begin(), extra.end());
    Opened opened = OpenPlugin("player_daily_cache", o);
    return opened.status.ok() ? std::string("ok") : opened.status.message();
  };
  // Range checks: the plugin's configure.
  EXPECT_EQ(cache({"window_short=0"}),
            "processor 'proc': configure failed: option 'window_short' must be between 1 and 82 games, found 0");
  EXPECT_EQ(cache({"window_long=83"}),
            "processor 'proc': configure failed: option 'window_long' must be between 1 and 82 games, found 83");
  EXPECT_EQ(cache({"window_short=6", "window_long=5"}),
            "processor 'proc': configure failed: option 'window_long' (5) must not be shorter than option "
            "'window_short' (6)");
  EXPECT_EQ(cache({"window_short=4"}), "ok");
  // Names and types: the host, against the option schema, before configure.
  EXPECT_EQ(cache({"window_short=five"}),
            "plugin 'player_daily_cache': option 'window_short': expected int, found 'five'");
  EXPECT_EQ(cache({"windw_short=5"}),
            "plugin 'player_daily_cache': unknown option 'windw_short' (did you mean 'window_short'?)");
  EXPECT_EQ(OpenPlugin("player_daily_cache", {"db=" + cache_}).status.message(),
            "plugin 'player_daily_cache': missing required option 'season_db'");
  EXPECT_EQ(OpenPlugin("player_daily_cache", {"season_db=" + season_, "db="}).status.message(),
            "processor 'proc': configure failed: option 'db' must name a database file, found \"\"");

  auto spot = [&](std::vector<std::string> extra) {
    Opened opened = OpenPlugin("spot_check", SpotOptions(extra));
    return opened.status.ok() ? std::string("ok") : opened.status.message();
  };
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(), kDay), "");
  ASSERT_EQ(RunOnce("ml_feature_store", FeatureOptions(), kDay), "");
  EXPECT_EQ(spot({"threshold=1.5"}),
            "processor 'proc': configure failed: option 'threshold' must be a fraction between 0 and 1 (0.95 is 95%), "
            "found 1.5");
  EXPECT_EQ(spot({"samples=0"}),
            "processor 'proc': configure failed: option 'samples' must be between 1 and 100000 player-dates, found 0");
  EXPECT_EQ(spot({"usage_tolerance=-0.1"}),
            "processor 'proc': configure failed: option 'usage_tolerance' must be a relative tolerance in [0, 1), "
            "found -0.1");
  EXPECT_EQ(spot({"lookback_days=400"}),
            "processor 'proc': configure failed: option 'lookback_days' must be between 1 and 366 days, found 400");
  EXPECT_EQ(spot({"threshold=high"}), "plugin 'spot_check': option 'threshold': expected float, found 'high'");
  EXPECT_EQ(OpenPlugin("ml_feature_store", {"season_db=" + season_, "cache_db=" + cache_, "db=" + cache_})
                .status.message(),
            "processor 'proc': configure failed: option 'db' must differ from option 'cache_db' (" + cache_ + ")");
}

TEST_F(Plugins, SetupErrorsNameTheFileAndTheFix) {
  EXPECT_EQ(OpenPlugin("player_daily_cache", {"season_db=" + (dir_ / "nope.db"), "db=" + cache_}).status.message(),
            "processor 'proc': init failed: cannot open season database " + (dir_ / "nope.db") +
                ": unable to open database file");
  {
    pipeline::Db empty = pipeline::Db::Open(dir_ / "empty.db", pipeline::Db::Mode::kCreate, "x");
    empty.Exec("CREATE TABLE t (x)");
  }
  EXPECT_EQ(OpenPlugin("player_daily_cache", {"season_db=" + (dir_ / "empty.db"), "db=" + cache_}).status.message(),
            "processor 'proc': init failed: " + (dir_ / "empty.db") +
                " is not a season database: it has no table 'box_scores' (generate one with kiln-seasongen)");
  // The feature store before the cache ever ran, then for a day the cache has not built.
  EXPECT_EQ(RunOnce("ml_feature_store", FeatureOptions(), kDay),
            "processor 'proc': init failed: cannot open cache database " + cache_ + ": unable to open database file");
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(), "2025-01-07"), "");
  EXPECT_EQ(RunOnce("ml_feature_store", FeatureOptions(), kDay),
            "processor 'proc': extract failed: player_daily_cache has not run for 2025-01-08: no row in "
            "cache_partitions of " + cache_);
}

TEST_F(Plugins, DaysWithoutGamesSucceedEmpty) {
  ASSERT_EQ(RunOnce("player_daily_cache", CacheOptions(), "2025-01-02"), "");
  ASSERT_EQ(RunOnce("ml_feature_store", FeatureOptions(), "2025-01-02"), "");
  EXPECT_EQ(Rows(cache_, "SELECT players FROM cache_partitions"), std::vector<std::string>{"0"});
  EXPECT_EQ(RunOnce("spot_check", {"season_db=" + season_, "cache_db=" + cache_, "features_db=" + features_},
                    "2025-01-02"),
            "");
}

}  // namespace
}  // namespace kiln::pipeline_test

// kiln-seasongen: byte-identical output per seed, and a season whose box
// scores add up (minutes, points, team totals), with rest days, did-not-play
// games, injuries and trades.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/pipeline/pipeline_util.h"
#include "tests/support/subprocess.h"
#include "tools/seasongen/season.h"

namespace kiln::pipeline_test {
namespace {

using seasongen::Generate;
using seasongen::SeasonOptions;
using seasongen::SeasonSummary;
using testing::Slurp;

TEST(SeasonGen, SameSeedSameBytesOtherSeedOtherSeason) {
  TempDir dir;
  SeasonOptions o;  // the full default season: 450 players, 30 teams, 2024-10-22..2025-04-13
  const SeasonSummary a = Generate(o, dir / "a.db");
  Generate(o, dir / "b.db");
  const std::string bytes = Slurp(dir / "a.db");
  ASSERT_GT(bytes.size(), 1000000u);
  EXPECT_TRUE(bytes == Slurp(dir / "b.db"));
  o.seed = 2;
  Generate(o, dir / "c.db");
  EXPECT_FALSE(bytes == Slurp(dir / "c.db"));
  // About 82 games a team, ~15 players listed per team and game.
  EXPECT_NEAR(a.games, 30 * 82 / 2, 40);
  EXPECT_EQ(a.box_scores, a.played + a.did_not_play);
  EXPECT_GT(a.injuries, 50);
  EXPECT_GT(a.trades, 10);
  EXPECT_EQ(Count(dir / "a.db", "SELECT COUNT(*) FROM players"), 450);
  EXPECT_EQ(Count(dir / "a.db", "SELECT COUNT(*) FROM teams"), 30);
  EXPECT_EQ(Count(dir / "a.db", "SELECT MIN(game_date) >= '2024-10-22' AND MAX(game_date) <= '2025-04-13' FROM games"),
            1);
  EXPECT_EQ(Count(dir / "a.db",
                  "SELECT MAX(c) - MIN(c) <= 6 FROM (SELECT COUNT(*) c FROM team_box_scores GROUP BY team_id)"),
            1);
  // No games over the All-Star break.
  EXPECT_EQ(Count(dir / "a.db", "SELECT COUNT(*) FROM games WHERE game_date BETWEEN '2025-02-14' AND '2025-02-19'"), 0);
}

TEST(SeasonGen, BoxScoresAddUp) {
  TempDir dir;
  SeasonOptions o;
  o.players = 40;
  o.teams = 4;
  o.start = "2024-11-04";
  o.end = "2024-12-15";
  o.seed = 7;
  const SeasonSummary s = Generate(o, dir / "s.db");
  const std::string db = dir / "s.db";
  EXPECT_GT(s.games, 30);
  // Each row's points from its makes; did-not-play rows are all zero and carry a reason.
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM box_scores WHERE points != 2 * fgm + fg3m + ftm OR fgm > fga "
                      "OR fg3m > fg3a OR fg3a > fga OR fg3m > fgm OR ftm > fta"), 0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM box_scores WHERE (minutes = 0) != (dnp_reason IS NOT NULL)"), 0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM box_scores WHERE minutes = 0 AND points + fga + fta + rebounds + "
                      "assists + turnovers > 0"), 0);
  // Team rows are the sums of their players'; minutes are 240 plus 25 per overtime.
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM team_box_scores t JOIN (SELECT game_id, team_id, SUM(minutes) m, "
                      "SUM(points) p, SUM(fga) fga, SUM(fta) fta, SUM(turnovers) tov, SUM(rebounds) r FROM box_scores "
                      "GROUP BY 1, 2) b USING (game_id, team_id) JOIN games g USING (game_id) "
                      "WHERE t.minutes != b.m OR t.points != b.p OR t.fga != b.fga OR t.fta != b.fta "
                      "OR t.turnovers != b.tov OR t.rebounds != b.r OR t.minutes != 240 + 25 * g.overtimes"),
            0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM games g JOIN team_box_scores h ON h.game_id = g.game_id AND "
                      "h.team_id = g.home_team_id AND h.home = 1 JOIN team_box_scores a ON a.game_id = g.game_id AND "
                      "a.team_id = g.away_team_id AND a.home = 0 AND a.opponent_id = h.team_id "
                      "WHERE h.points = g.home_points AND a.points = g.away_points AND h.points != a.points"),
            s.games);
  // Rest: back-to-backs happen, three games in three nights never do.
  EXPECT_GT(Count(db, "SELECT COUNT(*) FROM team_box_scores a JOIN team_box_scores b ON a.team_id = b.team_id AND "
                      "julianday(b.game_date) = julianday(a.game_date) + 1"), 0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM team_box_scores a JOIN team_box_scores b ON a.team_id = b.team_id AND "
                      "julianday(b.game_date) = julianday(a.game_date) + 1 JOIN team_box_scores c ON "
                      "c.team_id = a.team_id AND julianday(c.game_date) = julianday(a.game_date) + 2"), 0);
  // Did-not-play games of three kinds; injuries keep a player out until his return date.
  EXPECT_GT(Count(db, "SELECT COUNT(*) FROM box_scores WHERE dnp_reason = 'coach''s decision'"), 0);
  EXPECT_GT(Count(db, "SELECT COUNT(*) FROM box_scores WHERE dnp_reason LIKE 'injured: %'"), 0);
  EXPECT_GT(s.injuries, 0);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM injuries i JOIN box_scores b ON b.player_id = i.player_id AND "
                      "b.game_date > i.injury_date AND b.game_date < i.return_date WHERE b.minutes > 0"), 0);
  // Trades: a player's box scores are with the team of his stint at that date.
  EXPECT_GE(s.trades, 1);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM roster_stints WHERE how = 'trade'"), 2 * s.trades);
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM box_scores b WHERE NOT EXISTS (SELECT 1 FROM roster_stints r WHERE "
                      "r.player_id = b.player_id AND r.team_id = b.team_id AND r.start_date <= b.game_date AND "
                      "(r.end_date IS NULL OR b.game_date < r.end_date))"),
            0);
  // Every rostered player is listed for each of his team's games.
  EXPECT_EQ(Count(db, "SELECT COUNT(*) FROM box_scores"), static_cast<int64_t>(s.games) * 2 * 10);
}

TEST(SeasonGen, CommandLine) {
  TempDir dir;
  auto r = testing::RunCommand(std::string(KILN_SEASONGEN) + " --db " + (dir / "s.db") +
                               " --players 40 --teams 4 --start 2024-11-04 --end 2024-11-30 --seed 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("4 teams, 40 players"), std::string::npos) << r.out;
  r = testing::RunCommand(std::string(KILN_SEASONGEN) + " --db " + (dir / "t.db") + " --players 10 --teams 4");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kiln-seasongen: --players must be between 8 and 20 per team (32 to 80 for 4 teams), found 10\n");
  r = testing::RunCommand(std::string(KILN_SEASONGEN) + " --db " + (dir / "t.db") + " --start 2025-02-30");
  EXPECT_EQ(r.err, "kiln-seasongen: --start: invalid date '2025-02-30' (expected YYYY-MM-DD)\n");
}

}  // namespace
}  // namespace kiln::pipeline_test

// player_daily_cache: for date D, one row per player with a box-score row on
// D (his team plays that day, whether or not he plays): rolling averages of
// points, rebounds, assists and minutes over his last `window_short` and
// `window_long` games played before D, season averages and shooting
// percentages, games played, rest days and usage rate, all over games played
// before D. docs/pipeline.md defines every column.
//
// Reads the season database (`season_db`, from kiln-seasongen), writes the
// cache database (`db`). Re-running a date replaces that date's rows in one
// transaction: a partition is never duplicated and never half written.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kiln/processor.hpp"
#include "plugins/pipeline_common/features.h"
#include "plugins/pipeline_common/plugin_util.h"
#include "plugins/pipeline_common/sqlite_db.h"

namespace {

using namespace kiln::pipeline;

constexpr const char* kVersion = "1.0.0";

constexpr const char* kCacheSchema = R"sql(
CREATE TABLE IF NOT EXISTS player_daily_cache (
  game_date TEXT NOT NULL,
  player_id INTEGER NOT NULL,
  team_id INTEGER NOT NULL,
  game_id INTEGER NOT NULL,
  opponent_id INTEGER NOT NULL,
  home INTEGER NOT NULL,
  games_played INTEGER NOT NULL,
  rest_days INTEGER,
  pts_avg_short REAL, reb_avg_short REAL, ast_avg_short REAL, min_avg_short REAL,
  pts_avg_long REAL, reb_avg_long REAL, ast_avg_long REAL, min_avg_long REAL,
  pts_season REAL, reb_season REAL, ast_season REAL, min_season REAL,
  fg_pct REAL, ft_pct REAL, ts_pct REAL, tov_season REAL, usage_rate REAL,
  PRIMARY KEY (game_date, player_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache_partitions (
  game_date TEXT PRIMARY KEY,
  players INTEGER NOT NULL,
  window_short INTEGER NOT NULL,
  window_long INTEGER NOT NULL,
  plugin_version TEXT NOT NULL);
)sql";

// One player's slot on D: the game he is listed for.
struct Slot {
  int64_t player_id, team_id, game_id, opponent_id, home;
};

// One game played before D, with his team's totals for that game.
struct Played {
  std::string date;
  double minutes, points, rebounds, assists, fgm, fga, ftm, fta, tov;
  double team_minutes, team_fga, team_fta, team_tov;
};

class PlayerDailyCache final : public kiln::Processor {
 public:
  void configure(const kiln::Options& o, const kiln::Host&) override {
    season_db_ = NonEmpty(o, "season_db");
    db_path_ = NonEmpty(o, "db");
    window_short_ = IntInRange(o, "window_short", 1, 82, "games");
    window_long_ = IntInRange(o, "window_long", 1, 82, "games");
    if (window_long_ < window_short_) {
      throw kiln::Error("option 'window_long' (" + std::to_string(window_long_) +
                        ") must not be shorter than option 'window_short' (" + std::to_string(window_short_) + ")");
    }
  }

  void init(const kiln::Host& host) override {
    season_ = Db::Open(season_db_, Db::Mode::kReadOnly, "season database");
    RequireTables(season_, "season database", {"box_scores", "team_box_scores"}, "generate one with kiln-seasongen");
    out_ = Db::Open(db_path_, Db::Mode::kCreate, "cache database");
    out_.Setup(kCacheSchema);
    host.debug("player_daily_cache: " + season_db_ + " -> " + db_path_ + ", windows " + std::to_string(window_short_) +
               "/" + std::to_string(window_long_));
  }

  void extract(kiln::Run& run) override {
    part_ = PartitionOf(run);
    slots_.clear();
    history_.clear();
    Stmt slots = season_.Prepare(
        "SELECT b.player_id, b.team_id, b.game_id, t.opponent_id, t.home "
        "FROM box_scores b JOIN team_box_scores t ON t.game_id = b.game_id AND t.team_id = b.team_id "
        "WHERE b.game_date = ?1 ORDER BY b.player_id");
    slots.Bind(1, part_.date);
    while (slots.Step()) slots_.push_back({slots.Int(0), slots.Int(1), slots.Int(2), slots.Int(3), slots.Int(4)});
    Stmt games = season_.Prepare(
        "SELECT b.player_id, b.game_date, b.minutes, b.points, b.rebounds, b.assists, b.fgm, b.fga, b.ftm, b.fta, "
        "       b.turnovers, t.minutes, t.fga, t.fta, t.turnovers "
        "FROM box_scores b JOIN team_box_scores t ON t.game_id = b.game_id AND t.team_id = b.team_id "
        "WHERE b.game_date < ?1 AND b.minutes > 0 "
        "  AND b.player_id IN (SELECT player_id FROM box_scores WHERE game_date = ?1) "
        "ORDER BY b.player_id, b.game_date DESC");
    games.Bind(1, part_.date);
    uint64_t rows = 0;
    while (games.Step()) {
      Played p{games.Text(1), games.Real(2), games.Real(3), games.Real(4), games.Real(5), games.Real(6),
               games.Real(7), games.Real(8), games.Real(9), games.Real(10), games.Real(11), games.Real(12),
               games.Real(13), games.Real(14)};
      history_[games.Int(0)].push_back(std::move(p));
      ++rows;
    }
    run.host().add_records(rows);
  }

  void validate(kiln::Run&) override {
    for (size_t i = 1; i < slots_.size(); ++i) {
      if (slots_[i].player_id == slots_[i - 1].player_id) {
        throw kiln::Error("player " + std::to_string(slots_[i].player_id) + " has two games on " + part_.date);
      }
    }
    for (const auto& [player, games] : history_) {
      for (size_t i = 0; i < games.size(); ++i) {
        const Played& g = games[i];
        auto bad = [&](const std::string& what) {
          return kiln::Error("box score of player " + std::to_string(player) + " on " + g.date + ": " + what);
        };
        if (!ParseDate(g.date)) throw bad("invalid game_date '" + g.date + "'");
        if (i > 0 && g.date == games[i - 1].date) throw bad("two games on one date");
        if (g.fgm > g.fga || g.ftm > g.fta) throw bad("more made than attempted");
        if (g.points < 0 || g.rebounds < 0 || g.assists < 0 || g.tov < 0) throw bad("negative statistic");
        if (g.team_minutes < g.minutes) throw bad("team minutes below the player's");
      }
    }
  }

  void transform(kiln::Run& run) override {
    rows_.clear();
    uint64_t done = 0;
    for (const Slot& s : slots_) {
      run.host().check_cancelled();
      CacheRow r;
      r.game_date = part_.date;
      r.player_id = s.player_id;
      r.team_id = s.team_id;
      r.game_id = s.game_id;
      r.opponent_id = s.opponent_id;
      r.home = s.home;
      auto it = history_.find(s.player_id);
      if (it != history_.end()) Compute(it->second, &r);
      rows_.push_back(std::move(r));
      run.host().progress(++done, slots_.size());
    }
  }

  void save(kiln::Run& run) override {
    if (run.dry_run()) {
      run.host().info("dry run: " + std::to_string(rows_.size()) + " rows for " + part_.date + " not written");
      return;
    }
    Transaction tx(out_);
    Stmt del = out_.Prepare("DELETE FROM player_daily_cache WHERE game_date = ?1");
    del.Bind(1, part_.date).Run();
    std::string sql = "INSERT INTO player_daily_cache VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8";
    for (size_t i = 0; i < kCacheStatCount; ++i) sql += ", ?" + std::to_string(9 + i);
    Stmt ins = out_.Prepare(sql + ")");
    for (const CacheRow& r : rows_) {
      ins.Bind(1, r.game_date).Bind(2, r.player_id).Bind(3, r.team_id).Bind(4, r.game_id).Bind(5, r.opponent_id)
          .Bind(6, r.home).Bind(7, r.games_played).Bind(8, r.rest_days);
      for (size_t i = 0; i < kCacheStatCount; ++i) ins.Bind(static_cast<int>(9 + i), r.stat[i]);
      ins.Run();
      ins.Reset();
    }
    Stmt mark = out_.Prepare("INSERT OR REPLACE INTO cache_partitions VALUES (?1, ?2, ?3, ?4, ?5)");
    mark.Bind(1, part_.date).Bind(2, static_cast<int64_t>(rows_.size())).Bind(3, window_short_).Bind(4, window_long_)
        .Bind(5, kVersion).Run();
    run.host().check_cancelled();
    tx.Commit();
    run.host().add_records(rows_.size());
  }

  void post_process(kiln::Run& run) override {
    size_t with_history = 0;
    for (const CacheRow& r : rows_) with_history += r.games_played > 0 ? 1 : 0;
    run.host().info(part_.date + ": " + std::to_string(rows_.size()) + " players cached (" +
                    std::to_string(with_history) + " with games before the date), windows " +
                    std::to_string(window_short_) + "/" + std::to_string(window_long_));
    slots_.clear();
    history_.clear();
    rows_.clear();
  }

  void teardown(const kiln::Host&) override {
    out_.Close();
    season_.Close();
  }

 private:
  // `games`: games played before D, newest first.
  void Compute(const std::vector<Played>& games, CacheRow* r) const {
    const size_t n = games.size();
    r->games_played = static_cast<int64_t>(n);
    if (n == 0) return;
    auto window = [&](size_t w, CacheStat pts, CacheStat reb, CacheStat ast, CacheStat min) {
      const size_t k = std::min(n, w);
      double p = 0, rb = 0, a = 0, m = 0;
      for (size_t i = 0; i < k; ++i) {
        p += games[i].points;
        rb += games[i].rebounds;
        a += games[i].assists;
        m += games[i].minutes;
      }
      const double d = static_cast<double>(k);
      r->stat[pts] = p / d;
      r->stat[reb] = rb / d;
      r->stat[ast] = a / d;
      r->stat[min] = m / d;
    };
    window(static_cast<size_t>(window_short_), kPtsShort, kRebShort, kAstShort, kMinShort);
    window(static_cast<size_t>(window_long_), kPtsLong, kRebLong, kAstLong, kMinLong);
    window(n, kPtsSeason, kRebSeason, kAstSeason, kMinSeason);

    double pts = 0, fgm = 0, fga = 0, ftm = 0, fta = 0, tov = 0, mp = 0;
    double tm_mp = 0, tm_fga = 0, tm_fta = 0, tm_tov = 0;
    for (const Played& g : games) {
      pts += g.points;
      fgm += g.fgm;
      fga += g.fga;
      ftm += g.ftm;
      fta += g.fta;
      tov += g.tov;
      mp += g.minutes;
      tm_mp += g.team_minutes;
      tm_fga += g.team_fga;
      tm_fta += g.team_fta;
      tm_tov += g.team_tov;
    }
    if (fga > 0) r->stat[kFgPct] = fgm / fga;
    if (fta > 0) r->stat[kFtPct] = ftm / fta;
    if (fga + 0.44 * fta > 0) r->stat[kTsPct] = pts / (2.0 * (fga + 0.44 * fta));
    r->stat[kTovSeason] = tov / static_cast<double>(n);
    // USG% = 100 * ((FGA + 0.44*FTA + TOV) * (TmMP / 5)) / (MP * (TmFGA + 0.44*TmFTA + TmTOV)),
    // every term summed over the games he played before D (team terms from his team in each game).
    const double team_possessions = tm_fga + 0.44 * tm_fta + tm_tov;
    if (mp > 0 && team_possessions > 0) {
      r->stat[kUsageRate] = 100.0 * ((fga + 0.44 * fta + tov) * (tm_mp / 5.0)) / (mp * team_possessions);
    }
    r->rest_days = part_.day - *ParseDate(games.front().date) - 1;
  }

  std::string season_db_, db_path_;
  int64_t window_short_ = 5, window_long_ = 10;
  Db season_, out_;
  Partition part_;
  std::vector<Slot> slots_;
  std::map<int64_t, std::vector<Played>> history_;
  std::vector<CacheRow> rows_;
};

const kiln_option_spec_t kOptions[] = {
    {"season_db", KILN_OPTION_STRING, 1, nullptr, "season database to read (kiln-seasongen's schema)"},
    {"db", KILN_OPTION_STRING, 1, nullptr, "cache database to write (created if missing)"},
    {"window_short", KILN_OPTION_INT, 0, "5", "games in the short rolling window (1..82)"},
    {"window_long", KILN_OPTION_INT, 0, "10", "games in the long rolling window (window_short..82)"},
};

}  // namespace

KILN_PLUGIN(PlayerDailyCache, "player_daily_cache", kVersion, KILN_CAP_PARTITIONED_BY_DATE, kOptions)

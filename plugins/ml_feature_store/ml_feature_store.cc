// ml_feature_store: for date D, one feature vector per player-date of the
// player daily cache (26 features, docs/pipeline.md), stamped with
// kFeatureVersion. Reads the cache database (`cache_db`) and, for the
// opponent's points allowed, the season database (`season_db`); writes the
// feature database (`db`). Fails when the cache has not been built for D.
// Re-running a date replaces that date's rows in one transaction.
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

std::string FeatureSchema() {
  std::string sql =
      "CREATE TABLE IF NOT EXISTS ml_features (\n"
      "  game_date TEXT NOT NULL,\n"
      "  player_id INTEGER NOT NULL,\n"
      "  feature_version TEXT NOT NULL,\n";
  for (const char* f : kFeatureNames) sql += std::string("  ") + f + " REAL NOT NULL,\n";
  sql +=
      "  PRIMARY KEY (game_date, player_id)) WITHOUT ROWID;\n"
      "CREATE TABLE IF NOT EXISTS feature_partitions (\n"
      "  game_date TEXT PRIMARY KEY,\n"
      "  players INTEGER NOT NULL,\n"
      "  feature_version TEXT NOT NULL,\n"
      "  cache_window_short INTEGER NOT NULL,\n"
      "  cache_window_long INTEGER NOT NULL);\n";
  return sql;
}

class MlFeatureStore final : public kiln::Processor {
 public:
  void configure(const kiln::Options& o, const kiln::Host&) override {
    season_db_ = NonEmpty(o, "season_db");
    cache_db_ = NonEmpty(o, "cache_db");
    db_path_ = NonEmpty(o, "db");
    if (db_path_ == cache_db_) throw kiln::Error("option 'db' must differ from option 'cache_db' (" + db_path_ + ")");
  }

  void init(const kiln::Host&) override {
    season_ = Db::Open(season_db_, Db::Mode::kReadOnly, "season database");
    RequireTables(season_, "season database", {"team_box_scores"}, "generate one with kiln-seasongen");
    cache_ = Db::Open(cache_db_, Db::Mode::kReadWrite, "cache database");
    RequireTables(cache_, "cache database", {"player_daily_cache", "cache_partitions"},
                  "run player_daily_cache first");
    out_ = Db::Open(db_path_, Db::Mode::kCreate, "feature database");
    out_.Setup(FeatureSchema());
  }

  void extract(kiln::Run& run) override {
    part_ = PartitionOf(run);
    rows_.clear();
    opp_allowed_.clear();
    Stmt mark = cache_.Prepare("SELECT players, window_short, window_long FROM cache_partitions WHERE game_date = ?1");
    mark.Bind(1, part_.date);
    if (!mark.Step()) {
      throw kiln::Error("player_daily_cache has not run for " + part_.date + ": no row in cache_partitions of " +
                        cache_db_);
    }
    expected_rows_ = mark.Int(0);
    window_short_ = mark.Int(1);
    window_long_ = mark.Int(2);

    std::string sql = "SELECT game_date, player_id, team_id, game_id, opponent_id, home, games_played, rest_days";
    for (const char* c : kCacheStatNames) sql += std::string(", ") + c;
    Stmt rows = cache_.Prepare(sql + " FROM player_daily_cache WHERE game_date = ?1 ORDER BY player_id");
    rows.Bind(1, part_.date);
    while (rows.Step()) {
      CacheRow r;
      r.game_date = rows.Text(0);
      r.player_id = rows.Int(1);
      r.team_id = rows.Int(2);
      r.game_id = rows.Int(3);
      r.opponent_id = rows.Int(4);
      r.home = rows.Int(5);
      r.games_played = rows.Int(6);
      r.rest_days = rows.OptInt(7);
      for (size_t i = 0; i < kCacheStatCount; ++i) r.stat[i] = rows.OptReal(static_cast<int>(8 + i));
      rows_.push_back(std::move(r));
    }
    Stmt allowed = season_.Prepare(
        "SELECT opponent_id, AVG(points) FROM team_box_scores WHERE game_date < ?1 GROUP BY opponent_id");
    allowed.Bind(1, part_.date);
    while (allowed.Step()) opp_allowed_[allowed.Int(0)] = allowed.Real(1);
    Stmt league = season_.Prepare("SELECT AVG(points) FROM team_box_scores WHERE game_date < ?1");
    league.Bind(1, part_.date);
    league.Step();
    league_allowed_ = league.OptReal(0).value_or(0.0);
    run.host().add_records(rows_.size());
  }

  void validate(kiln::Run&) override {
    if (static_cast<int64_t>(rows_.size()) != expected_rows_) {
      throw kiln::Error("cache for " + part_.date + " has " + std::to_string(rows_.size()) +
                        " rows, cache_partitions says " + std::to_string(expected_rows_));
    }
    for (const CacheRow& r : rows_) {
      if (r.games_played < 0 || (r.rest_days && *r.rest_days < 0)) {
        throw kiln::Error("cache row of player " + std::to_string(r.player_id) + " on " + part_.date +
                          ": negative games_played or rest_days");
      }
      if ((r.games_played == 0) != !r.stat[kPtsSeason].has_value()) {
        throw kiln::Error("cache row of player " + std::to_string(r.player_id) + " on " + part_.date +
                          ": season averages do not match games_played " + std::to_string(r.games_played));
      }
    }
  }

  void transform(kiln::Run& run) override {
    features_.clear();
    uint64_t done = 0;
    for (const CacheRow& r : rows_) {
      run.host().check_cancelled();
      auto it = opp_allowed_.find(r.opponent_id);
      features_.push_back(BuildFeatures(r, it != opp_allowed_.end() ? it->second : league_allowed_));
      run.host().progress(++done, rows_.size());
    }
  }

  void save(kiln::Run& run) override {
    if (run.dry_run()) {
      run.host().info("dry run: " + std::to_string(features_.size()) + " feature rows for " + part_.date +
                      " not written");
      return;
    }
    Transaction tx(out_);
    Stmt del = out_.Prepare("DELETE FROM ml_features WHERE game_date = ?1");
    del.Bind(1, part_.date).Run();
    std::string sql = "INSERT INTO ml_features VALUES (?1, ?2, ?3";
    for (size_t i = 0; i < kFeatureCount; ++i) sql += ", ?" + std::to_string(4 + i);
    Stmt ins = out_.Prepare(sql + ")");
    for (size_t k = 0; k < rows_.size(); ++k) {
      ins.Bind(1, part_.date).Bind(2, rows_[k].player_id).Bind(3, kFeatureVersion);
      for (size_t i = 0; i < kFeatureCount; ++i) ins.Bind(static_cast<int>(4 + i), features_[k][i]);
      ins.Run();
      ins.Reset();
    }
    Stmt mark = out_.Prepare("INSERT OR REPLACE INTO feature_partitions VALUES (?1, ?2, ?3, ?4, ?5)");
    mark.Bind(1, part_.date).Bind(2, static_cast<int64_t>(rows_.size())).Bind(3, kFeatureVersion)
        .Bind(4, window_short_).Bind(5, window_long_).Run();
    run.host().check_cancelled();
    tx.Commit();
    run.host().add_records(rows_.size());
  }

  void post_process(kiln::Run& run) override {
    run.host().info(part_.date + ": " + std::to_string(features_.size()) + " feature vectors (" +
                    std::to_string(kFeatureCount) + " features, version " + kFeatureVersion + ")");
    rows_.clear();
    features_.clear();
  }

  void teardown(const kiln::Host&) override {
    out_.Close();
    cache_.Close();
    season_.Close();
  }

 private:
  std::string season_db_, cache_db_, db_path_;
  Db season_, cache_, out_;
  Partition part_;
  int64_t expected_rows_ = 0, window_short_ = 0, window_long_ = 0;
  std::vector<CacheRow> rows_;
  std::map<int64_t, double> opp_allowed_;
  double league_allowed_ = 0;
  std::vector<Features> features_;
};

const kiln_option_spec_t kOptions[] = {
    {"season_db", KILN_OPTION_STRING, 1, nullptr, "season database to read (opponents' points allowed)"},
    {"cache_db", KILN_OPTION_STRING, 1, nullptr, "player_daily_cache's database to read"},
    {"db", KILN_OPTION_STRING, 1, nullptr, "feature database to write (created if missing)"},
};

}  // namespace

KILN_PLUGIN(MlFeatureStore, "ml_feature_store", kVersion, KILN_CAP_PARTITIONED_BY_DATE, kOptions)

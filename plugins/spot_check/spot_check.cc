// spot_check: samples `samples` player-dates (seeded by `seed` and the
// partition) among the box-score rows of the `lookback_days` days ending at
// D, recomputes each from the raw box scores with SQL of its own (not the
// cache's code), and compares the result field by field with what
// player_daily_cache and ml_feature_store stored. Six checks per player-date:
//   rolling_short, rolling_long  the windowed averages (reference windows:
//                                options window_short / window_long)
//   season        season averages, shooting percentages, turnovers
//   usage_rate    within `usage_tolerance` (relative; default 2.5 %)
//   schedule      team, game, opponent, home, games played, rest days
//   ml_features   all 26 features and the feature version
// A missing cache or feature row fails the checks that need it. Accuracy per
// check and overall goes to the host log; the run fails when the overall
// accuracy is below `threshold`. Reads only; writes nothing.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kiln/processor.hpp"
#include "plugins/pipeline_common/features.h"
#include "plugins/pipeline_common/plugin_util.h"
#include "plugins/pipeline_common/rng.h"
#include "plugins/pipeline_common/sqlite_db.h"

namespace {

using namespace kiln::pipeline;

constexpr const char* kVersion = "1.0.0";
constexpr double kAbsTolerance = 1e-6;  // "tight": every stored value is a plain double
constexpr size_t kMaxMismatchLines = 10;

enum Check : size_t { kRollingShort, kRollingLong, kSeason, kUsage, kSchedule, kMlFeatures, kCheckCount };
constexpr const char* kCheckNames[kCheckCount] = {"rolling_short", "rolling_long", "season",
                                                  "usage_rate",    "schedule",     "ml_features"};

struct Sample {
  std::string date;
  int64_t player_id;
};

struct Stored {
  std::optional<CacheRow> cache;
  std::optional<std::string> feature_version;
  Features features{};
};

class SpotCheck final : public kiln::Processor {
 public:
  void configure(const kiln::Options& o, const kiln::Host&) override {
    season_db_ = NonEmpty(o, "season_db");
    cache_db_ = NonEmpty(o, "cache_db");
    features_db_ = NonEmpty(o, "features_db");
    samples_ = IntInRange(o, "samples", 1, 100000, "player-dates");
    seed_ = o.integer("seed");
    lookback_days_ = IntInRange(o, "lookback_days", 1, 366, "days");
    window_short_ = IntInRange(o, "window_short", 1, 82, "games");
    window_long_ = IntInRange(o, "window_long", 1, 82, "games");
    threshold_ = o.number("threshold");
    if (!(threshold_ >= 0.0 && threshold_ <= 1.0)) {
      throw kiln::Error("option 'threshold' must be a fraction between 0 and 1 (0.95 is 95%), found " +
                        Real(threshold_));
    }
    usage_tolerance_ = o.number("usage_tolerance");
    if (!(usage_tolerance_ >= 0.0 && usage_tolerance_ < 1.0)) {
      throw kiln::Error("option 'usage_tolerance' must be a relative tolerance in [0, 1), found " +
                        Real(usage_tolerance_));
    }
  }

  void init(const kiln::Host&) override {
    season_ = Db::Open(season_db_, Db::Mode::kReadOnly, "season database");
    RequireTables(season_, "season database", {"box_scores", "team_box_scores", "players"},
                  "generate one with kiln-seasongen");
    cache_ = Db::Open(cache_db_, Db::Mode::kReadWrite, "cache database");
    RequireTables(cache_, "cache database", {"player_daily_cache", "cache_partitions"}, "run player_daily_cache first");
    features_ = Db::Open(features_db_, Db::Mode::kReadWrite, "feature database");
    RequireTables(features_, "feature database", {"ml_features"}, "run ml_feature_store first");
  }

  void extract(kiln::Run& run) override {
    part_ = PartitionOf(run);
    first_date_ = FormatDate(part_.day - lookback_days_ + 1);
    samples_taken_.clear();
    std::vector<Sample> all;
    Stmt q = season_.Prepare(
        "SELECT game_date, player_id FROM box_scores WHERE game_date BETWEEN ?1 AND ?2 ORDER BY game_date, player_id");
    q.Bind(1, first_date_).Bind(2, part_.date);
    while (q.Step()) all.push_back({q.Text(0), q.Int(1)});
    population_ = all.size();
    // A partial Fisher-Yates shuffle: the first k of a seeded permutation.
    Rng rng(static_cast<uint64_t>(seed_) ^ Fnv1a(part_.date) ^ (Fnv1a(first_date_) << 1));
    const size_t k = std::min(all.size(), static_cast<size_t>(samples_));
    for (size_t i = 0; i < k; ++i) std::swap(all[i], all[i + rng.Below(all.size() - i)]);
    samples_taken_.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    std::sort(samples_taken_.begin(), samples_taken_.end(), [](const Sample& a, const Sample& b) {
      return a.date != b.date ? a.date < b.date : a.player_id < b.player_id;
    });
    run.host().add_records(samples_taken_.size());
  }

  void validate(kiln::Run&) override {}

  void transform(kiln::Run& run) override {
    std::array<size_t, kCheckCount> passed{};
    size_t clean_samples = 0, mismatch_lines = 0;
    uint64_t done = 0;
    std::vector<std::string> mismatches;
    for (const Sample& s : samples_taken_) {
      run.host().check_cancelled();
      const CacheRow truth = Recompute(s);
      const Features truth_features = BuildFeatures(truth, OppAllowed(truth.opponent_id, s.date));
      const Stored stored = Load(s);
      bool all_ok = true;
      for (size_t c = 0; c < kCheckCount; ++c) {
        std::vector<std::string> why;
        Compare(static_cast<Check>(c), truth, truth_features, stored, &why);
        if (why.empty()) {
          ++passed[c];
        } else {
          all_ok = false;
          if (mismatch_lines < kMaxMismatchLines) {
            ++mismatch_lines;
            std::string line = s.date + " player " + std::to_string(s.player_id) + " (" + PlayerName(s.player_id) +
                               "): " + kCheckNames[c] + ":";
            for (size_t i = 0; i < why.size() && i < 4; ++i) line += " " + why[i] + (i + 1 < why.size() ? ";" : "");
            if (why.size() > 4) line += " and " + std::to_string(why.size() - 4) + " more";
            mismatches.push_back(line);
          }
        }
      }
      clean_samples += all_ok ? 1 : 0;
      run.host().progress(++done, samples_taken_.size());
    }

    const kiln::Host& host = run.host();
    const size_t n = samples_taken_.size();
    const size_t total = n * kCheckCount;
    size_t ok = 0;
    for (size_t c : passed) ok += c;
    run.host().add_records(total);
    if (n == 0) {
      host.info("spot check " + Range() + ": no box scores in range, nothing to check");
      return;
    }
    host.info("spot check " + Range() + ": " + std::to_string(n) + " of " + std::to_string(population_) +
              " player-dates sampled (seed " + std::to_string(seed_) + "), " + std::to_string(total) + " checks");
    for (size_t c = 0; c < kCheckCount; ++c) {
      char line[160];
      std::snprintf(line, sizeof line, "  %-14s %zu/%zu (%s)", kCheckNames[c], passed[c], n,
                    Percent(static_cast<double>(passed[c]) / static_cast<double>(n)).c_str());
      host.info(line);
    }
    const double accuracy = static_cast<double>(ok) / static_cast<double>(total);
    host.info("  overall        " + std::to_string(ok) + "/" + std::to_string(total) + " checks (" +
              Percent(accuracy) + "); player-dates passing every check " + std::to_string(clean_samples) + "/" +
              std::to_string(n) + " (" + Percent(static_cast<double>(clean_samples) / static_cast<double>(n)) + ")");
    for (const std::string& m : mismatches) host.warn("mismatch " + m);
    if (total - ok > mismatch_lines) {
      host.warn("(" + std::to_string(total - ok - mismatch_lines) + " more failed checks not shown)");
    }
    if (passed[kRollingShort] < n || passed[kRollingLong] < n) WindowHint(host);
    if (accuracy < threshold_) {
      throw kiln::Error("spot check: " + Percent(accuracy) + " of checks passed (" + std::to_string(ok) + "/" +
                        std::to_string(total) + "), below threshold " + Percent(threshold_));
    }
  }

  void save(kiln::Run&) override {}  // a spot check only reads

  void post_process(kiln::Run&) override { samples_taken_.clear(); }

  void teardown(const kiln::Host&) override {
    features_.Close();
    cache_.Close();
    season_.Close();
  }

 private:
  std::string Range() const { return lookback_days_ == 1 ? part_.date : first_date_ + ".." + part_.date; }

  // The cache row as it should be, straight from the box scores.
  CacheRow Recompute(const Sample& s) {
    CacheRow r;
    r.game_date = s.date;
    r.player_id = s.player_id;
    Stmt slot = season_.Prepare(
        "SELECT b.team_id, b.game_id, t.opponent_id, t.home FROM box_scores b "
        "JOIN team_box_scores t ON t.game_id = b.game_id AND t.team_id = b.team_id "
        "WHERE b.player_id = ?1 AND b.game_date = ?2");
    slot.Bind(1, s.player_id).Bind(2, s.date);
    if (slot.Step()) {
      r.team_id = slot.Int(0);
      r.game_id = slot.Int(1);
      r.opponent_id = slot.Int(2);
      r.home = slot.Int(3);
    }
    auto window = [&](int64_t w, CacheStat first) {
      Stmt q = season_.Prepare(
          "SELECT AVG(points), AVG(rebounds), AVG(assists), AVG(minutes) FROM ("
          "  SELECT points, rebounds, assists, minutes FROM box_scores "
          "  WHERE player_id = ?1 AND game_date < ?2 AND minutes > 0 ORDER BY game_date DESC LIMIT ?3)");
      q.Bind(1, s.player_id).Bind(2, s.date).Bind(3, w);
      q.Step();
      for (int i = 0; i < 4; ++i) r.stat[first + static_cast<size_t>(i)] = q.OptReal(i);
    };
    window(window_short_, kPtsShort);
    window(window_long_, kPtsLong);
    Stmt season = season_.Prepare(
        "SELECT COUNT(*), AVG(b.points), AVG(b.rebounds), AVG(b.assists), AVG(b.minutes), "
        "  CASE WHEN SUM(b.fga) > 0 THEN 1.0 * SUM(b.fgm) / SUM(b.fga) END, "
        "  CASE WHEN SUM(b.fta) > 0 THEN 1.0 * SUM(b.ftm) / SUM(b.fta) END, "
        "  CASE WHEN SUM(b.fga) + 0.44 * SUM(b.fta) > 0 "
        "       THEN SUM(b.points) / (2.0 * (SUM(b.fga) + 0.44 * SUM(b.fta))) END, "
        "  AVG(b.turnovers), "
        "  100.0 * ((SUM(b.fga) + 0.44 * SUM(b.fta) + SUM(b.turnovers)) * (SUM(t.minutes) / 5.0)) "
        "    / NULLIF(SUM(b.minutes) * (SUM(t.fga) + 0.44 * SUM(t.fta) + SUM(t.turnovers)), 0), "
        "  MAX(b.game_date) "
        "FROM box_scores b JOIN team_box_scores t ON t.game_id = b.game_id AND t.team_id = b.team_id "
        "WHERE b.player_id = ?1 AND b.game_date < ?2 AND b.minutes > 0");
    season.Bind(1, s.player_id).Bind(2, s.date);
    season.Step();
    r.games_played = season.Int(0);
    const CacheStat order[] = {kPtsSeason, kRebSeason, kAstSeason, kMinSeason, kFgPct,
                               kFtPct,     kTsPct,     kTovSeason, kUsageRate};
    for (size_t i = 0; i < std::size(order); ++i) r.stat[order[i]] = season.OptReal(static_cast<int>(1 + i));
    if (!season.IsNull(10)) {
      const auto last = ParseDate(season.Text(10));
      const auto day = ParseDate(s.date);
      if (last && day) r.rest_days = *day - *last - 1;
    }
    return r;
  }

  double OppAllowed(int64_t opponent, const std::string& date) {
    Stmt q = season_.Prepare("SELECT AVG(points) FROM team_box_scores WHERE opponent_id = ?1 AND game_date < ?2");
    q.Bind(1, opponent).Bind(2, date);
    q.Step();
    if (!q.IsNull(0)) return q.Real(0);
    Stmt league = season_.Prepare("SELECT AVG(points) FROM team_box_scores WHERE game_date < ?1");
    league.Bind(1, date);
    league.Step();
    return league.OptReal(0).value_or(0.0);
  }

  Stored Load(const Sample& s) {
    Stored out;
    std::string sql = "SELECT team_id, game_id, opponent_id, home, games_played, rest_days";
    for (const char* c : kCacheStatNames) sql += std::string(", ") + c;
    Stmt c = cache_.Prepare(sql + " FROM player_daily_cache WHERE game_date = ?1 AND player_id = ?2");
    c.Bind(1, s.date).Bind(2, s.player_id);
    if (c.Step()) {
      CacheRow r;
      r.game_date = s.date;
      r.player_id = s.player_id;
      r.team_id = c.Int(0);
      r.game_id = c.Int(1);
      r.opponent_id = c.Int(2);
      r.home = c.Int(3);
      r.games_played = c.Int(4);
      r.rest_days = c.OptInt(5);
      for (size_t i = 0; i < kCacheStatCount; ++i) r.stat[i] = c.OptReal(static_cast<int>(6 + i));
      out.cache = std::move(r);
    }
    std::string fsql = "SELECT feature_version";
    for (const char* f : kFeatureNames) fsql += std::string(", ") + f;
    Stmt f = features_.Prepare(fsql + " FROM ml_features WHERE game_date = ?1 AND player_id = ?2");
    f.Bind(1, s.date).Bind(2, s.player_id);
    if (f.Step()) {
      out.feature_version = f.Text(0);
      for (size_t i = 0; i < kFeatureCount; ++i) out.features[i] = f.Real(static_cast<int>(1 + i));
    }
    return out;
  }

  static std::string Real(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }

  static std::string Num(const std::optional<double>& v) {
    if (!v) return "NULL";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", *v);
    return buf;
  }

  // Appends "field stored X expected Y" to `why` for each field out of tolerance.
  void Compare(Check check, const CacheRow& truth, const Features& truth_f, const Stored& stored,
               std::vector<std::string>* why) const {
    auto close = [&](const std::optional<double>& got, const std::optional<double>& want, bool relative) {
      if (!got || !want) return got.has_value() == want.has_value();
      if (relative) return std::fabs(*got - *want) <= usage_tolerance_ * std::fabs(*want) + 1e-9;
      return std::fabs(*got - *want) <= kAbsTolerance + 1e-9 * std::fabs(*want);
    };
    auto stat = [&](CacheStat s, bool relative = false) {
      const std::optional<double>& got = stored.cache->stat[s];
      if (!close(got, truth.stat[s], relative)) {
        why->push_back(std::string(kCacheStatNames[s]) + " stored " + Num(got) + " expected " + Num(truth.stat[s]));
      }
    };
    if (check == kMlFeatures) {
      if (!stored.feature_version) {
        why->push_back("no row in ml_features");
        return;
      }
      if (*stored.feature_version != kFeatureVersion) {
        why->push_back("feature_version stored " + *stored.feature_version + " expected " + kFeatureVersion);
      }
      for (size_t i = 0; i < kFeatureCount; ++i) {
        const bool relative = std::string_view(kFeatureNames[i]) == "usage_rate";
        if (!close(stored.features[i], truth_f[i], relative)) {
          why->push_back(std::string(kFeatureNames[i]) + " stored " + Num(stored.features[i]) + " expected " +
                         Num(truth_f[i]));
        }
      }
      return;
    }
    if (!stored.cache) {
      why->push_back("no row in player_daily_cache");
      return;
    }
    switch (check) {
      case kRollingShort:
        for (CacheStat s : {kPtsShort, kRebShort, kAstShort, kMinShort}) stat(s);
        break;
      case kRollingLong:
        for (CacheStat s : {kPtsLong, kRebLong, kAstLong, kMinLong}) stat(s);
        break;
      case kSeason:
        for (CacheStat s : {kPtsSeason, kRebSeason, kAstSeason, kMinSeason, kFgPct, kFtPct, kTsPct, kTovSeason}) {
          stat(s);
        }
        break;
      case kUsage:
        stat(kUsageRate, true);
        break;
      case kSchedule: {
        const CacheRow& c = *stored.cache;
        auto exact = [&](const char* name, std::optional<int64_t> got, std::optional<int64_t> want) {
          if (got != want) {
            why->push_back(std::string(name) + " stored " + (got ? std::to_string(*got) : "NULL") + " expected " +
                           (want ? std::to_string(*want) : "NULL"));
          }
        };
        exact("team_id", c.team_id, truth.team_id);
        exact("game_id", c.game_id, truth.game_id);
        exact("opponent_id", c.opponent_id, truth.opponent_id);
        exact("home", c.home, truth.home);
        exact("games_played", c.games_played, truth.games_played);
        exact("rest_days", c.rest_days, truth.rest_days);
        break;
      }
      default:
        break;
    }
  }

  std::string PlayerName(int64_t id) {
    Stmt q = season_.Prepare("SELECT name FROM players WHERE player_id = ?1");
    q.Bind(1, id);
    return q.Step() ? q.Text(0) : std::string("?");
  }

  // Says which windows the cache was built with, when the windowed checks failed.
  void WindowHint(const kiln::Host& host) {
    Stmt q = cache_.Prepare(
        "SELECT window_short, window_long, COUNT(*) FROM cache_partitions WHERE game_date BETWEEN ?1 AND ?2 "
        "GROUP BY 1, 2 ORDER BY 3 DESC");
    q.Bind(1, first_date_).Bind(2, part_.date);
    while (q.Step()) {
      if (q.Int(0) == window_short_ && q.Int(1) == window_long_) continue;
      host.warn("player_daily_cache built " + std::to_string(q.Int(2)) + " day(s) of " + Range() +
                " with window_short " + std::to_string(q.Int(0)) + " and window_long " + std::to_string(q.Int(1)) +
                "; the reference is " + std::to_string(window_short_) + " and " + std::to_string(window_long_));
    }
  }

  std::string season_db_, cache_db_, features_db_;
  int64_t samples_ = 20, seed_ = 1, lookback_days_ = 1, window_short_ = 5, window_long_ = 10;
  double threshold_ = 0.95, usage_tolerance_ = 0.025;
  Db season_, cache_, features_;
  Partition part_;
  std::string first_date_;
  size_t population_ = 0;
  std::vector<Sample> samples_taken_;
};

const kiln_option_spec_t kOptions[] = {
    {"season_db", KILN_OPTION_STRING, 1, nullptr, "season database: the raw box scores"},
    {"cache_db", KILN_OPTION_STRING, 1, nullptr, "player_daily_cache's database to check"},
    {"features_db", KILN_OPTION_STRING, 1, nullptr, "ml_feature_store's database to check"},
    {"samples", KILN_OPTION_INT, 0, "20", "player-dates sampled per run (6 checks each)"},
    {"seed", KILN_OPTION_INT, 0, "1", "sampling seed (combined with the partition date)"},
    {"lookback_days", KILN_OPTION_INT, 0, "1", "sample among the days D-lookback_days+1 .. D"},
    {"threshold", KILN_OPTION_FLOAT, 0, "0.95", "the run fails when fewer checks pass (a fraction)"},
    {"usage_tolerance", KILN_OPTION_FLOAT, 0, "0.025", "relative tolerance for usage rate"},
    {"window_short", KILN_OPTION_INT, 0, "5", "reference short window the cache must use"},
    {"window_long", KILN_OPTION_INT, 0, "10", "reference long window the cache must use"},
};

}  // namespace

KILN_PLUGIN(SpotCheck, "spot_check", kVersion, KILN_CAP_PARTITIONED_BY_DATE, kOptions)

// The player daily cache's row and the ML feature store's feature
// definitions (docs/pipeline.md defines every field). Shared by the feature
// store, which builds features from stored cache rows, and the spot check,
// which builds them from cache values it recomputed from raw box scores.
#ifndef KILN_PLUGINS_PIPELINE_COMMON_FEATURES_H_
#define KILN_PLUGINS_PIPELINE_COMMON_FEATURES_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace kiln::pipeline {

// The cache's nullable statistics, in column order. NULL when the player has
// not played a game before the date (and the percentages also when their
// denominator is zero).
enum CacheStat : size_t {
  kPtsShort, kRebShort, kAstShort, kMinShort,
  kPtsLong, kRebLong, kAstLong, kMinLong,
  kPtsSeason, kRebSeason, kAstSeason, kMinSeason,
  kFgPct, kFtPct, kTsPct, kTovSeason, kUsageRate,
  kCacheStatCount
};
inline constexpr const char* kCacheStatNames[kCacheStatCount] = {
    "pts_avg_short", "reb_avg_short", "ast_avg_short", "min_avg_short",
    "pts_avg_long",  "reb_avg_long",  "ast_avg_long",  "min_avg_long",
    "pts_season",    "reb_season",    "ast_season",    "min_season",
    "fg_pct",        "ft_pct",        "ts_pct",        "tov_season",  "usage_rate"};

struct CacheRow {
  std::string game_date;
  int64_t player_id = 0, team_id = 0, game_id = 0, opponent_id = 0, home = 0;
  int64_t games_played = 0;
  std::optional<int64_t> rest_days;  // days between the last game played and D, minus one
  std::array<std::optional<double>, kCacheStatCount> stat;
};

// Feature version: bump it whenever a definition below changes.
inline constexpr const char* kFeatureVersion = "fs-1";
inline constexpr size_t kFeatureCount = 26;
inline constexpr const char* kFeatureNames[kFeatureCount] = {
    "pts_avg_short", "pts_avg_long", "reb_avg_short", "reb_avg_long", "ast_avg_short", "ast_avg_long",
    "min_avg_short", "min_avg_long", "pts_season",    "reb_season",   "ast_season",    "min_season",
    "usage_rate",    "fg_pct",       "ft_pct",        "ts_pct",       "tov_season",    "pts_trend",
    "min_trend",     "pts_per36",    "games_played",  "rest_days",    "back_to_back",  "home",
    "opp_pts_allowed", "has_history"};
inline constexpr int64_t kRestDaysCap = 7;

using Features = std::array<double, kFeatureCount>;

// `opp_pts_allowed`: points per game the opponent allowed in its games before
// D; the league's points per team-game before D when the opponent has none;
// 0 when nobody has played yet.
inline Features BuildFeatures(const CacheRow& c, double opp_pts_allowed) {
  auto v = [&](CacheStat s) { return c.stat[s].value_or(0.0); };
  Features f{};
  f[0] = v(kPtsShort);
  f[1] = v(kPtsLong);
  f[2] = v(kRebShort);
  f[3] = v(kRebLong);
  f[4] = v(kAstShort);
  f[5] = v(kAstLong);
  f[6] = v(kMinShort);
  f[7] = v(kMinLong);
  f[8] = v(kPtsSeason);
  f[9] = v(kRebSeason);
  f[10] = v(kAstSeason);
  f[11] = v(kMinSeason);
  f[12] = v(kUsageRate);
  f[13] = v(kFgPct);
  f[14] = v(kFtPct);
  f[15] = v(kTsPct);
  f[16] = v(kTovSeason);
  f[17] = v(kPtsShort) - v(kPtsSeason);
  f[18] = v(kMinShort) - v(kMinSeason);
  f[19] = v(kMinSeason) > 0 ? 36.0 * v(kPtsSeason) / v(kMinSeason) : 0.0;
  f[20] = static_cast<double>(c.games_played);
  f[21] = static_cast<double>(c.rest_days ? std::min(*c.rest_days, kRestDaysCap) : kRestDaysCap);
  f[22] = c.rest_days && *c.rest_days == 0 ? 1.0 : 0.0;
  f[23] = c.home != 0 ? 1.0 : 0.0;
  f[24] = opp_pts_allowed;
  f[25] = c.games_played > 0 ? 1.0 : 0.0;
  return f;
}

}  // namespace kiln::pipeline

#endif  // KILN_PLUGINS_PIPELINE_COMMON_FEATURES_H_

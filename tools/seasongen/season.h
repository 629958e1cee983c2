// A deterministic synthetic basketball season, written into SQLite: teams,
// players, roster stints (trades), games, injuries, player and team box
// scores. The same options give a byte-identical database file.
#ifndef KILN_TOOLS_SEASONGEN_SEASON_H_
#define KILN_TOOLS_SEASONGEN_SEASON_H_

#include <cstdint>
#include <string>

namespace kiln::seasongen {

struct SeasonOptions {
  uint64_t seed = 1;
  int players = 450;
  int teams = 30;
  std::string start = "2024-10-22";  // first possible game day
  std::string end = "2025-04-13";    // last possible game day
};

struct SeasonSummary {
  int days = 0;
  int games = 0;
  int box_scores = 0;
  int played = 0;       // box-score rows with minutes > 0
  int did_not_play = 0;
  int injuries = 0;
  int trades = 0;
};

// "" when the options are usable, else a one-line reason.
std::string CheckOptions(const SeasonOptions& options);

// Writes the season to `path` (through `path`.tmp and a rename, replacing
// any existing file). Throws std::runtime_error on failure.
SeasonSummary Generate(const SeasonOptions& options, const std::string& path);

}  // namespace kiln::seasongen

#endif  // KILN_TOOLS_SEASONGEN_SEASON_H_

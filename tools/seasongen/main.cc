// kiln-seasongen --db PATH [--seed N] [--players N] [--teams N] [--start D] [--end D]
//
// Writes a deterministic synthetic basketball season into a SQLite database
// (schema: docs/pipeline.md). The same options give a byte-identical file.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "tools/seasongen/season.h"

int main(int argc, char** argv) {
  kiln::seasongen::SeasonOptions o;
  std::string db;
  CLI::App app{"Generate a deterministic synthetic basketball season into SQLite"};
  app.add_option("--db", db, "Database file to write (replaced if it exists)")->required();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  app.add_option("--players", o.players, "Players in the league")->capture_default_str();
  app.add_option("--teams", o.teams, "Teams in the league")->capture_default_str();
  app.add_option("--start", o.start, "First game day YYYY-MM-DD")->capture_default_str();
  app.add_option("--end", o.end, "Last game day YYYY-MM-DD")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::string problem = kiln::seasongen::CheckOptions(o);
  if (!problem.empty()) {
    std::fprintf(stderr, "kiln-seasongen: %s\n", problem.c_str());
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const kiln::seasongen::SeasonSummary s = kiln::seasongen::Generate(o, db);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %d teams, %d players, %d games over %d days (%s..%s), %d box scores (%d did not play), "
                "%d injuries, %d trades, seed %llu, in %.0f ms\n",
                db.c_str(), o.teams, o.players, s.games, s.days, o.start.c_str(), o.end.c_str(), s.box_scores,
                s.did_not_play, s.injuries, s.trades, static_cast<unsigned long long>(o.seed), ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln-seasongen: %s\n", e.what());
    return 1;
  }
  return 0;
}

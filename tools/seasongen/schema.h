// The season database's schema (docs/pipeline.md describes every column).
// Shared by kiln-seasongen and the pipeline tests' hand-written fixtures.
#ifndef KILN_TOOLS_SEASONGEN_SCHEMA_H_
#define KILN_TOOLS_SEASONGEN_SCHEMA_H_

namespace kiln::seasongen {

inline constexpr const char* kSchemaSql = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE teams (
  team_id INTEGER PRIMARY KEY,
  abbr TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL);
CREATE TABLE players (
  player_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  position TEXT NOT NULL CHECK (position IN ('G', 'F', 'C')));
CREATE TABLE roster_stints (
  player_id INTEGER NOT NULL REFERENCES players,
  team_id INTEGER NOT NULL REFERENCES teams,
  start_date TEXT NOT NULL,
  end_date TEXT,
  how TEXT NOT NULL CHECK (how IN ('opening_roster', 'trade')),
  PRIMARY KEY (player_id, start_date));
CREATE TABLE games (
  game_id INTEGER PRIMARY KEY,
  game_date TEXT NOT NULL,
  home_team_id INTEGER NOT NULL REFERENCES teams,
  away_team_id INTEGER NOT NULL REFERENCES teams,
  home_points INTEGER NOT NULL,
  away_points INTEGER NOT NULL,
  overtimes INTEGER NOT NULL);
CREATE TABLE injuries (
  player_id INTEGER NOT NULL REFERENCES players,
  team_id INTEGER NOT NULL REFERENCES teams,
  injury_date TEXT NOT NULL,
  return_date TEXT NOT NULL,
  description TEXT NOT NULL,
  PRIMARY KEY (player_id, injury_date));
CREATE TABLE box_scores (
  game_id INTEGER NOT NULL REFERENCES games,
  game_date TEXT NOT NULL,
  player_id INTEGER NOT NULL REFERENCES players,
  team_id INTEGER NOT NULL REFERENCES teams,
  minutes INTEGER NOT NULL,
  points INTEGER NOT NULL,
  rebounds INTEGER NOT NULL,
  assists INTEGER NOT NULL,
  fgm INTEGER NOT NULL,
  fga INTEGER NOT NULL,
  fg3m INTEGER NOT NULL,
  fg3a INTEGER NOT NULL,
  ftm INTEGER NOT NULL,
  fta INTEGER NOT NULL,
  turnovers INTEGER NOT NULL,
  dnp_reason TEXT,
  PRIMARY KEY (game_id, player_id));
CREATE TABLE team_box_scores (
  game_id INTEGER NOT NULL REFERENCES games,
  game_date TEXT NOT NULL,
  team_id INTEGER NOT NULL REFERENCES teams,
  opponent_id INTEGER NOT NULL REFERENCES teams,
  home INTEGER NOT NULL,
  minutes INTEGER NOT NULL,
  points INTEGER NOT NULL,
  rebounds INTEGER NOT NULL,
  assists INTEGER NOT NULL,
  fgm INTEGER NOT NULL,
  fga INTEGER NOT NULL,
  fg3m INTEGER NOT NULL,
  fg3a INTEGER NOT NULL,
  ftm INTEGER NOT NULL,
  fta INTEGER NOT NULL,
  turnovers INTEGER NOT NULL,
  PRIMARY KEY (game_id, team_id));
)sql";

// Created after the rows are in (faster, and the file stays deterministic).
inline constexpr const char* kIndexSql = R"sql(
CREATE INDEX box_scores_date ON box_scores (game_date, player_id);
CREATE INDEX box_scores_player ON box_scores (player_id, game_date);
CREATE INDEX team_box_scores_date ON team_box_scores (game_date);
CREATE INDEX team_box_scores_team ON team_box_scores (team_id, game_date);
CREATE INDEX team_box_scores_opponent ON team_box_scores (opponent_id, game_date);
)sql";

}  // namespace kiln::seasongen

#endif  // KILN_TOOLS_SEASONGEN_SCHEMA_H_

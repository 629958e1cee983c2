#include "tools/seasongen/season.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugins/pipeline_common/civil_date.h"
#include "plugins/pipeline_common/rng.h"
#include "plugins/pipeline_common/sqlite_db.h"
#include "tools/seasongen/schema.h"

namespace kiln::seasongen {
namespace {

using pipeline::Db;
using pipeline::FormatDate;
using pipeline::ParseDate;
using pipeline::Rng;
using pipeline::Stmt;

// Games per team over the regular season's 168 playable days.
constexpr double kGameRate = 82.0 / 168.0;
constexpr int kMinHealthy = 8;  // an injury never leaves a team with fewer

const char* const kCities[30][3] = {
    {"ANC", "Anchorage", "Huskies"},     {"BAL", "Baltimore", "Harbormen"}, {"BOI", "Boise", "Spuds"},
    {"CHS", "Charleston", "Tides"},      {"CIN", "Cincinnati", "Pilots"},   {"COL", "Columbus", "Navigators"},
    {"DSM", "Des Moines", "Cyclones"},   {"ELP", "El Paso", "Scorpions"},   {"FRE", "Fresno", "Raisins"},
    {"HAR", "Hartford", "Whalers"},      {"HON", "Honolulu", "Waves"},      {"KCY", "Kansas City", "Monarchs"},
    {"LOU", "Louisville", "Sluggers"},   {"LVG", "Las Vegas", "Aces"},      {"MAD", "Madison", "Badgers"},
    {"NAS", "Nashville", "Strings"},     {"NOR", "Norfolk", "Admirals"},    {"OMA", "Omaha", "Stampede"},
    {"PIT", "Pittsburgh", "Ironmen"},    {"PRO", "Providence", "Friars"},   {"RAL", "Raleigh", "Oaks"},
    {"RNO", "Reno", "Dealers"},          {"RIC", "Richmond", "Rebels"},     {"SAC", "Sacramento", "Rivermen"},
    {"SLC", "Salt Lake", "Gulls"},       {"SDG", "San Diego", "Surf"},      {"SPK", "Spokane", "Pines"},
    {"STL", "St. Louis", "Archers"},     {"TUC", "Tucson", "Saguaros"},     {"TUL", "Tulsa", "Roughnecks"},
};

const char* const kFirst[] = {
    "Aaron", "Andre", "Ben", "Caleb", "Darius", "Derek", "Devin", "Elijah", "Evan", "Felix", "Gabe", "Grant",
    "Isaac", "Jalen", "Jamal", "Jaylen", "Jordan", "Julian", "Kevin", "Kobe", "Lamar", "Luka", "Malik", "Marcus",
    "Mason", "Miles", "Nate", "Nico", "Omar", "Owen", "Quentin", "Reggie", "Rui", "Sam", "Terrence", "Theo",
    "Tyrese", "Victor", "Wes", "Zion"};
const char* const kLast[] = {
    "Adams", "Allen", "Bailey", "Barnes", "Bell", "Brooks", "Bryant", "Carter", "Coleman", "Collins", "Cooper",
    "Davis", "Dixon", "Edwards", "Ellis", "Fisher", "Foster", "Gibson", "Grant", "Green", "Griffin", "Hayes",
    "Hill", "Holmes", "Hughes", "Jackson", "James", "Jenkins", "Johnson", "Jones", "Kelly", "King", "Lewis",
    "Lowry", "Martin", "Mitchell", "Moore", "Morris", "Murray", "Nelson", "Okafor", "Parker", "Perry", "Porter",
    "Price", "Reed", "Robinson", "Ross", "Sanders", "Scott", "Simmons", "Stewart", "Thomas", "Turner", "Walker",
    "Wallace", "Warren", "Watson", "Williams", "Young"};
const char* const kInjuries[] = {"ankle sprain", "knee soreness", "hamstring strain", "back spasms",
                                 "illness",      "calf strain",   "wrist sprain",     "concussion protocol"};

struct Player {
  int id = 0;
  int team = 0;
  std::string name;
  char position = 'G';
  int tier = 0;  // 0 starter, 1 rotation, 2 end of bench
  double base_minutes = 0, shot_rate = 0, three_rate = 0, p2 = 0, p3 = 0, ft_rate = 0, ft_pct = 0;
  double reb_rate = 0, ast_rate = 0, tov_rate = 0, injury_rate = 0;
  int64_t out_until = 0;  // first day available again after an injury
  std::string injury;
};

struct Line {
  int player = 0;
  int minutes = 0, points = 0, rebounds = 0, assists = 0, fgm = 0, fga = 0, fg3m = 0, fg3a = 0, ftm = 0, fta = 0,
      turnovers = 0;
  std::optional<std::string> dnp;
};

struct TeamGame {
  int team = 0;
  std::vector<Line> lines;
  Line total;  // sums; minutes = 240 + 25 per overtime
};

struct Game {
  int id = 0;
  int64_t day = 0;
  int overtimes = 0;
  TeamGame home, away;
};

struct Stint {
  int player, team;
  int64_t start;
  std::optional<int64_t> end;
  const char* how;
};

struct Injury {
  int player, team;
  int64_t day, back;
  std::string description;
};

bool AllStarBreak(int64_t day) {
  const std::string d = FormatDate(day);
  return d.compare(5, 2, "02") == 0 && d.substr(8, 2) >= "14" && d.substr(8, 2) <= "19";
}

class Season {
 public:
  Season(const SeasonOptions& o) : o_(o), rng_(o.seed) {}

  void Build() {
    start_ = *ParseDate(o_.start);
    end_ = *ParseDate(o_.end);
    MakePlayers();
    const int64_t len = end_ - start_;
    const int64_t trade_from = start_ + len * 3 / 10, trade_to = start_ + len * 6 / 10;
    std::vector<int> played(static_cast<size_t>(o_.teams) + 1, 0);
    std::vector<int64_t> last1(played.size(), INT64_MIN / 2), last2(played.size(), INT64_MIN / 2);
    int playable_days = 0;
    for (int64_t day = start_; day <= end_; ++day) {
      ++summary_.days;
      if (day >= trade_from && day <= trade_to) MaybeTrade(day, day == trade_to);
      if (AllStarBreak(day)) continue;
      ++playable_days;
      const double expected = kGameRate * playable_days;
      std::vector<int> order;
      for (int t = 1; t <= o_.teams; ++t) order.push_back(t);
      Shuffle(order);
      std::vector<int> want;
      for (int t : order) {
        if (last1[t] == day - 1 && last2[t] == day - 2) continue;  // never three nights in a row
        const double p = std::clamp(kGameRate + 0.3 * (expected - played[t]), 0.02, 0.98);
        if (rng_.Chance(p)) want.push_back(t);
      }
      if (want.size() % 2 == 1) want.pop_back();
      for (size_t i = 0; i + 1 < want.size(); i += 2) {
        const bool first_home = rng_.Chance(0.5);
        const int home = first_home ? want[i] : want[i + 1];
        const int away = first_home ? want[i + 1] : want[i];
        PlayGame(day, home, away, last1);
        for (int t : {home, away}) {
          ++played[t];
          last2[t] = last1[t];
          last1[t] = day;
        }
      }
    }
  }

  void Write(const std::string& path) {
    const std::string tmp = path + ".tmp";
    std::filesystem::remove(tmp);
    {
      Db db = Db::Open(tmp, Db::Mode::kCreate, "season database");
      db.Exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;");
      db.Exec("BEGIN");
      db.Exec(kSchemaSql);
      Stmt meta = db.Prepare("INSERT INTO meta VALUES (?1, ?2)");
      const std::pair<const char*, std::string> metas[] = {
          {"generator", "kiln-seasongen 1"}, {"seed", std::to_string(o_.seed)},
          {"players", std::to_string(o_.players)}, {"teams", std::to_string(o_.teams)},
          {"start", o_.start}, {"end", o_.end}};
      for (const auto& [k, v] : metas) {
        meta.Bind(1, k).Bind(2, v).Run();
        meta.Reset();
      }
      Stmt team = db.Prepare("INSERT INTO teams VALUES (?1, ?2, ?3)");
      for (int t = 1; t <= o_.teams; ++t) {
        std::string abbr, name;
        if (t <= 30) {
          abbr = kCities[t - 1][0];
          name = std::string(kCities[t - 1][1]) + " " + kCities[t - 1][2];
        } else {
          abbr = "T" + std::to_string(t);
          name = "Team " + std::to_string(t);
        }
        team.Bind(1, t).Bind(2, abbr).Bind(3, name).Run();
        team.Reset();
      }
      Stmt player = db.Prepare("INSERT INTO players VALUES (?1, ?2, ?3)");
      for (const Player& p : players_) {
        player.Bind(1, p.id).Bind(2, p.name).Bind(3, std::string(1, p.position)).Run();
        player.Reset();
      }
      Stmt stint = db.Prepare("INSERT INTO roster_stints VALUES (?1, ?2, ?3, ?4, ?5)");
      std::vector<Stint> stints = stints_;
      std::stable_sort(stints.begin(), stints.end(), [](const Stint& a, const Stint& b) {
        return a.player != b.player ? a.player < b.player : a.start < b.start;
      });
      for (const Stint& s : stints) {
        stint.Bind(1, s.player).Bind(2, s.team).Bind(3, FormatDate(s.start));
        if (s.end) stint.Bind(4, FormatDate(*s.end));
        stint.Bind(5, s.how).Run();
        stint.Reset();
      }
      Stmt game = db.Prepare("INSERT INTO games VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
      Stmt box = db.Prepare(
          "INSERT INTO box_scores VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
      Stmt tbox = db.Prepare(
          "INSERT INTO team_box_scores VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
      for (const Game& g : games_) {
        const std::string date = FormatDate(g.day);
        game.Bind(1, g.id).Bind(2, date).Bind(3, g.home.team).Bind(4, g.away.team).Bind(5, g.home.total.points)
            .Bind(6, g.away.total.points).Bind(7, g.overtimes).Run();
        game.Reset();
        std::vector<std::pair<const Line*, int>> rows;
        for (const TeamGame* tg : {&g.home, &g.away}) {
          for (const Line& l : tg->lines) rows.push_back({&l, tg->team});
        }
        std::sort(rows.begin(), rows.end(),
                  [](const auto& a, const auto& b) { return a.first->player < b.first->player; });
        for (const auto& [l, t] : rows) {
          box.Bind(1, g.id).Bind(2, date).Bind(3, l->player).Bind(4, t);
          BindStats(box, 5, *l);
          box.Bind(16, l->dnp).Run();
          box.Reset();
        }
        for (const TeamGame* tg : {&g.home, &g.away}) {
          const TeamGame* other = tg == &g.home ? &g.away : &g.home;
          tbox.Bind(1, g.id).Bind(2, date).Bind(3, tg->team).Bind(4, other->team).Bind(5, tg == &g.home ? 1 : 0);
          BindStats(tbox, 6, tg->total);
          tbox.Run();
          tbox.Reset();
        }
      }
      Stmt inj = db.Prepare("INSERT INTO injuries VALUES (?1, ?2, ?3, ?4, ?5)");
      for (const Injury& i : injuries_) {
        inj.Bind(1, i.player).Bind(2, i.team).Bind(3, FormatDate(i.day)).Bind(4, FormatDate(i.back))
            .Bind(5, i.description).Run();
        inj.Reset();
      }
      db.Exec(kIndexSql);
      db.Exec("COMMIT");
      db.Exec("ANALYZE");
    }
    std::filesystem::rename(tmp, path);
  }

  const SeasonSummary& summary() const { return summary_; }

 private:
  static void BindStats(Stmt& s, int first, const Line& l) {
    const int v[] = {l.minutes, l.points, l.rebounds, l.assists, l.fgm, l.fga,
                     l.fg3m,    l.fg3a,   l.ftm,      l.fta,     l.turnovers};
    for (int i = 0; i < 11; ++i) s.Bind(first + i, v[i]);
  }

  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng_.Below(i)]);
  }

  void MakePlayers() {
    std::set<std::string> used;
    for (int i = 0; i < o_.players; ++i) {
      Player p;
      p.id = i + 1;
      p.team = i % o_.teams + 1;
      const int rank = i / o_.teams;
      p.tier = rank < 5 ? 0 : rank < 10 ? 1 : 2;
      for (int attempt = 0;; ++attempt) {
        p.name = std::string(kFirst[rng_.Below(std::size(kFirst))]) + " " + kLast[rng_.Below(std::size(kLast))];
        if (attempt >= 20) p.name += " " + std::to_string(p.id);
        if (used.insert(p.name).second) break;
      }
      const double u = rng_.Uniform();
      p.position = u < 0.4 ? 'G' : u < 0.8 ? 'F' : 'C';
      const double star = rng_.Uniform();
      if (p.tier == 0) {
        p.base_minutes = rng_.Between(28, 36);
        p.shot_rate = 0.28 + 0.24 * star * star;
      } else if (p.tier == 1) {
        p.base_minutes = rng_.Between(15, 25);
        p.shot_rate = 0.24 + 0.14 * star;
      } else {
        p.base_minutes = rng_.Between(4, 12);
        p.shot_rate = 0.22 + 0.12 * star;
      }
      switch (p.position) {
        case 'G':
          p.three_rate = rng_.Between(0.35, 0.55);
          p.ft_pct = rng_.Between(0.74, 0.91);
          p.reb_rate = rng_.Between(0.09, 0.15);
          p.ast_rate = rng_.Between(0.12, 0.27);
          p.tov_rate = rng_.Between(0.05, 0.09);
          break;
        case 'F':
          p.three_rate = rng_.Between(0.25, 0.45);
          p.ft_pct = rng_.Between(0.68, 0.86);
          p.reb_rate = rng_.Between(0.15, 0.24);
          p.ast_rate = rng_.Between(0.06, 0.13);
          p.tov_rate = rng_.Between(0.04, 0.07);
          break;
        default:
          p.three_rate = rng_.Between(0.0, 0.2);
          p.ft_pct = rng_.Between(0.55, 0.79);
          p.reb_rate = rng_.Between(0.24, 0.36);
          p.ast_rate = rng_.Between(0.04, 0.09);
          p.tov_rate = rng_.Between(0.04, 0.07);
      }
      p.p2 = rng_.Between(0.46, 0.58) + (p.position == 'C' ? 0.04 : 0.0);
      p.p3 = rng_.Between(0.30, 0.40);
      p.ft_rate = rng_.Between(0.05, 0.17);
      p.injury_rate = rng_.Between(0.002, 0.012);
      players_.push_back(std::move(p));
    }
    for (const Player& p : players_) {
      stints_.push_back({p.id, p.team, *ParseDate(o_.start), std::nullopt, "opening_roster"});
    }
  }

  std::vector<Player*> Roster(int team) {
    std::vector<Player*> r;
    for (Player& p : players_) {
      if (p.team == team) r.push_back(&p);
    }
    return r;
  }

  void MaybeTrade(int64_t day, bool last_chance) {
    const double p = std::min(0.9, 0.02 * o_.teams);
    if (!rng_.Chance(p) && !(last_chance && summary_.trades == 0)) return;
    const int a = static_cast<int>(rng_.Below(static_cast<uint64_t>(o_.teams))) + 1;
    int b = static_cast<int>(rng_.Below(static_cast<uint64_t>(o_.teams - 1))) + 1;
    if (b >= a) ++b;
    auto pick = [&](int team) -> Player* {
      std::vector<Player*> c;
      for (Player* pl : Roster(team)) {
        if (pl->tier >= 1 && pl->out_until <= day) c.push_back(pl);
      }
      return c.empty() ? nullptr : c[rng_.Below(c.size())];
    };
    Player* pa = pick(a);
    Player* pb = pick(b);
    if (pa == nullptr || pb == nullptr) return;
    for (Player* pl : {pa, pb}) {
      for (Stint& s : stints_) {
        if (s.player == pl->id && !s.end) s.end = day;
      }
    }
    std::swap(pa->team, pb->team);
    stints_.push_back({pa->id, pa->team, day, std::nullopt, "trade"});
    stints_.push_back({pb->id, pb->team, day, std::nullopt, "trade"});
    ++summary_.trades;
  }

  TeamGame TeamLines(int64_t day, int team, int overtimes, bool back_to_back) {
    TeamGame tg;
    tg.team = team;
    std::vector<Player*> roster = Roster(team);
    std::vector<size_t> candidates, benched;
    for (size_t i = 0; i < roster.size(); ++i) {
      Player& p = *roster[i];
      Line l;
      l.player = p.id;
      if (p.out_until > day) {
        l.dnp = "injured: " + p.injury;
      } else if ((p.tier == 2 && rng_.Chance(0.30)) || (p.tier == 1 && rng_.Chance(0.04))) {
        l.dnp = "coach's decision";
        benched.push_back(i);
      } else if (p.tier == 0 && back_to_back && rng_.Chance(0.10)) {
        l.dnp = "rest";
        benched.push_back(i);
      } else {
        candidates.push_back(i);
      }
      tg.lines.push_back(l);
    }
    // At least eight players dress when the healthy roster allows it.
    for (size_t k = 0; candidates.size() < kMinHealthy && k < benched.size(); ++k) {
      tg.lines[benched[k]].dnp.reset();
      candidates.push_back(benched[k]);
    }
    std::sort(candidates.begin(), candidates.end());
    // Minutes: noisy targets scaled to the team's total, capped, rounded by
    // largest remainder so that they add up exactly.
    const int total = 240 + 25 * overtimes;
    const double cap = 48 + 5 * overtimes;
    std::vector<double> want(candidates.size());
    for (size_t k = 0; k < candidates.size(); ++k) {
      want[k] = std::max(1.0, roster[candidates[k]]->base_minutes * (1 + 0.12 * rng_.Normalish()));
    }
    std::vector<bool> capped(want.size(), false);
    for (int pass = 0; pass < 8; ++pass) {
      double fixed = 0, free = 0;
      for (size_t k = 0; k < want.size(); ++k) (capped[k] ? fixed : free) += want[k];
      const double scale = free > 0 ? (total - fixed) / free : 1;
      bool again = false;
      for (size_t k = 0; k < want.size(); ++k) {
        if (capped[k]) continue;
        want[k] *= scale;
        if (want[k] > cap) {
          want[k] = cap;
          capped[k] = true;
          again = true;
        }
      }
      if (!again) break;
    }
    std::vector<int> minutes(want.size());
    int assigned = 0;
    for (size_t k = 0; k < want.size(); ++k) {
      minutes[k] = static_cast<int>(std::floor(want[k]));
      assigned += minutes[k];
    }
    std::vector<size_t> by_fraction(want.size());
    for (size_t k = 0; k < want.size(); ++k) by_fraction[k] = k;
    std::stable_sort(by_fraction.begin(), by_fraction.end(), [&](size_t x, size_t y) {
      return want[x] - std::floor(want[x]) > want[y] - std::floor(want[y]);
    });
    for (size_t k = 0; assigned < total && !by_fraction.empty(); k = (k + 1) % by_fraction.size()) {
      ++minutes[by_fraction[k]];
      ++assigned;
    }
    for (size_t k = 0; k < candidates.size(); ++k) {
      Player& p = *roster[candidates[k]];
      Line& l = tg.lines[candidates[k]];
      const int m = minutes[k];
      l.minutes = m;
      if (m == 0) {
        l.dnp = "coach's decision";
        continue;
      }
      const double form = std::clamp(1 + 0.18 * rng_.Normalish(), 0.4, 1.8);
      l.fga = rng_.Poisson(p.shot_rate * m * form);
      l.fg3a = rng_.Binomial(l.fga, p.three_rate);
      l.fg3m = rng_.Binomial(l.fg3a, p.p3);
      const int fg2m = rng_.Binomial(l.fga - l.fg3a, p.p2);
      l.fgm = fg2m + l.fg3m;
      l.fta = rng_.Poisson(p.ft_rate * m * form);
      l.ftm = rng_.Binomial(l.fta, p.ft_pct);
      l.rebounds = rng_.Poisson(p.reb_rate * m);
      l.assists = rng_.Poisson(p.ast_rate * m);
      l.turnovers = rng_.Poisson(p.tov_rate * m);
      l.points = 2 * fg2m + 3 * l.fg3m + l.ftm;
    }
    return tg;
  }

  static void Total(TeamGame& tg) {
    Line t;
    for (const Line& l : tg.lines) {
      t.minutes += l.minutes;
      t.points += l.points;
      t.rebounds += l.rebounds;
      t.assists += l.assists;
      t.fgm += l.fgm;
      t.fga += l.fga;
      t.fg3m += l.fg3m;
      t.fg3a += l.fg3a;
      t.ftm += l.ftm;
      t.fta += l.fta;
      t.turnovers += l.turnovers;
    }
    tg.total = t;
  }

  void PlayGame(int64_t day, int home, int away, const std::vector<int64_t>& last_played) {
    Game g;
    g.id = static_cast<int>(games_.size()) + 1;
    g.day = day;
    g.overtimes = rng_.Chance(0.06) ? (rng_.Chance(0.15) ? 2 : 1) : 0;
    g.home = TeamLines(day, home, g.overtimes, last_played[home] == day - 1);
    g.away = TeamLines(day, away, g.overtimes, last_played[away] == day - 1);
    Total(g.home);
    Total(g.away);
    if (g.home.total.points == g.away.total.points) {
      // No ties: a home player who played makes one more free throw.
      std::vector<Line*> on_court;
      for (Line& l : g.home.lines) {
        if (l.minutes > 0) on_court.push_back(&l);
      }
      Line& l = *on_court[rng_.Below(on_court.size())];
      ++l.fta;
      ++l.ftm;
      ++l.points;
      Total(g.home);
    }
    for (TeamGame* tg : {&g.home, &g.away}) {
      for (const Line& l : tg->lines) {
        ++summary_.box_scores;
        if (l.minutes > 0) ++summary_.played;
        else ++summary_.did_not_play;
      }
      MaybeInjure(day, *tg);
    }
    ++summary_.games;
    games_.push_back(std::move(g));
  }

  void MaybeInjure(int64_t day, const TeamGame& tg) {
    for (const Line& l : tg.lines) {
      if (l.minutes == 0) continue;
      Player& p = players_[static_cast<size_t>(l.player - 1)];
      if (!rng_.Chance(p.injury_rate)) continue;
      int healthy = 0;
      for (const Player* q : Roster(tg.team)) healthy += q->out_until <= day + 1 ? 1 : 0;
      const int64_t missed = 1 + static_cast<int64_t>(-std::log(1 - rng_.Uniform()) * 8);
      const std::string what = kInjuries[rng_.Below(std::size(kInjuries))];
      if (healthy - 1 < kMinHealthy) continue;
      p.out_until = day + 1 + std::min<int64_t>(missed, 40);
      p.injury = what;
      injuries_.push_back({p.id, tg.team, day, p.out_until, what});
      ++summary_.injuries;
    }
  }

  SeasonOptions o_;
  Rng rng_;
  int64_t start_ = 0, end_ = 0;
  std::vector<Player> players_;
  std::vector<Stint> stints_;
  std::vector<Game> games_;
  std::vector<Injury> injuries_;
  SeasonSummary summary_;
};

}  // namespace

std::string CheckOptions(const SeasonOptions& o) {
  if (o.teams < 2 || o.teams > 100) return "--teams must be between 2 and 100, found " + std::to_string(o.teams);
  if (o.players < 8 * o.teams || o.players > 20 * o.teams) {
    return "--players must be between 8 and 20 per team (" + std::to_string(8 * o.teams) + " to " +
           std::to_string(20 * o.teams) + " for " + std::to_string(o.teams) + " teams), found " +
           std::to_string(o.players);
  }
  const auto start = ParseDate(o.start), end = ParseDate(o.end);
  if (!start) return "--start: invalid date '" + o.start + "' (expected YYYY-MM-DD)";
  if (!end) return "--end: invalid date '" + o.end + "' (expected YYYY-MM-DD)";
  if (*end < *start) return "--end " + o.end + " is before --start " + o.start;
  if (*end - *start > 366) return "--start to --end spans more than a year";
  return "";
}

SeasonSummary Generate(const SeasonOptions& options, const std::string& path) {
  const std::string problem = CheckOptions(options);
  if (!problem.empty()) throw std::runtime_error(problem);
  Season season(options);
  season.Build();
  season.Write(path);
  return season.summary();
}

}  // namespace kiln::seasongen

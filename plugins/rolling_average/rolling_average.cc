// rolling_average: for one date, each player's average points over the last
// `window` games played before that date. A small version of the player daily
// cache Kiln was built for.
//
// Input: a CSV file "date,player,points" (header line first), any order.
// Output: <output_dir>/rolling_average/<date>.csv, "player,games,average",
// written to a temporary file and renamed, so re-running a date replaces it
// whole (idempotent per partition) and a crash never leaves half a file.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/processor.hpp"

namespace {

struct Game {
  std::string date;
  std::string player;
  double points = 0;
};

class RollingAverage final : public kiln::Processor {
 public:
  void configure(const kiln::Options& options, const kiln::Host&) override {
    input_ = std::string(options.string("input"));
    output_dir_ = std::string(options.string("output_dir"));
    window_ = options.integer("window");
    if (window_ < 1 || window_ > 82) {
      throw kiln::Error("window must be between 1 and 82 games, found " + std::to_string(window_));
    }
  }

  void init(const kiln::Host& host) override {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(output_dir_) / "rolling_average", ec);
    if (ec) throw kiln::Error("cannot create " + output_dir_ + "/rolling_average: " + ec.message());
    host.debug("writing to " + output_dir_ + "/rolling_average");
  }

  void extract(kiln::Run& run) override {
    games_.clear();
    std::ifstream in(input_);
    if (!in) throw kiln::Error("cannot open input " + input_ + ": " + std::strerror(errno));
    std::string line;
    size_t line_no = 0;
    const std::string day(*run.partition());
    while (std::getline(in, line)) {
      ++line_no;
      if (line_no == 1 || line.empty()) continue;  // header
      Game g;
      std::istringstream fields(line);
      std::string points;
      if (!std::getline(fields, g.date, ',') || !std::getline(fields, g.player, ',') ||
          !std::getline(fields, points)) {
        throw kiln::Error(input_ + ":" + std::to_string(line_no) + ": expected date,player,points");
      }
      if (g.date >= day) continue;  // only games before the partition date
      char* end = nullptr;
      g.points = std::strtod(points.c_str(), &end);
      if (end == points.c_str() || *end != '\0') {
        throw kiln::Error(input_ + ":" + std::to_string(line_no) + ": points '" + points + "' is not a number");
      }
      games_.push_back(std::move(g));
    }
    run.host().add_records(games_.size());
  }

  void validate(kiln::Run&) override {
    for (const Game& g : games_) {
      if (g.points < 0) throw kiln::Error("negative points for " + g.player + " on " + g.date);
    }
  }

  void transform(kiln::Run& run) override {
    std::map<std::string, std::vector<const Game*>> by_player;
    for (const Game& g : games_) by_player[g.player].push_back(&g);
    rows_.clear();
    uint64_t done = 0;
    for (auto& [player, games] : by_player) {
      run.host().check_cancelled();
      std::sort(games.begin(), games.end(), [](const Game* a, const Game* b) { return a->date > b->date; });
      const size_t n = std::min<size_t>(games.size(), static_cast<size_t>(window_));
      double sum = 0;
      for (size_t i = 0; i < n; ++i) sum += games[i]->points;
      rows_.push_back({player, n, sum / static_cast<double>(n)});
      run.host().progress(++done, by_player.size());
    }
  }

  void save(kiln::Run& run) override {
    if (run.dry_run()) {
      run.host().info("dry run: " + std::to_string(rows_.size()) + " rows not written");
      return;
    }
    const std::string day(*run.partition());
    const auto dir = std::filesystem::path(output_dir_) / "rolling_average";
    const auto final_path = dir / (day + ".csv");
    const auto tmp_path = dir / (day + ".csv.tmp");
    {
      std::ofstream out(tmp_path, std::ios::trunc);
      out << "player,games,average\n";
      char buf[64];
      for (const Row& r : rows_) {
        std::snprintf(buf, sizeof buf, "%.3f", r.average);
        out << r.player << ',' << r.games << ',' << buf << '\n';
      }
      out.flush();
      if (!out) throw kiln::Error("cannot write " + tmp_path.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp_path, final_path, ec);
    if (ec) throw kiln::Error("cannot rename to " + final_path.string() + ": " + ec.message());
    run.host().add_records(rows_.size());
  }

  void post_process(kiln::Run& run) override {
    run.host().info(std::to_string(rows_.size()) + " players averaged over up to " + std::to_string(window_) +
                    " games");
    games_.clear();
    rows_.clear();
  }

  void teardown(const kiln::Host&) override {}

 private:
  struct Row {
    std::string player;
    size_t games;
    double average;
  };
  std::string input_;
  std::string output_dir_;
  int64_t window_ = 5;
  std::vector<Game> games_;
  std::vector<Row> rows_;
};

const kiln_option_spec_t kOptions[] = {
    {"input", KILN_OPTION_STRING, 1, nullptr, "CSV file of games: date,player,points"},
    {"output_dir", KILN_OPTION_STRING, 1, nullptr, "directory the daily files are written under"},
    {"window", KILN_OPTION_INT, 0, "5", "number of most recent games averaged"},
};

}  // namespace

KILN_PLUGIN(RollingAverage, "rolling_average", "1.0.0", KILN_CAP_PARTITIONED_BY_DATE, kOptions)

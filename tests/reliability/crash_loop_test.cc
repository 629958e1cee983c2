// Crash loop: kill -9 kilnd at random points of a backfill, again and again.
//
// After every kill the ledger must pass PRAGMA integrity_check, the set of
// partitions that have a succeeded run must not shrink (no committed run is
// lost) and no partition may have two succeeded runs; kilnd is then started
// again and must resume the backfill from the ledger by itself. At the end
// the backfill completes with every partition succeeded exactly once.
//
// The kill points are random (a seeded PRNG; the seed is printed, and
// KILN_CRASH_LOOP_SEED=N replays it): from right after the spawn (start-up:
// config, plugin copy, ledger open and recovery) to well into the run
// (partitions in flight, commits of their starts and ends).
// KILN_CRASH_LOOP_KILLS=N changes the number of kills (default 100; 40 when
// built with AddressSanitizer, where every start costs several times more).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "tests/reliability/reliability_util.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::LedgerView;
using testing::Request;
using testing::ScratchDir;
using testing::WaitFor;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultKills = 40;
#else
constexpr int kDefaultKills = 100;
#endif

constexpr int kDays = 120;         // partitions per backfill
constexpr int kSleepMs = 150;      // what each partition run takes
constexpr int kMaxDelayMs = 450;   // longest wait before a kill

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : fallback;
}

class CrashLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/state";
    socket_ = state_ + "/run/kilnd.sock";
    std::ofstream(dir_.path() + "/kiln.toml")
        << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\"]\nstate_dir = \"state\"\nworkers = 2\n\n"
           "[[processor]]\nname = \"p\"\nplugin = \"sleeper\"\noptions = { sleep_ms = "
        << kSleepMs << " }\n";
  }

  std::unique_ptr<DaemonProcess> Start(int n) {
    log_ = dir_.path() + "/kilnd-" + std::to_string(n) + ".log";
    return std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", dir_.path() + "/kiln.toml"},
                                           log_);
  }
  bool Answers() { return !Request(socket_, "status").is_null(); }

  // Starts a backfill of the next kDays dates; returns its id, or 0.
  int64_t StartBackfill() {
    const std::vector<std::string> days = testing::Days(2024, 1, 1, kDays * (static_cast<int>(backfills_.size()) + 1));
    const std::vector<std::string> mine(days.end() - kDays, days.end());
    json r = Request(socket_, "backfill.start",
                     {{"processor", "p"}, {"start_date", mine.front()}, {"end_date", mine.back()}, {"parallel", 2}});
    if (!r.is_object() || !r.value("ok", false)) {
      ADD_FAILURE() << "backfill.start: " << r.dump();
      return 0;
    }
    backfills_.push_back(r["result"]["backfill"]["id"].get<int64_t>());
    expected_.insert(mine.begin(), mine.end());
    return backfills_.back();
  }

  ScratchDir dir_{"kiln-crash"};
  std::string state_, socket_, log_;
  std::vector<int64_t> backfills_;
  std::set<std::string> expected_;  // every partition some backfill covers
};

TEST_F(CrashLoop, KillNineAtRandomPointsLosesAndDuplicatesNothing) {
  const int kills = static_cast<int>(EnvInt("KILN_CRASH_LOOP_KILLS", kDefaultKills));
  const uint64_t seed = static_cast<uint64_t>(EnvInt("KILN_CRASH_LOOP_SEED", std::random_device{}()));
  std::printf("crash loop: seed %llu (KILN_CRASH_LOOP_SEED=%llu replays it), %d kills\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed), kills);
  std::mt19937_64 rng(seed);
  const auto t0 = std::chrono::steady_clock::now();

  auto d = Start(0);
  ASSERT_TRUE(WaitFor([&] { return Answers() || !d->Running(); }, 20s)) << d->Log();
  ASSERT_NE(StartBackfill(), 0);

  int in_startup = 0, during_runs = 0, integrity_ok = 0, new_backfills = 0;
  int64_t last_id = 0;
  std::map<std::string, int> succeeded;  // partition -> succeeded runs, as of the last kill
  for (int i = 1; i <= kills; ++i) {
    // A third of the kills land in the first 15 ms (start-up and recovery:
    // kilnd is up in about 10 ms),
    // the rest anywhere up to kMaxDelayMs (runs and their commits).
    const int delay = rng() % 3 == 0 ? static_cast<int>(rng() % 15) : static_cast<int>(rng() % kMaxDelayMs);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    ASSERT_TRUE(d->Running()) << "kill " << i << " (seed " << seed << "): kilnd exited by itself\n" << d->Log();
    d->Signal(SIGKILL);
    ASSERT_EQ(d->Wait(10s), -SIGKILL);
    const bool started = d->Log().find("kilnd started") != std::string::npos;
    in_startup += started ? 0 : 1;

    {
      LedgerView v(state_ + "/ledger.db");
      if (v.ok() || std::filesystem::exists(state_ + "/ledger.db")) {
        const std::string integrity = v.IntegrityCheck();
        ASSERT_EQ(integrity, "ok") << "kill " << i << " (seed " << seed << ")";
        ++integrity_ok;
        // Runs this kilnd began that were still in flight (older ones left
        // running by the previous kill do not count).
        const int64_t in_flight = v.Int("SELECT count(*) FROM runs WHERE status IN ('queued', 'running') AND id > " +
                                        std::to_string(last_id));
        during_runs += in_flight > 0 ? 1 : 0;
        last_id = std::max<int64_t>(last_id, v.Int("SELECT coalesce(max(id), 0) FROM runs"));
        const std::map<std::string, int> now = v.Succeeded("p");
        for (const auto& [day, n] : succeeded) {
          ASSERT_TRUE(now.count(day)) << "kill " << i << " (seed " << seed << "): the succeeded run of " << day
                                      << " is gone";
        }
        for (const auto& [day, n] : now) {
          ASSERT_EQ(n, 1) << "kill " << i << " (seed " << seed << "): " << day << " succeeded " << n << " times";
        }
        succeeded = now;
        // Keep the kills landing on work: when every backfill so far is
        // done, the next start gets a new one.
        const bool all_done =
            v.Int("SELECT count(*) FROM backfills WHERE state = 'running'") == 0;
        if (all_done && i < kills) {
          d = Start(i);
          ASSERT_TRUE(WaitFor([&] { return Answers() || !d->Running(); }, 20s)) << d->Log();
          ASSERT_NE(StartBackfill(), 0);
          ++new_backfills;
          continue;
        }
      }
    }
    d = Start(i);
  }
  std::printf("crash loop: %d kills in %.1f s\n", kills,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  // The last start resumes whatever is left, and finishes it.
  ASSERT_TRUE(WaitFor([&] { return Answers() || !d->Running(); }, 20s)) << d->Log();
  const bool finished = WaitFor([&] {
    LedgerView v(state_ + "/ledger.db");
    return v.Int("SELECT count(*) FROM backfills WHERE state = 'running'") == 0;
  }, 60s);
  ASSERT_TRUE(finished) << d->Log();
  d->Signal(SIGTERM);
  ASSERT_EQ(d->Wait(30s), 0) << d->Log();
  EXPECT_EQ(d->Log().find("kilnd started"), d->Log().rfind("kilnd started"));

  LedgerView v(state_ + "/ledger.db");
  ASSERT_EQ(v.IntegrityCheck(), "ok");
  ++integrity_ok;
  for (int64_t id : backfills_) {
    EXPECT_EQ(v.One("SELECT state FROM backfills WHERE id = " + std::to_string(id)), "succeeded") << "backfill " << id;
  }
  const std::map<std::string, int> done = v.Succeeded("p");
  int missing = 0, duplicated = 0;
  for (const std::string& day : expected_) {
    auto it = done.find(day);
    if (it == done.end()) {
      ++missing;
      ADD_FAILURE() << day << " has no succeeded run (seed " << seed << ")";
    } else if (it->second != 1) {
      ++duplicated;
      ADD_FAILURE() << day << " succeeded " << it->second << " times (seed " << seed << ")";
    }
  }
  EXPECT_EQ(done.size(), expected_.size());
  EXPECT_EQ(v.Int("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')"), 0);
  // Every run that was in flight at a kill is abandoned, and its partition
  // ran again: nothing is left failed.
  const int64_t abandoned = v.Int("SELECT count(*) FROM runs WHERE status = 'abandoned'");
  EXPECT_EQ(v.Int("SELECT count(*) FROM runs WHERE status NOT IN ('succeeded', 'abandoned')"), 0);
  const int64_t runs = v.Int("SELECT count(*) FROM runs");
  std::printf(
      "crash loop: seed %llu: %d kills (%d during start-up, %d with runs in flight), %d backfill(s) of %d days, "
      "%lld runs, %lld abandoned and retried, %d integrity checks passed, %d partitions lost, %d duplicated, "
      "%.1f s\n",
      static_cast<unsigned long long>(seed), kills, in_startup, during_runs, new_backfills + 1, kDays,
      static_cast<long long>(runs), static_cast<long long>(abandoned), integrity_ok, missing, duplicated,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace
}  // namespace kiln

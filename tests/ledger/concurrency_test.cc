// Many threads writing at once: every run is recorded once, ids are unique,
// and with group commit the writes share transactions.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "host/ledger/ledger.h"
#include "tests/ledger/test_util.h"

namespace kiln {
namespace {

using testing::OpenOrDie;
using testing::SampleRun;
using testing::TempDir;

constexpr int kThreads = 8;
constexpr int kRunsPerThread = 150;

// Each thread begins and finishes its runs, checking each is readable
// straight after its write returned, and records the ids it was given.
void WriteFromThreads(Ledger* ledger, std::vector<std::vector<int64_t>>* ids) {
  ids->assign(kThreads, {});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([ledger, t, mine = &(*ids)[t]] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        RunRecord run = SampleRun("proc" + std::to_string(t), 1000 * t + i);
        ASSERT_TRUE(ledger->BeginRun(&run).ok());
        run.status = RunStatus::kSucceeded;
        run.end_ms = run.start_ms + 1;
        run.records = t * 1000 + i;
        ASSERT_TRUE(ledger->FinishRun(run).ok());
        RunRecord got;
        ASSERT_TRUE(ledger->GetRun(run.id, &got).ok());  // read-your-writes
        ASSERT_EQ(got, run);
        mine->push_back(run.id);
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

void ExpectAllRecorded(Ledger* ledger, const std::vector<std::vector<int64_t>>& ids) {
  std::set<int64_t> unique;
  for (const auto& mine : ids) {
    EXPECT_EQ(mine.size(), static_cast<size_t>(kRunsPerThread));
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));  // one thread's ids increase
    unique.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kRunsPerThread));
  EXPECT_EQ(*unique.begin(), 1);
  EXPECT_EQ(*unique.rbegin(), kThreads * kRunsPerThread);

  for (int t = 0; t < kThreads; ++t) {
    RunFilter f;
    f.processor = "proc" + std::to_string(t);
    f.status = RunStatus::kSucceeded;
    f.limit = 0;
    std::vector<RunRecord> runs;
    ASSERT_TRUE(ledger->ListRuns(f, &runs).ok());
    ASSERT_EQ(runs.size(), static_cast<size_t>(kRunsPerThread));
    for (int i = 0; i < kRunsPerThread; ++i) {
      const RunRecord& r = runs[kRunsPerThread - 1 - i];  // newest first
      EXPECT_EQ(r.id, ids[t][i]);
      EXPECT_EQ(r.records, t * 1000 + i);
      EXPECT_EQ(r.end_ms, 1000 * t + i + 1);
    }
  }
  EXPECT_TRUE(ledger->CheckIntegrity().ok());
}

TEST(ConcurrencyTest, GroupCommitFromEightThreads) {
  TempDir dir;
  auto ledger = OpenOrDie(dir.File("ledger.db"));
  std::vector<std::vector<int64_t>> ids;
  WriteFromThreads(ledger.get(), &ids);
  ExpectAllRecorded(ledger.get(), ids);
  WriteStats stats = ledger->write_stats();
  EXPECT_EQ(stats.writes, static_cast<uint64_t>(2 * kThreads * kRunsPerThread));
  // Eight writers kept busy cannot all have found the writer idle.
  EXPECT_LT(stats.transactions, stats.writes);
}

TEST(ConcurrencyTest, OneTransactionPerWriteFromEightThreads) {
  TempDir dir;
  LedgerOptions options;
  options.group_commit = false;
  auto ledger = OpenOrDie(dir.File("ledger.db"), options);
  std::vector<std::vector<int64_t>> ids;
  WriteFromThreads(ledger.get(), &ids);
  ExpectAllRecorded(ledger.get(), ids);
  WriteStats stats = ledger->write_stats();
  EXPECT_EQ(stats.writes, static_cast<uint64_t>(2 * kThreads * kRunsPerThread));
  EXPECT_EQ(stats.transactions, stats.writes);
}

TEST(ConcurrencyTest, FailedWriteDoesNotFailItsBatch) {
  TempDir dir;
  auto ledger = OpenOrDie(dir.File("ledger.db"));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, not_found{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        RunRecord run = SampleRun();
        run.status = RunStatus::kSucceeded;
        if (t % 2 == 0) {
          run.id = 1000000 + i;  // no such run
          if (ledger->FinishRun(run).code() == Status::Code::kNotFound) ++not_found;
        } else if (ledger->BeginRun(&run).ok()) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(not_found.load(), 200);
  RunFilter f;
  f.limit = 0;
  std::vector<RunRecord> runs;
  ASSERT_TRUE(ledger->ListRuns(f, &runs).ok());
  EXPECT_EQ(runs.size(), 200u);
}

TEST(ConcurrencyTest, CloseFlushesQueuedWrites) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  auto ledger = OpenOrDie(path);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        RunRecord run = SampleRun();
        if (!ledger->BeginRun(&run).ok()) return;  // closed
        ++ok;
      }
    });
  }
  while (ok.load() < 500) std::this_thread::yield();
  ledger->Close();
  for (std::thread& th : threads) th.join();
  int acknowledged = ok.load();
  ledger = OpenOrDie(path);
  RunFilter f;
  f.limit = 0;
  std::vector<RunRecord> runs;
  ASSERT_TRUE(ledger->ListRuns(f, &runs).ok());
  // Every write that returned OK is there, and none that failed.
  EXPECT_EQ(runs.size(), static_cast<size_t>(acknowledged));
}

}  // namespace
}  // namespace kiln

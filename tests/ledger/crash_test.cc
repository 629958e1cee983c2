// The durability promise under SIGKILL: a child process writes runs through
// the ledger from several threads and reports on a pipe each run whose
// BeginRun or FinishRun has returned. The parent kills it mid-write, then
// checks the file: intact, every reported finish present, and everything
// left in flight turned into abandoned by MarkAbandoned.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>
#include <vector>

#include "host/ledger/ledger.h"
#include "tests/ledger/test_util.h"

namespace kiln {
namespace {

using testing::RawDb;
using testing::SampleRun;
using testing::TempDir;

constexpr int kChildThreads = 4;
constexpr int64_t kAbandonedAt = 1900000000000;

// Never returns: the child runs until killed. Reports +id once a run is
// finished durably, -id once it has begun.
[[noreturn]] void ChildWriter(const std::string& path, int fd) {
  std::unique_ptr<Ledger> ledger;
  if (!Ledger::Open(path, LedgerOptions(), &ledger).ok()) _exit(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&ledger, fd, t] {
      for (int i = 0;; ++i) {
        RunRecord run = SampleRun("crash" + std::to_string(t), i);
        if (!ledger->BeginRun(&run).ok()) _exit(3);
        int64_t begun = -run.id;
        if (write(fd, &begun, sizeof begun) != sizeof begun) _exit(4);
        run.status = RunStatus::kSucceeded;
        run.end_ms = i + 1;
        run.records = run.id;
        if (!ledger->FinishRun(run).ok()) _exit(5);
        if (write(fd, &run.id, sizeof run.id) != sizeof run.id) _exit(6);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  _exit(7);
}

// One crash: returns the ids the child reported, as begun and as finished.
void CrashOnce(const std::string& path, size_t finishes_before_kill, std::set<int64_t>* begun,
               std::set<int64_t>* finished) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // The parent has no threads of its own here (every earlier Ledger has been
  // closed and joined), so fork is safe; the child only ever _exits.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    ChildWriter(path, fds[1]);
  }
  close(fds[1]);
  size_t finishes = 0;
  int64_t id = 0;
  bool killed = false;
  // Keep reading after the kill: anything the child wrote before dying is
  // still in the pipe, and is a promise the ledger must keep.
  while (read(fds[0], &id, sizeof id) == sizeof id) {
    if (id < 0) {
      begun->insert(-id);
    } else {
      finished->insert(id);
      if (++finishes == finishes_before_kill && !killed) {
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        killed = true;
      }
    }
  }
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
  EXPECT_EQ(WTERMSIG(wstatus), SIGKILL);
}

TEST(CrashTest, SigkillMidWriteLosesNothingReported) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  std::set<int64_t> all_begun, all_finished;
  size_t abandoned_total = 0;
  // Several crashes into the same file: each recovery must also survive the next.
  for (int round = 0; round < 3; ++round) {
    std::set<int64_t> begun, finished;
    CrashOnce(path, 300 + 97 * round, &begun, &finished);
    ASSERT_GE(finished.size(), 300u);
    all_begun.insert(begun.begin(), begun.end());
    all_finished.insert(finished.begin(), finished.end());

    std::unique_ptr<Ledger> ledger;
    Status s = Ledger::Open(path, LedgerOptions(), &ledger);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(ledger->CheckIntegrity().ok());
    {
      RawDb raw(path);
      EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
    }

    std::vector<RunRecord> abandoned;
    ASSERT_TRUE(ledger->MarkAbandoned(kAbandonedAt, &abandoned).ok());
    abandoned_total += abandoned.size();
    for (const RunRecord& r : abandoned) {
      EXPECT_EQ(finished.count(r.id), 0u) << "run " << r.id << " was reported finished";
      EXPECT_EQ(r.status, RunStatus::kAbandoned);
      EXPECT_EQ(r.end_ms, kAbandonedAt);
    }

    RunFilter f;
    f.limit = 0;
    std::vector<RunRecord> runs;
    ASSERT_TRUE(ledger->ListRuns(f, &runs).ok());
    std::map<int64_t, RunRecord> by_id;
    for (RunRecord& r : runs) by_id.emplace(r.id, std::move(r));
    for (int64_t id : all_finished) {
      auto it = by_id.find(id);
      ASSERT_NE(it, by_id.end()) << "finished run " << id << " is missing";
      EXPECT_EQ(it->second.status, RunStatus::kSucceeded) << "run " << id;
      EXPECT_EQ(it->second.records, id);
    }
    for (int64_t id : all_begun) {
      ASSERT_NE(by_id.find(id), by_id.end()) << "begun run " << id << " is missing";
    }
    for (const auto& [id, r] : by_id) {
      // Nothing is left in flight; a run is either finished or abandoned.
      EXPECT_TRUE(r.status == RunStatus::kSucceeded || r.status == RunStatus::kAbandoned)
          << "run " << id << " is " << RunStatusName(r.status);
    }
  }
  // With four threads always mid-write, the kills left runs in flight.
  EXPECT_GT(abandoned_total, 0u);
}

}  // namespace
}  // namespace kiln

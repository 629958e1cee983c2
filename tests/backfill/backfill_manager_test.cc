// The BackfillManager against a real ledger that another process locks.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/backfill/backfill_manager.h"
#include "host/ledger/ledger.h"

namespace kiln {
namespace {

// A backfill whose last run ends while another process holds the ledger's
// lock cannot record its final state then: it stays live, shown finished,
// and is written by RetryUnrecorded once the lock is gone. (Before, the
// state was lost until kilnd restarted.)
TEST(BackfillManager, AFinalStateTheLedgerRefusesIsWrittenOnceItCan) {
  char tmpl[] = "/tmp/kiln-bfm-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = dir + "/ledger.db";
  {
    LedgerOptions options;
    options.busy_timeout_ms = 50;
    std::unique_ptr<Ledger> ledger;
    ASSERT_TRUE(Ledger::Open(path, options, &ledger).ok());

    Config config;
    ProcessorConfig p;
    p.name = "p";
    p.plugin = "x";
    p.partitioned = true;
    config.processors.push_back(p);
    BackfillManager manager(ledger.get(), 2);
    manager.Configure(config, 2);
    const SysMillis now{std::chrono::milliseconds(1'700'000'000'000)};
    BackfillRequest request;
    request.processor = "p";
    request.start_date = request.end_date = "2025-01-01";
    BackfillRecord created;
    ASSERT_TRUE(manager.Start(request, now, &created, nullptr).ok());
    std::vector<RunIntent> start;
    manager.Pump(&start);
    ASSERT_EQ(start.size(), 1u);

    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

    std::vector<std::string> log;
    manager.Finished(start[0], RunStatus::kSucceeded, now, &log);
    EXPECT_EQ(log, std::vector<std::string>{"backfill 1 of 'p' succeeded, but the ledger refused its final state "
                                            "(retrying every second): ledger " + path + ": database is locked"});
    BackfillProgress progress;
    ASSERT_TRUE(manager.Progress(created.id, now, &progress).ok());
    EXPECT_EQ(progress.record.state, BackfillState::kSucceeded);
    EXPECT_EQ(progress.succeeded, 1);
    log.clear();
    EXPECT_EQ(manager.RetryUnrecorded(&log), 1);
    EXPECT_TRUE(log.empty()) << "a retry that fails again says nothing new";

    ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);
    EXPECT_EQ(manager.RetryUnrecorded(&log), 0);
    EXPECT_EQ(log, std::vector<std::string>{"backfill 1 of 'p' succeeded: 1 succeeded, 0 failed"});
    EXPECT_TRUE(manager.Active().empty());
    BackfillRecord stored;
    ASSERT_TRUE(ledger->GetBackfill(created.id, &stored).ok());
    EXPECT_EQ(stored.state, BackfillState::kSucceeded);
    EXPECT_EQ(stored.finished_ms, ToUnixMillis(now));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln

// The Ledger API: every field round trips, filters select the right runs,
// and every refusal has its exact message.
#include "host/ledger/ledger.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/ledger/test_util.h"

namespace kiln {
namespace {

using testing::OpenOrDie;
using testing::RawDb;
using testing::SampleRun;
using testing::TempDir;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("ledger.db");
    ledger_ = OpenOrDie(path_);
    ASSERT_NE(ledger_, nullptr);
  }

  int64_t Begin(RunRecord r) {
    Status s = ledger_->BeginRun(&r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r.id;
  }

  std::vector<int64_t> Ids(const RunFilter& f) {
    std::vector<RunRecord> runs;
    Status s = ledger_->ListRuns(f, &runs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<int64_t> ids;
    for (const RunRecord& r : runs) ids.push_back(r.id);
    return ids;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, RoundTripsEveryField) {
  RunRecord run = SampleRun();
  run.trigger = Trigger::kBackfill;
  run.attempt = 3;
  run.backfill_id = 17;
  ASSERT_TRUE(ledger_->BeginRun(&run).ok());
  EXPECT_EQ(run.id, 1);

  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
  EXPECT_EQ(got, run);

  run.status = RunStatus::kFailed;
  run.end_ms = run.start_ms + 12345;
  run.phase(Phase::kConfigure) = 0.25;
  run.phase(Phase::kInit) = 1.5;
  run.phase(Phase::kExtract) = 1000.125;
  run.phase(Phase::kValidate) = 2.0;
  run.phase(Phase::kTransform) = 30.75;
  run.phase(Phase::kSave) = 9000.5;
  run.phase(Phase::kPostProcess) = 0.001;
  run.records = int64_t{1} << 40;
  run.error = "save: disk full on /data/out (ENOSPC)";
  ASSERT_TRUE(ledger_->FinishRun(run).ok());

  ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
  EXPECT_EQ(got, run);
  EXPECT_EQ(got.id, 1);
  EXPECT_EQ(got.processor, "orders");
  EXPECT_EQ(got.plugin_name, "orders_csv");
  EXPECT_EQ(got.plugin_version, "1.4.0");
  EXPECT_EQ(got.plugin_hash, "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(got.partition, "2024-03-01");
  EXPECT_EQ(got.trigger, Trigger::kBackfill);
  EXPECT_EQ(got.scheduled_ms, 1699999999995);
  EXPECT_EQ(got.start_ms, 1700000000000);
  EXPECT_EQ(got.end_ms, 1700000012345);
  EXPECT_EQ(got.phase(Phase::kExtract), 1000.125);
  EXPECT_EQ(got.phase(Phase::kPostProcess), 0.001);
  EXPECT_EQ(got.status, RunStatus::kFailed);
  EXPECT_EQ(got.attempt, 3);
  EXPECT_EQ(got.records, int64_t{1} << 40);
  EXPECT_EQ(got.error, "save: disk full on /data/out (ENOSPC)");
  EXPECT_EQ(got.backfill_id, 17);

  // Stored as a plain, queryable row: enum names, NULL for no value.
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT status || ' ' || trigger || ' ' || save_ms FROM runs WHERE id = 1"),
            "failed backfill 9000.5");
}

TEST_F(LedgerTest, RoundTripsAbsentValuesAsNull) {
  RunRecord run = SampleRun();
  run.partition.reset();
  run.scheduled_ms.reset();
  run.trigger = Trigger::kManual;
  run.status = RunStatus::kQueued;
  ASSERT_TRUE(ledger_->BeginRun(&run).ok());
  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
  EXPECT_EQ(got, run);
  EXPECT_FALSE(got.partition.has_value());
  EXPECT_FALSE(got.end_ms.has_value());
  EXPECT_FALSE(got.backfill_id.has_value());
  for (const auto& ms : got.phase_ms) EXPECT_FALSE(ms.has_value());
  EXPECT_EQ(got.error, "");

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM runs WHERE partition IS NULL AND scheduled_ms IS NULL AND "
                      "end_ms IS NULL AND error IS NULL AND save_ms IS NULL AND backfill_id IS NULL"),
            "1");
}

TEST_F(LedgerTest, RoundTripsEveryStatusAndTrigger) {
  for (int i = 0; i <= static_cast<int>(RunStatus::kAbandoned); ++i) {
    RunRecord run = SampleRun();
    run.status = static_cast<RunStatus>(i);
    run.trigger = static_cast<Trigger>(i % 5);
    ASSERT_TRUE(ledger_->BeginRun(&run).ok());
    RunRecord got;
    ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
    EXPECT_EQ(got.status, run.status) << RunStatusName(run.status);
    EXPECT_EQ(got.trigger, run.trigger) << TriggerName(run.trigger);
  }
}

TEST_F(LedgerTest, AssignsIncreasingIds) {
  EXPECT_EQ(Begin(SampleRun()), 1);
  EXPECT_EQ(Begin(SampleRun()), 2);
  EXPECT_EQ(Begin(SampleRun()), 3);
}

TEST_F(LedgerTest, GetRunOfUnknownIdIsNotFound) {
  RunRecord got;
  Status s = ledger_->GetRun(42, &got);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 42 not found");
}

TEST_F(LedgerTest, FinishRunRefusals) {
  RunRecord run = SampleRun();
  run.id = 42;
  run.status = RunStatus::kSucceeded;
  Status s = ledger_->FinishRun(run);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 42 not found");

  run.id = Begin(SampleRun());
  run.status = RunStatus::kRunning;
  s = ledger_->FinishRun(run);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 1 cannot finish with status running");

  run.status = RunStatus::kSucceeded;
  ASSERT_TRUE(ledger_->FinishRun(run).ok());
  run.status = RunStatus::kFailed;
  s = ledger_->FinishRun(run);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 1 is succeeded, not in flight");
  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(1, &got).ok());
  EXPECT_EQ(got.status, RunStatus::kSucceeded);
}

TEST_F(LedgerTest, BeginRunRefusesBadInput) {
  RunRecord run = SampleRun();
  run.partition = "2024-13-01";
  Status s = ledger_->BeginRun(&run);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run partition \"2024-13-01\" is not a YYYY-MM-DD date");
  run = SampleRun("");
  s = ledger_->BeginRun(&run);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run has no processor name");
  EXPECT_EQ(run.id, 0);
  EXPECT_TRUE(Ids(RunFilter()).empty());
}

TEST_F(LedgerTest, StartRunMovesQueuedToRunning) {
  RunRecord run = SampleRun();
  run.status = RunStatus::kQueued;
  ASSERT_TRUE(ledger_->BeginRun(&run).ok());
  ASSERT_TRUE(ledger_->StartRun(run.id, 1700000009999).ok());
  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
  EXPECT_EQ(got.status, RunStatus::kRunning);
  EXPECT_EQ(got.start_ms, 1700000009999);

  Status s = ledger_->StartRun(run.id, 1);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 1 is running, not queued");
  s = ledger_->StartRun(99, 1);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": run 99 not found");
}

TEST_F(LedgerTest, ListRunsFilters) {
  // id: processor, partition, status, start
  auto add = [&](const char* proc, const char* part, RunStatus st, int64_t start) {
    RunRecord r = SampleRun(proc, start);
    r.partition = part;
    r.status = st;
    return Begin(r);
  };
  int64_t a1 = add("a", "2024-03-01", RunStatus::kSucceeded, 100);
  int64_t a2 = add("a", "2024-03-02", RunStatus::kFailed, 300);
  int64_t b1 = add("b", "2024-03-01", RunStatus::kSucceeded, 200);
  int64_t b2 = add("b", "2024-03-02", RunStatus::kRunning, 400);
  int64_t a3 = add("a", "2024-03-02", RunStatus::kSucceeded, 300);  // same start as a2: id breaks the tie

  EXPECT_EQ(Ids(RunFilter()), (std::vector<int64_t>{b2, a3, a2, b1, a1}));
  RunFilter f;
  f.processor = "a";
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{a3, a2, a1}));
  f.status = RunStatus::kSucceeded;
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{a3, a1}));
  f.partition = "2024-03-01";
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{a1}));

  f = RunFilter();
  f.since_ms = 300;
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{b2, a3, a2}));
  f.limit = 2;
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{b2, a3}));

  f = RunFilter();
  f.partition = "2024-03-01";
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{b1, a1}));
  f = RunFilter();
  f.status = RunStatus::kRunning;
  EXPECT_EQ(Ids(f), (std::vector<int64_t>{b2}));
  f.processor = "nobody";
  EXPECT_TRUE(Ids(f).empty());
}

TEST_F(LedgerTest, ListRunsLimitZeroMeansAll) {
  for (int i = 0; i < 150; ++i) Begin(SampleRun("p", i));
  RunFilter f;
  EXPECT_EQ(Ids(f).size(), 100u);
  f.limit = 0;
  EXPECT_EQ(Ids(f).size(), 150u);
}

TEST_F(LedgerTest, LastSucceeded) {
  RunRecord r = SampleRun("load");
  RunRecord got;
  Status s = ledger_->LastSucceeded("load", std::string("2024-03-01"), &got);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": processor load has no succeeded run for partition 2024-03-01");
  s = ledger_->LastSucceeded("load", std::nullopt, &got);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": processor load has no succeeded run for no partition");

  auto finish = [&](RunRecord run, RunStatus st, int64_t end) {
    EXPECT_TRUE(ledger_->BeginRun(&run).ok());
    run.status = st;
    run.end_ms = end;
    EXPECT_TRUE(ledger_->FinishRun(run).ok());
    return run.id;
  };
  int64_t early = finish(r, RunStatus::kSucceeded, 5000);
  int64_t late = finish(r, RunStatus::kSucceeded, 9000);
  finish(r, RunStatus::kFailed, 9999);
  int64_t middle = finish(r, RunStatus::kSucceeded, 7000);  // inserted last, ended earlier
  RunRecord other_day = r;
  other_day.partition = "2024-03-02";
  finish(other_day, RunStatus::kSucceeded, 10000);
  RunRecord unpartitioned = r;
  unpartitioned.partition.reset();
  int64_t none = finish(unpartitioned, RunStatus::kSucceeded, 1);
  (void)early;
  (void)middle;

  ASSERT_TRUE(ledger_->LastSucceeded("load", std::string("2024-03-01"), &got).ok());
  EXPECT_EQ(got.id, late);
  EXPECT_EQ(got.end_ms, 9000);
  ASSERT_TRUE(ledger_->LastSucceeded("load", std::nullopt, &got).ok());
  EXPECT_EQ(got.id, none);
  EXPECT_EQ(ledger_->LastSucceeded("other", std::string("2024-03-01"), &got).code(), Status::Code::kNotFound);
}

TEST_F(LedgerTest, MarkAbandonedEndsRunsInFlight) {
  RunRecord queued = SampleRun("q");
  queued.status = RunStatus::kQueued;
  RunRecord running = SampleRun("r");
  RunRecord done = SampleRun("d");
  done.status = RunStatus::kSucceeded;
  done.end_ms = 1700000000500;
  RunRecord failed_early = SampleRun("f");
  failed_early.error = "init: no such table";
  ASSERT_TRUE(ledger_->BeginRun(&queued).ok());
  ASSERT_TRUE(ledger_->BeginRun(&running).ok());
  ASSERT_TRUE(ledger_->BeginRun(&done).ok());
  ASSERT_TRUE(ledger_->BeginRun(&failed_early).ok());

  std::vector<RunRecord> abandoned;
  ASSERT_TRUE(ledger_->MarkAbandoned(1800000000000, &abandoned).ok());
  ASSERT_EQ(abandoned.size(), 3u);
  RunRecord want = queued;
  want.status = RunStatus::kAbandoned;
  want.end_ms = 1800000000000;
  want.error = "kilnd stopped while the run was in flight";
  EXPECT_EQ(abandoned[0], want);
  EXPECT_EQ(abandoned[1].id, running.id);
  EXPECT_EQ(abandoned[2].id, failed_early.id);
  EXPECT_EQ(abandoned[2].error, "init: no such table");  // an existing reason is kept

  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(running.id, &got).ok());
  EXPECT_EQ(got.status, RunStatus::kAbandoned);
  EXPECT_EQ(got.end_ms, 1800000000000);
  ASSERT_TRUE(ledger_->GetRun(done.id, &got).ok());
  EXPECT_EQ(got, done);

  // Nothing left in flight: a second call finds nothing.
  ASSERT_TRUE(ledger_->MarkAbandoned(1900000000000, &abandoned).ok());
  EXPECT_TRUE(abandoned.empty());
}

TEST_F(LedgerTest, CheckIntegrity) { EXPECT_TRUE(ledger_->CheckIntegrity().ok()); }

TEST_F(LedgerTest, UsesWalAndSurvivesReopen) {
  RunRecord run = SampleRun();
  ASSERT_TRUE(ledger_->BeginRun(&run).ok());
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  }
  ledger_.reset();
  ledger_ = OpenOrDie(path_);
  RunRecord got;
  ASSERT_TRUE(ledger_->GetRun(run.id, &got).ok());
  EXPECT_EQ(got, run);
}

TEST_F(LedgerTest, CallsAfterCloseFail) {
  ledger_->Close();
  RunRecord run = SampleRun();
  Status s = ledger_->BeginRun(&run);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": ledger is closed");
  RunRecord got;
  EXPECT_EQ(ledger_->GetRun(1, &got).message(), "ledger " + path_ + ": ledger is closed");
  ledger_->Close();  // twice is fine
}

TEST_F(LedgerTest, LockedDatabaseNamesTheFile) {
  ledger_.reset();
  LedgerOptions options;
  options.busy_timeout_ms = 20;
  ledger_ = OpenOrDie(path_, options);
  RawDb other(path_);
  other.Exec("BEGIN IMMEDIATE");
  RunRecord run = SampleRun();
  Status s = ledger_->BeginRun(&run);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "ledger " + path_ + ": database is locked");
  EXPECT_EQ(run.id, 0);
  other.Exec("ROLLBACK");
  ASSERT_TRUE(ledger_->BeginRun(&run).ok());
  EXPECT_EQ(run.id, 1);
}

TEST(LedgerOpenTest, MissingDirectory) {
  TempDir dir;
  std::string path = dir.File("no/such/dir/ledger.db");
  std::unique_ptr<Ledger> ledger;
  Status s = Ledger::Open(path, LedgerOptions(), &ledger);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(s.message(), "ledger " + path + ": unable to open database file");
  EXPECT_EQ(ledger, nullptr);
}

TEST(RunRecordTest, NamesAndPartitions) {
  RunStatus st;
  EXPECT_TRUE(ParseRunStatus("timed_out", &st));
  EXPECT_EQ(st, RunStatus::kTimedOut);
  EXPECT_FALSE(ParseRunStatus("done", &st));
  Trigger t;
  EXPECT_TRUE(ParseTrigger("catchup", &t));
  EXPECT_EQ(t, Trigger::kCatchup);
  EXPECT_STREQ(PhaseName(Phase::kPostProcess), "post_process");
  EXPECT_TRUE(LooksLikePartition("2024-02-29"));
  EXPECT_FALSE(LooksLikePartition("2024-2-29"));
  EXPECT_FALSE(LooksLikePartition("2024-00-10"));
  EXPECT_FALSE(LooksLikePartition("2024-01-32"));
  EXPECT_FALSE(LooksLikePartition("2024/01/02"));
}

}  // namespace
}  // namespace kiln

// Schema version 2: backfills, the bookkeeping queries a backfill runs on,
// per-run log lines, and bringing a version 1 ledger up to date in place.
#include "host/ledger/backfill_record.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "host/ledger/db.h"
#include "host/ledger/ledger.h"
#include "host/ledger/schema.h"
#include "tests/ledger/test_util.h"

namespace kiln {
namespace {

using testing::OpenOrDie;
using testing::RawDb;
using testing::SampleRun;
using testing::TempDir;

BackfillRecord SampleBackfill(const std::string& processor = "orders", int64_t created_ms = 1700000000000) {
  BackfillRecord b;
  b.processor = processor;
  b.processors = {processor};
  b.start_date = "2024-03-01";
  b.end_date = "2024-03-31";
  b.created_ms = created_ms;
  return b;
}

std::vector<LogLineRecord> Lines(int n, int64_t first_ts = 1000) {
  std::vector<LogLineRecord> lines;
  for (int i = 1; i <= n; ++i) {
    lines.push_back({i, first_ts + i, i % 7 == 0 ? "warn" : "info", "line " + std::to_string(i)});
  }
  return lines;
}

class BackfillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("ledger.db");
    ledger_ = OpenOrDie(path_);
    ASSERT_NE(ledger_, nullptr);
  }

  int64_t Create(BackfillRecord b) {
    Status s = ledger_->CreateBackfill(&b);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return b.id;
  }

  // A run of `processor` for `partition`, inserted with its final status.
  int64_t Run(const std::string& processor, const char* partition, RunStatus status,
              std::optional<int64_t> backfill_id = std::nullopt, Trigger trigger = Trigger::kBackfill) {
    RunRecord r = SampleRun(processor);
    r.partition = partition;
    r.status = status;
    r.trigger = trigger;
    r.backfill_id = backfill_id;
    if (IsTerminal(status)) r.end_ms = r.start_ms + 10;
    Status s = ledger_->BeginRun(&r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r.id;
  }

  std::vector<int64_t> ListIds(std::optional<BackfillState> state, size_t limit) {
    std::vector<BackfillRecord> out;
    Status s = ledger_->ListBackfills(state, limit, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<int64_t> ids;
    for (const BackfillRecord& b : out) ids.push_back(b.id);
    return ids;
  }

  std::string Err(const std::string& what) { return "ledger " + path_ + ": " + what; }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Ledger> ledger_;
};

TEST(BackfillRecordTest, Names) {
  for (int i = 0; i <= static_cast<int>(BackfillState::kCancelled); ++i) {
    BackfillState s = BackfillState::kRunning;
    ASSERT_TRUE(ParseBackfillState(BackfillStateName(static_cast<BackfillState>(i)), &s));
    EXPECT_EQ(static_cast<int>(s), i);
  }
  EXPECT_STREQ(BackfillStateName(BackfillState::kCancelled), "cancelled");
  BackfillState st;
  EXPECT_FALSE(ParseBackfillState("done", &st));
  Reprocess r = Reprocess::kNone;
  EXPECT_TRUE(ParseReprocess("failed", &r));
  EXPECT_EQ(r, Reprocess::kFailed);
  EXPECT_TRUE(ParseReprocess("all", &r));
  EXPECT_EQ(r, Reprocess::kAll);
  EXPECT_STREQ(ReprocessName(Reprocess::kNone), "none");
  EXPECT_FALSE(ParseReprocess("some", &r));
  EXPECT_TRUE(IsLogLevel("warn"));
  EXPECT_FALSE(IsLogLevel("warning"));
}

TEST_F(BackfillTest, RoundTripsEveryField) {
  BackfillRecord b = SampleBackfill("extract");
  b.processors = {"extract", "transform", "load"};
  b.start_date = "2023-12-30";
  b.end_date = "2024-01-02";
  b.parallel = 4;
  b.cascade = true;
  b.reprocess = Reprocess::kFailed;
  ASSERT_TRUE(ledger_->CreateBackfill(&b).ok());
  EXPECT_EQ(b.id, 1);

  BackfillRecord got;
  ASSERT_TRUE(ledger_->GetBackfill(1, &got).ok());
  EXPECT_EQ(got, b);
  EXPECT_EQ(got.processors, (std::vector<std::string>{"extract", "transform", "load"}));
  EXPECT_EQ(got.state, BackfillState::kRunning);
  EXPECT_FALSE(got.finished_ms.has_value());

  ASSERT_TRUE(ledger_->FinishBackfill(b.id, BackfillState::kCancelled, 1700000099999).ok());
  b.state = BackfillState::kCancelled;
  b.finished_ms = 1700000099999;
  ASSERT_TRUE(ledger_->GetBackfill(1, &got).ok());
  EXPECT_EQ(got, b);

  // A backfill recorded whole, with the other enum values.
  BackfillRecord done = SampleBackfill("solo", 5);
  done.reprocess = Reprocess::kAll;
  done.state = BackfillState::kSucceeded;
  done.finished_ms = 6;
  ASSERT_TRUE(ledger_->CreateBackfill(&done).ok());
  EXPECT_EQ(done.id, 2);
  ASSERT_TRUE(ledger_->GetBackfill(2, &got).ok());
  EXPECT_EQ(got, done);

  // Stored as a plain, readable row.
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT processor || '|' || processors || '|' || start_date || '|' || end_date || '|' || "
                      "parallel || '|' || cascade || '|' || reprocess || '|' || state || '|' || created_ms || '|' "
                      "|| finished_ms FROM backfills WHERE id = 1"),
            "extract|extract,transform,load|2023-12-30|2024-01-02|4|1|failed|cancelled|1700000000000|1700000099999");
  EXPECT_EQ(raw.Query("SELECT cascade || reprocess || state FROM backfills WHERE id = 2"), "0allsucceeded");
}

TEST_F(BackfillTest, CreateBackfillRefusesBadInput) {
  auto refused = [&](BackfillRecord b) {
    Status s = ledger_->CreateBackfill(&b);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(b.id, 0);
    return s.message();
  };
  BackfillRecord b = SampleBackfill("");
  EXPECT_EQ(refused(b), Err("backfill has no processor name"));
  b = SampleBackfill();
  b.processors = {};
  EXPECT_EQ(refused(b), Err("backfill processors must start with its processor \"orders\""));
  b.processors = {"upstream", "orders"};
  b.cascade = true;
  EXPECT_EQ(refused(b), Err("backfill processors must start with its processor \"orders\""));
  b.processors = {"orders", "load"};
  b.cascade = false;
  EXPECT_EQ(refused(b), Err("backfill without cascade covers only its processor, not 2 processors"));
  b.cascade = true;
  b.processors = {"orders", "a,b"};
  EXPECT_EQ(refused(b), Err("backfill processor name \"a,b\" contains a comma"));
  b.processors = {"orders", ""};
  EXPECT_EQ(refused(b), Err("backfill processors include an empty name"));
  b.processors = {"orders", "load", "load"};
  EXPECT_EQ(refused(b), Err("backfill processors list \"load\" twice"));
  b = SampleBackfill();
  b.start_date = "2024-3-01";
  EXPECT_EQ(refused(b), Err("backfill start date \"2024-3-01\" is not a YYYY-MM-DD date"));
  b = SampleBackfill();
  b.end_date = "2024-03-32";
  EXPECT_EQ(refused(b), Err("backfill end date \"2024-03-32\" is not a YYYY-MM-DD date"));
  b = SampleBackfill();
  b.start_date = "2024-04-01";
  EXPECT_EQ(refused(b), Err("backfill start date 2024-04-01 is after its end date 2024-03-31"));
  b = SampleBackfill();
  b.parallel = 0;
  EXPECT_EQ(refused(b), Err("backfill parallel must be at least 1, not 0"));
  b = SampleBackfill();
  b.finished_ms = 1;
  EXPECT_EQ(refused(b), Err("backfill in state running cannot have a finished time"));
  b = SampleBackfill();
  b.state = BackfillState::kFailed;
  EXPECT_EQ(refused(b), Err("backfill in state failed needs a finished time"));
  EXPECT_TRUE(ListIds(std::nullopt, 0).empty());

  // One-day range and cascade without dependents are fine.
  b = SampleBackfill();
  b.end_date = b.start_date;
  b.cascade = true;
  EXPECT_EQ(Create(b), 1);
}

TEST_F(BackfillTest, FinishBackfillRefusals) {
  Status s = ledger_->FinishBackfill(7, BackfillState::kSucceeded, 1);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), Err("backfill 7 not found"));

  int64_t id = Create(SampleBackfill());
  s = ledger_->FinishBackfill(id, BackfillState::kRunning, 1);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("backfill 1 cannot finish with state running"));

  ASSERT_TRUE(ledger_->FinishBackfill(id, BackfillState::kFailed, 100).ok());
  s = ledger_->FinishBackfill(id, BackfillState::kSucceeded, 200);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("backfill 1 is failed, not running"));
  BackfillRecord got;
  ASSERT_TRUE(ledger_->GetBackfill(id, &got).ok());
  EXPECT_EQ(got.state, BackfillState::kFailed);
  EXPECT_EQ(got.finished_ms, 100);
}

TEST_F(BackfillTest, GetBackfillOfUnknownIdIsNotFound) {
  BackfillRecord got;
  Status s = ledger_->GetBackfill(7, &got);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), Err("backfill 7 not found"));
}

TEST_F(BackfillTest, ListBackfillsFilterLimitOrder) {
  int64_t b1 = Create(SampleBackfill("a", 100));
  int64_t b2 = Create(SampleBackfill("b", 300));
  int64_t b3 = Create(SampleBackfill("c", 200));
  int64_t b4 = Create(SampleBackfill("d", 300));  // same time as b2: id breaks the tie
  ASSERT_TRUE(ledger_->FinishBackfill(b1, BackfillState::kSucceeded, 1000).ok());
  ASSERT_TRUE(ledger_->FinishBackfill(b3, BackfillState::kSucceeded, 1000).ok());
  ASSERT_TRUE(ledger_->FinishBackfill(b4, BackfillState::kFailed, 1000).ok());

  EXPECT_EQ(ListIds(std::nullopt, 0), (std::vector<int64_t>{b4, b2, b3, b1}));
  EXPECT_EQ(ListIds(std::nullopt, 2), (std::vector<int64_t>{b4, b2}));
  EXPECT_EQ(ListIds(BackfillState::kSucceeded, 0), (std::vector<int64_t>{b3, b1}));
  EXPECT_EQ(ListIds(BackfillState::kSucceeded, 1), (std::vector<int64_t>{b3}));
  EXPECT_EQ(ListIds(BackfillState::kRunning, 0), (std::vector<int64_t>{b2}));
  EXPECT_EQ(ListIds(BackfillState::kFailed, 5), (std::vector<int64_t>{b4}));
  EXPECT_TRUE(ListIds(BackfillState::kCancelled, 0).empty());

  std::vector<BackfillRecord> all;
  ASSERT_TRUE(ledger_->ListBackfills(std::nullopt, 0, &all).ok());
  BackfillRecord got;
  ASSERT_TRUE(ledger_->GetBackfill(b4, &got).ok());
  EXPECT_EQ(all.front(), got);
}

TEST_F(BackfillTest, BackfillOutcomesPicksTheLatestRunPerPair) {
  int64_t bf = Create(SampleBackfill("a"));
  int64_t other_bf = Create(SampleBackfill("a"));
  Run("a", "2024-03-01", RunStatus::kAbandoned, bf);
  int64_t a1 = Run("a", "2024-03-01", RunStatus::kSucceeded, bf);
  Run("a", "2024-03-02", RunStatus::kSucceeded, bf);
  int64_t a2 = Run("a", "2024-03-02", RunStatus::kFailed, bf);
  int64_t b1 = Run("b", "2024-03-01", RunStatus::kRunning, bf);
  Run("a", "2024-03-03", RunStatus::kSucceeded, other_bf);            // another backfill
  Run("a", "2024-03-01", RunStatus::kFailed, std::nullopt, Trigger::kManual);  // no backfill
  int64_t a3 = Run("a", "2024-03-03", RunStatus::kQueued, bf);

  std::vector<PartitionOutcome> out;
  ASSERT_TRUE(ledger_->BackfillOutcomes(bf, &out).ok());
  EXPECT_EQ(out, (std::vector<PartitionOutcome>{
                     {"a", "2024-03-01", RunStatus::kSucceeded, a1},
                     {"a", "2024-03-02", RunStatus::kFailed, a2},
                     {"a", "2024-03-03", RunStatus::kQueued, a3},
                     {"b", "2024-03-01", RunStatus::kRunning, b1},
                 }));

  ASSERT_TRUE(ledger_->BackfillOutcomes(other_bf, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].partition, "2024-03-03");
  ASSERT_TRUE(ledger_->BackfillOutcomes(99, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(BackfillTest, LatestFinishedIgnoresRunsInFlightOtherProcessorsAndDates) {
  Run("p", "2024-03-01", RunStatus::kFailed, std::nullopt, Trigger::kSchedule);
  int64_t d1 = Run("p", "2024-03-01", RunStatus::kSucceeded, 4, Trigger::kBackfill);
  int64_t d2 = Run("p", "2024-03-02", RunStatus::kSucceeded, std::nullopt, Trigger::kManual);
  Run("p", "2024-03-02", RunStatus::kRunning);  // later, but not finished
  Run("p", "2024-03-03", RunStatus::kQueued);   // nothing finished that day
  int64_t d4 = Run("p", "2024-03-04", RunStatus::kTimedOut, std::nullopt, Trigger::kRetry);
  Run("p", "2024-03-05", RunStatus::kSucceeded);
  int64_t d5 = Run("p", "2024-03-05", RunStatus::kAbandoned);
  int64_t d6 = Run("p", "2024-03-06", RunStatus::kCancelled, std::nullopt, Trigger::kCatchup);
  Run("p", "2024-02-29", RunStatus::kFailed);   // before the range
  Run("p", "2024-03-07", RunStatus::kFailed);   // after it
  Run("q", "2024-03-03", RunStatus::kFailed);   // another processor
  Run("pp", "2024-03-03", RunStatus::kFailed);  // a name with p as prefix

  std::vector<PartitionOutcome> out;
  ASSERT_TRUE(ledger_->LatestFinished("p", "2024-03-01", "2024-03-06", &out).ok());
  EXPECT_EQ(out, (std::vector<PartitionOutcome>{
                     {"p", "2024-03-01", RunStatus::kSucceeded, d1},
                     {"p", "2024-03-02", RunStatus::kSucceeded, d2},
                     {"p", "2024-03-04", RunStatus::kTimedOut, d4},
                     {"p", "2024-03-05", RunStatus::kAbandoned, d5},
                     {"p", "2024-03-06", RunStatus::kCancelled, d6},
                 }));

  ASSERT_TRUE(ledger_->LatestFinished("p", "2024-03-04", "2024-03-04", &out).ok());
  EXPECT_EQ(out, (std::vector<PartitionOutcome>{{"p", "2024-03-04", RunStatus::kTimedOut, d4}}));
  ASSERT_TRUE(ledger_->LatestFinished("nobody", "2024-01-01", "2024-12-31", &out).ok());
  EXPECT_TRUE(out.empty());

  Status s = ledger_->LatestFinished("p", "2024-3-01", "2024-03-06", &out);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("start date \"2024-3-01\" is not a YYYY-MM-DD date"));
  s = ledger_->LatestFinished("p", "2024-03-01", "", &out);
  EXPECT_EQ(s.message(), Err("end date \"\" is not a YYYY-MM-DD date"));
  s = ledger_->LatestFinished("p", "2024-03-06", "2024-03-01", &out);
  EXPECT_EQ(s.message(), Err("start date 2024-03-06 is after end date 2024-03-01"));
}

TEST_F(BackfillTest, RunLogRoundTripsAndPagesWithAfterSeq) {
  int64_t run = Run("p", "2024-03-01", RunStatus::kSucceeded);
  int64_t other = Run("p", "2024-03-02", RunStatus::kSucceeded);
  std::vector<LogLineRecord> lines = {
      {1, 100, "debug", "configure: 3 options"},
      {2, 150, "info", "extract: 12 rows"},
      {3, 151, "warn", "validate: 1 row without \"id\", skipped"},
      {4, 200, "error", "save: retrying once\nafter ENOSPC"},
  };
  ASSERT_TRUE(ledger_->AppendRunLog(run, lines).ok());
  ASSERT_TRUE(ledger_->AppendRunLog(other, Lines(2)).ok());

  std::vector<LogLineRecord> got;
  ASSERT_TRUE(ledger_->GetRunLog(run, 0, &got).ok());
  EXPECT_EQ(got, lines);
  ASSERT_TRUE(ledger_->GetRunLog(run, 2, &got).ok());
  EXPECT_EQ(got, (std::vector<LogLineRecord>{lines[2], lines[3]}));
  ASSERT_TRUE(ledger_->GetRunLog(run, 4, &got).ok());
  EXPECT_TRUE(got.empty());
  ASSERT_TRUE(ledger_->GetRunLog(other, 0, &got).ok());
  EXPECT_EQ(got, Lines(2));
  ASSERT_TRUE(ledger_->GetRunLog(999, 0, &got).ok());
  EXPECT_TRUE(got.empty());

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT group_concat(level, ',') FROM run_log WHERE run_id = " + std::to_string(run)),
            "debug,info,warn,error");
}

TEST_F(BackfillTest, AppendRunLogRefusals) {
  int64_t run = Run("p", "2024-03-01", RunStatus::kRunning);
  Status s = ledger_->AppendRunLog(42, Lines(3));
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), Err("run 42 not found"));

  std::vector<LogLineRecord> bad = Lines(3);
  bad[1].level = "trace";
  s = ledger_->AppendRunLog(run, bad);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("run 1 log line 2 has unknown level \"trace\""));
  bad = Lines(3);
  bad[2].seq = 2;
  s = ledger_->AppendRunLog(run, bad);
  EXPECT_EQ(s.message(), Err("run 1 log seq 2 does not follow seq 2"));
  bad = Lines(3);
  bad[0].seq = 0;
  s = ledger_->AppendRunLog(run, bad);
  EXPECT_EQ(s.message(), Err("run 1 log seq 0 is not positive"));

  EXPECT_TRUE(ledger_->AppendRunLog(run, {}).ok());  // nothing to store
  ASSERT_TRUE(ledger_->AppendRunLog(run, Lines(3)).ok());
  s = ledger_->AppendRunLog(run, Lines(3));
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("run 1 already has a log"));
  std::vector<LogLineRecord> got;
  ASSERT_TRUE(ledger_->GetRunLog(run, 0, &got).ok());
  EXPECT_EQ(got, Lines(3));
}

TEST_F(BackfillTest, RunLogKeepsAtMostAThousandLines) {
  int64_t exact = Run("p", "2024-03-01", RunStatus::kSucceeded);
  int64_t over = Run("p", "2024-03-02", RunStatus::kSucceeded);
  int64_t just_over = Run("p", "2024-03-03", RunStatus::kSucceeded);
  ASSERT_TRUE(ledger_->AppendRunLog(exact, Lines(1000)).ok());
  ASSERT_TRUE(ledger_->AppendRunLog(over, Lines(2500)).ok());
  ASSERT_TRUE(ledger_->AppendRunLog(just_over, Lines(1001)).ok());

  std::vector<LogLineRecord> got;
  ASSERT_TRUE(ledger_->GetRunLog(exact, 0, &got).ok());
  EXPECT_EQ(got, Lines(1000));  // at the cap: stored whole, no marker

  ASSERT_TRUE(ledger_->GetRunLog(over, 0, &got).ok());
  ASSERT_EQ(got.size(), kMaxRunLogLines);
  std::vector<LogLineRecord> want = Lines(999);
  want.push_back({1000, 1000 + 2500, "warn", "(1501 more lines dropped)"});
  EXPECT_EQ(got, want);
  ASSERT_TRUE(ledger_->GetRunLog(over, 998, &got).ok());
  EXPECT_EQ(got, (std::vector<LogLineRecord>{want[998], want[999]}));

  ASSERT_TRUE(ledger_->GetRunLog(just_over, 999, &got).ok());
  EXPECT_EQ(got, (std::vector<LogLineRecord>{{1000, 1000 + 1001, "warn", "(2 more lines dropped)"}}));

  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM run_log"), "3000");
}

// A log is stored whole or not at all, even when the file refuses a line
// halfway (here a trigger stands in for a constraint), and the failure is
// that append's alone.
TEST_F(BackfillTest, AppendRunLogIsAllOrNothing) {
  int64_t run = Run("p", "2024-03-01", RunStatus::kSucceeded);
  {
    RawDb raw(path_);
    raw.Exec("CREATE TRIGGER refuse_boom BEFORE INSERT ON run_log WHEN NEW.message = 'boom' "
             "BEGIN SELECT RAISE(ABORT, 'boom refused'); END");
  }
  std::vector<LogLineRecord> lines = Lines(5);
  lines[3].message = "boom";
  Status s = ledger_->AppendRunLog(run, lines);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Err("boom refused"));
  std::vector<LogLineRecord> got;
  ASSERT_TRUE(ledger_->GetRunLog(run, 0, &got).ok());
  EXPECT_TRUE(got.empty());

  ASSERT_TRUE(ledger_->AppendRunLog(run, Lines(5)).ok());
  ASSERT_TRUE(ledger_->GetRunLog(run, 0, &got).ok());
  EXPECT_EQ(got, Lines(5));
  EXPECT_EQ(Create(SampleBackfill()), 1);
}

// The new writes share group-committed batches with run writes.
TEST_F(BackfillTest, ConcurrentWritesOfEveryKind) {
  constexpr int kThreads = 6, kEach = 20;
  std::vector<std::vector<int64_t>> backfill_ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        BackfillRecord b = SampleBackfill("p" + std::to_string(t), i);
        ASSERT_TRUE(ledger_->CreateBackfill(&b).ok());
        backfill_ids[t].push_back(b.id);
        RunRecord r = SampleRun(b.processor);
        r.backfill_id = b.id;
        ASSERT_TRUE(ledger_->BeginRun(&r).ok());
        ASSERT_TRUE(ledger_->AppendRunLog(r.id, Lines(10)).ok());
        ASSERT_TRUE(ledger_->FinishBackfill(b.id, BackfillState::kSucceeded, i + 1).ok());
        std::vector<PartitionOutcome> out;
        ASSERT_TRUE(ledger_->BackfillOutcomes(b.id, &out).ok());
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].run_id, r.id);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<int64_t> unique;
  for (const auto& ids : backfill_ids) unique.insert(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(ListIds(BackfillState::kSucceeded, 0).size(), static_cast<size_t>(kThreads * kEach));
  RawDb raw(path_);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM run_log"), std::to_string(kThreads * kEach * 10));
}

TEST(BackfillLedgerTest, WorksWithoutGroupCommitAndRefusesWhenClosed) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  LedgerOptions options;
  options.group_commit = false;
  auto ledger = OpenOrDie(path, options);
  BackfillRecord b = SampleBackfill();
  ASSERT_TRUE(ledger->CreateBackfill(&b).ok());
  EXPECT_EQ(b.id, 1);
  ASSERT_TRUE(ledger->FinishBackfill(1, BackfillState::kSucceeded, 5).ok());
  RunRecord r = SampleRun();
  ASSERT_TRUE(ledger->BeginRun(&r).ok());
  ASSERT_TRUE(ledger->AppendRunLog(r.id, Lines(1001)).ok());

  ledger->Close();
  const std::string closed = "ledger " + path + ": ledger is closed";
  BackfillRecord again = SampleBackfill();
  EXPECT_EQ(ledger->CreateBackfill(&again).message(), closed);
  EXPECT_EQ(again.id, 0);
  EXPECT_EQ(ledger->FinishBackfill(1, BackfillState::kFailed, 6).message(), closed);
  EXPECT_EQ(ledger->AppendRunLog(1, Lines(1)).message(), closed);
  BackfillRecord got;
  EXPECT_EQ(ledger->GetBackfill(1, &got).message(), closed);
  std::vector<BackfillRecord> list;
  EXPECT_EQ(ledger->ListBackfills(std::nullopt, 0, &list).message(), closed);
  std::vector<PartitionOutcome> outcomes;
  EXPECT_EQ(ledger->BackfillOutcomes(1, &outcomes).message(), closed);
  EXPECT_EQ(ledger->LatestFinished("orders", "2024-03-01", "2024-03-02", &outcomes).message(), closed);
  std::vector<LogLineRecord> lines;
  EXPECT_EQ(ledger->GetRunLog(1, 0, &lines).message(), closed);

  ledger = OpenOrDie(path);
  ASSERT_TRUE(ledger->GetBackfill(1, &got).ok());
  EXPECT_EQ(got.state, BackfillState::kSucceeded);
  ASSERT_TRUE(ledger->GetRunLog(r.id, 0, &lines).ok());
  EXPECT_EQ(lines.size(), kMaxRunLogLines);
}

// The runs table exactly as version 1 shipped it, written here rather than
// taken from LedgerMigrations() so that an edit to the shipped migration
// (which must never happen) shows up as a failing test.
constexpr const char kShippedSchemaV1[] = R"sql(
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  processor       TEXT    NOT NULL,
  plugin_name     TEXT    NOT NULL,
  plugin_version  TEXT    NOT NULL,
  plugin_hash     TEXT    NOT NULL,
  partition       TEXT    CHECK (partition IS NULL OR partition GLOB
                                 '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
  trigger         TEXT    NOT NULL CHECK (trigger IN
                    ('schedule', 'manual', 'backfill', 'retry', 'catchup')),
  scheduled_ms    INTEGER,
  start_ms        INTEGER NOT NULL,
  end_ms          INTEGER,
  configure_ms    REAL,
  init_ms         REAL,
  extract_ms      REAL,
  validate_ms     REAL,
  transform_ms    REAL,
  save_ms         REAL,
  post_process_ms REAL,
  status          TEXT    NOT NULL CHECK (status IN ('queued', 'running',
                    'succeeded', 'failed', 'timed_out', 'cancelled', 'abandoned')),
  attempt         INTEGER NOT NULL DEFAULT 1,
  records         INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  backfill_id     INTEGER
);
-- Listing newest first, overall and per processor.
CREATE INDEX runs_by_start ON runs (start_ms);
CREATE INDEX runs_by_processor ON runs (processor, start_ms);
-- Dependency checks: did processor P succeed for partition D?
CREATE INDEX runs_by_partition ON runs (processor, partition, status);
-- Runs in flight are few; a partial index keeps MarkAbandoned at daemon
-- start cheap however long the history grows.
CREATE INDEX runs_in_flight ON runs (status) WHERE status IN ('queued', 'running');
)sql";

TEST(BackfillMigrationTest, ShippedVersionOneIsUnchanged) {
  ASSERT_GE(LedgerMigrations().size(), 2u);
  EXPECT_EQ(LedgerMigrations()[0].version, 1);
  EXPECT_STREQ(LedgerMigrations()[0].sql, kShippedSchemaV1);
}

TEST(BackfillMigrationTest, MigratesVersionOneLedgerInPlace) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  // A ledger as a v1 kilnd left it: WAL, version 1, runs in every state,
  // one still running when it died, some from an old backfill.
  {
    const Migration v1[] = {{1, kShippedSchemaV1}};
    Db db;
    ASSERT_TRUE(db.Open(path, true, 1000).ok());
    std::string mode;
    ASSERT_TRUE(db.QueryText("PRAGMA journal_mode = WAL", &mode).ok());
    ASSERT_TRUE(MigrateSchema(&db, v1).ok());
    ASSERT_TRUE(db.Exec(
        "INSERT INTO runs (processor, plugin_name, plugin_version, plugin_hash, partition, trigger, "
        "scheduled_ms, start_ms, end_ms, save_ms, status, attempt, records, error, backfill_id) VALUES "
        "('orders', 'csv', '1.0', 'h', '2024-03-01', 'schedule', 95, 100, 110, 2.5, 'succeeded', 1, 7, NULL, NULL),"
        "('orders', 'csv', '1.0', 'h', '2024-03-02', 'backfill', NULL, 200, 210, NULL, 'failed', 2, 0, 'boom', 17),"
        "('orders', 'csv', '1.0', 'h', '2024-03-02', 'backfill', NULL, 300, 310, NULL, 'succeeded', 1, 3, NULL, 17),"
        "('orders', 'csv', '1.0', 'h', NULL, 'manual', NULL, 400, NULL, NULL, 'running', 1, 0, NULL, NULL)")
                    .ok());
  }
  {
    RawDb raw(path);
    EXPECT_EQ(raw.Query("PRAGMA user_version"), "1");
    EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_master WHERE name IN ('backfills', 'run_log')"), "0");
  }
  std::vector<RunRecord> before_runs;
  {
    auto ledger = OpenOrDie(path);
    ASSERT_NE(ledger, nullptr);
    RunFilter all;
    all.limit = 0;
    ASSERT_TRUE(ledger->ListRuns(all, &before_runs).ok());
    ASSERT_EQ(before_runs.size(), 4u);
    RunRecord got;
    ASSERT_TRUE(ledger->GetRun(1, &got).ok());
    EXPECT_EQ(got.partition, "2024-03-01");
    EXPECT_EQ(got.phase(Phase::kSave), 2.5);
    EXPECT_EQ(got.records, 7);
    ASSERT_TRUE(ledger->GetRun(2, &got).ok());
    EXPECT_EQ(got.status, RunStatus::kFailed);
    EXPECT_EQ(got.error, "boom");
    EXPECT_EQ(got.attempt, 2);
    EXPECT_EQ(got.backfill_id, 17);

    // The new index covers the runs already there.
    std::vector<PartitionOutcome> out;
    ASSERT_TRUE(ledger->BackfillOutcomes(17, &out).ok());
    EXPECT_EQ(out, (std::vector<PartitionOutcome>{{"orders", "2024-03-02", RunStatus::kSucceeded, 3}}));
    ASSERT_TRUE(ledger->LatestFinished("orders", "2024-03-01", "2024-03-31", &out).ok());
    EXPECT_EQ(out.size(), 2u);

    // MarkAbandoned behaves as before on migrated runs.
    std::vector<RunRecord> abandoned;
    ASSERT_TRUE(ledger->MarkAbandoned(1000, &abandoned).ok());
    ASSERT_EQ(abandoned.size(), 1u);
    EXPECT_EQ(abandoned[0].id, 4);
    EXPECT_EQ(abandoned[0].status, RunStatus::kAbandoned);

    // New ids continue after the old ones; the new tables work.
    RunRecord run = SampleRun();
    ASSERT_TRUE(ledger->BeginRun(&run).ok());
    EXPECT_EQ(run.id, 5);
    BackfillRecord b = SampleBackfill();
    ASSERT_TRUE(ledger->CreateBackfill(&b).ok());
    EXPECT_EQ(b.id, 1);
    ASSERT_TRUE(ledger->AppendRunLog(1, Lines(2)).ok());
    EXPECT_TRUE(ledger->CheckIntegrity().ok());
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.Query("SELECT count(*) FROM runs"), "5");
  EXPECT_EQ(raw.Query("SELECT count(*) FROM sqlite_master WHERE name IN ('backfills', 'run_log', "
                      "'runs_by_backfill')"),
            "3");
  EXPECT_EQ(raw.Query("SELECT group_concat(id || status, ',') FROM (SELECT id, status FROM runs ORDER BY id)"),
            "1succeeded,2failed,3succeeded,4abandoned,5running");
}

TEST(BackfillMigrationTest, RefusesVersionThreeLedger) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  OpenOrDie(path);
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = 3");
  }
  std::unique_ptr<Ledger> ledger;
  Status s = Ledger::Open(path, LedgerOptions(), &ledger);
  EXPECT_EQ(s.code(), Status::Code::kRefused);
  EXPECT_EQ(s.message(), "ledger " + path + ": schema version 3 is newer than this kilnd supports (2)");
  EXPECT_EQ(ledger, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), "3");
}

// The CHECK constraints stand behind the validation, for writers other than
// the ledger (kilnctl, the sqlite3 shell).
TEST(BackfillMigrationTest, SchemaRefusesWhatTheLedgerWould) {
  TempDir dir;
  std::string path = dir.File("ledger.db");
  OpenOrDie(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto ok = [&](const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK; };
  const std::string insert =
      "INSERT INTO backfills (processor, processors, start_date, end_date, parallel, cascade, reprocess, state, "
      "created_ms, finished_ms) VALUES ";
  EXPECT_TRUE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 0, 'none', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-3-01', '2024-03-02', 1, 0, 'none', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-03', '2024-03-02', 1, 0, 'none', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 0, 0, 'none', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 2, 'none', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 0, 'some', 'running', 1, NULL)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 0, 'none', 'done', 1, 2)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 0, 'none', 'running', 1, 2)"));
  EXPECT_FALSE(ok(insert + "('a', 'a', '2024-03-01', '2024-03-02', 1, 0, 'none', 'failed', 1, NULL)"));
  EXPECT_TRUE(ok("INSERT INTO run_log VALUES (1, 1, 5, 'info', 'x')"));
  EXPECT_FALSE(ok("INSERT INTO run_log VALUES (1, 1, 5, 'info', 'again')"));
  EXPECT_FALSE(ok("INSERT INTO run_log VALUES (1, 2, 5, 'trace', 'x')"));
  EXPECT_FALSE(ok("INSERT INTO run_log VALUES (1, 0, 5, 'info', 'x')"));
  sqlite3_close(db);
}

}  // namespace
}  // namespace kiln

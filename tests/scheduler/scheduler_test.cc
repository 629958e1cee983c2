// The scheduler, driven by hand-set times: no test sleeps.
#include <filesystem>

#include <gtest/gtest.h>

#include "host/scheduler/scheduler.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;

SysMillis At(const char* iso_utc) {
  SysSeconds t;
  EXPECT_TRUE(ParseTime(iso_utc, nullptr, &t).ok()) << iso_utc;
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

Day D(const char* day) {
  Day d;
  EXPECT_TRUE(ParseDay(day, &d).ok());
  return d;
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-sched-XXXXXX";
    dir_ = mkdtemp(tmpl);
    ASSERT_TRUE(Ledger::Open(dir_ + "/ledger.db", LedgerOptions(), &ledger_).ok());
  }
  void TearDown() override {
    ledger_.reset();
    std::filesystem::remove_all(dir_);
  }

  ProcessorConfig& Add(const std::string& name) {
    ProcessorConfig p;
    p.name = name;
    p.plugin = "test";
    EXPECT_TRUE(FindTimeZone("UTC", &p.zone).ok());
    config_.processors.push_back(p);
    return config_.processors.back();
  }
  static void Cron(ProcessorConfig& p, const char* expr, const char* tz = "UTC") {
    CronSchedule c;
    ASSERT_TRUE(CronSchedule::Parse(expr, &c).ok());
    p.schedule = c;
    ASSERT_TRUE(FindTimeZone(tz, &p.zone).ok());
  }
  // Records a finished run in the ledger, as the runner would.
  void Record(const std::string& processor, Trigger trigger, std::optional<SysMillis> scheduled,
              RunStatus status, std::optional<std::string> partition = std::nullopt) {
    RunRecord r;
    r.processor = processor;
    r.plugin_name = "test";
    r.plugin_version = "1.0.0";
    r.trigger = trigger;
    if (scheduled) r.scheduled_ms = ToUnixMillis(*scheduled);
    r.start_ms = 1;
    r.end_ms = 2;
    r.status = status;
    r.partition = partition;
    ASSERT_TRUE(ledger_->BeginRun(&r).ok());
  }

  std::string dir_;
  std::unique_ptr<Ledger> ledger_;
  Config config_;
};

TEST_F(SchedulerTest, EveryIsAlignedToTheEpochAndFiresOncePerSlot) {
  Add("p").every = 15min;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:07:00Z"));
  EXPECT_EQ(s.NextWakeup(), At("2025-01-20T10:15:00Z"));
  Actions a;
  s.Tick(At("2025-01-20T10:14:59Z"), &a);
  EXPECT_TRUE(a.start.empty());
  s.Tick(At("2025-01-20T10:15:00Z"), &a);
  ASSERT_EQ(a.start.size(), 1u);
  EXPECT_EQ(a.start[0].trigger, Trigger::kSchedule);
  EXPECT_EQ(a.start[0].scheduled, At("2025-01-20T10:15:00Z"));
  EXPECT_FALSE(a.start[0].partition.has_value());
  EXPECT_EQ(s.NextWakeup(), At("2025-01-20T10:30:00Z"));
  EXPECT_EQ(s.InFlight("p"), 1);
}

TEST_F(SchedulerTest, CronPartitionIsTheLocalDate) {
  ProcessorConfig& p = Add("cache");
  Cron(p, "30 23 * * *", "America/New_York");
  p.partitioned = true;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T12:00:00Z"));
  // 23:30 in New York on the 20th is 04:30 UTC on the 21st.
  EXPECT_EQ(s.NextWakeup(), At("2025-01-21T04:30:00Z"));
  Actions a;
  s.Tick(At("2025-01-21T04:30:00Z"), &a);
  ASSERT_EQ(a.start.size(), 1u);
  EXPECT_EQ(a.start[0].partition, D("2025-01-20"));
}

TEST_F(SchedulerTest, ALateWakeupFiresTheLatestSlotOnly) {
  Add("p").every = 1min;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:30Z"));
  Actions a;
  s.Tick(At("2025-01-20T10:05:10Z"), &a);
  ASSERT_EQ(a.start.size(), 1u);
  EXPECT_EQ(a.start[0].scheduled, At("2025-01-20T10:05:00Z"));
  ASSERT_EQ(a.log.size(), 1u);
  EXPECT_EQ(a.log[0], "'p': woke late, skipped 4 slot(s)");
  EXPECT_EQ(s.NextWakeup(), At("2025-01-20T10:06:00Z"));
}

TEST_F(SchedulerTest, ForbidSkipsASlotButQueuesAManualRun) {
  Add("p").every = 1min;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:30Z"));
  Actions a;
  s.Tick(At("2025-01-20T10:01:00Z"), &a);
  ASSERT_EQ(a.start.size(), 1u);
  const RunIntent first = a.start[0];
  Actions b;
  s.Tick(At("2025-01-20T10:02:00Z"), &b);
  EXPECT_TRUE(b.start.empty());
  EXPECT_EQ(b.log, std::vector<std::string>{
                       "schedule run of 'p' skipped: the previous run is still running (concurrency = forbid)"});
  RunIntent manual;
  manual.processor = "p";
  manual.trigger = Trigger::kManual;
  Actions c;
  ASSERT_TRUE(s.Submit(manual, &c).ok());
  EXPECT_TRUE(c.start.empty());
  Actions d;
  s.Finished(first, RunStatus::kSucceeded, At("2025-01-20T10:02:20Z"), &d);
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(d.start[0].trigger, Trigger::kManual);
}

TEST_F(SchedulerTest, AllowRunsSideBySideAndReplaceCancels) {
  ProcessorConfig& a1 = Add("allow");
  a1.every = 1min;
  a1.concurrency = Concurrency::kAllow;
  ProcessorConfig& r1 = Add("replace");
  r1.every = 1min;
  r1.concurrency = Concurrency::kReplace;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:30Z"));
  Actions a;
  s.Tick(At("2025-01-20T10:01:00Z"), &a);
  ASSERT_EQ(a.start.size(), 2u);
  Actions b;
  s.Tick(At("2025-01-20T10:02:00Z"), &b);
  ASSERT_EQ(b.start.size(), 1u);
  EXPECT_EQ(b.start[0].processor, "allow");
  EXPECT_EQ(s.InFlight("allow"), 2);
  EXPECT_EQ(b.cancel, std::vector<std::string>{"replace"});
  // The replacement starts as soon as the cancelled run reports.
  RunIntent old = a.start[0].processor == "replace" ? a.start[0] : a.start[1];
  Actions c;
  s.Finished(old, RunStatus::kCancelled, At("2025-01-20T10:02:01Z"), &c);
  ASSERT_EQ(c.start.size(), 1u);
  EXPECT_EQ(c.start[0].scheduled, At("2025-01-20T10:02:00Z"));
}

TEST_F(SchedulerTest, ADownstreamRunWaitsForItsUpstreamForTheSameDate) {
  ProcessorConfig& up = Add("cache");
  up.partitioned = true;
  ProcessorConfig& down = Add("features");
  down.partitioned = true;
  down.depends_on = {"cache"};
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-21T00:00:00Z"));
  RunIntent f;
  f.processor = "features";
  f.trigger = Trigger::kManual;
  f.partition = D("2025-01-20");
  Actions a;
  ASSERT_TRUE(s.Submit(f, &a).ok());
  EXPECT_TRUE(a.start.empty());
  EXPECT_EQ(a.log, std::vector<std::string>{"manual run of 'features' for 2025-01-20 waits for cache to succeed for 2025-01-20"});
  EXPECT_EQ(s.Waiting(), 1u);

  // The upstream succeeds for another date: still waiting.
  RunIntent c = f;
  c.processor = "cache";
  c.partition = D("2025-01-19");
  Record("cache", Trigger::kManual, std::nullopt, RunStatus::kSucceeded, "2025-01-19");
  Actions b;
  s.Finished(c, RunStatus::kSucceeded, At("2025-01-21T00:01:00Z"), &b);
  EXPECT_TRUE(b.start.empty());

  // The upstream fails for the date: still waiting.
  c.partition = D("2025-01-20");
  Record("cache", Trigger::kManual, std::nullopt, RunStatus::kFailed, "2025-01-20");
  s.Finished(c, RunStatus::kFailed, At("2025-01-21T00:02:00Z"), &b);
  EXPECT_TRUE(b.start.empty());

  Record("cache", Trigger::kManual, std::nullopt, RunStatus::kSucceeded, "2025-01-20");
  Actions d;
  s.Finished(c, RunStatus::kSucceeded, At("2025-01-21T00:03:00Z"), &d);
  ASSERT_EQ(d.start.size(), 1u);
  EXPECT_EQ(d.start[0].processor, "features");
  EXPECT_EQ(d.start[0].partition, D("2025-01-20"));
  EXPECT_EQ(s.Waiting(), 0u);

  // Now that the upstream has succeeded, a new request starts at once.
  Actions e;
  ASSERT_TRUE(s.Submit(f, &e).ok());
  EXPECT_EQ(e.start.size(), 0u);  // forbid: the released run is still in flight
  s.Finished(d.start[0], RunStatus::kSucceeded, At("2025-01-21T00:05:00Z"), &e);
  EXPECT_EQ(e.start.size(), 1u);
}

TEST_F(SchedulerTest, RetriesBackOffExponentiallyWithJitterThenStop) {
  ProcessorConfig& p = Add("p");
  p.retries = 3;
  p.retry_backoff = 10s;
  Scheduler s(ledger_.get(), 42);
  const SysMillis t0 = At("2025-01-20T10:00:00Z");
  s.Configure(config_, t0);
  RunIntent i;
  i.processor = "p";
  i.trigger = Trigger::kManual;
  Actions a;
  ASSERT_TRUE(s.Submit(i, &a).ok());
  RunIntent run = a.start.at(0);
  SysMillis now = t0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Actions f;
    s.Finished(run, RunStatus::kFailed, now, &f);
    ASSERT_TRUE(s.NextWakeup().has_value());
    const auto delay = *s.NextWakeup() - now;
    const auto base = std::chrono::milliseconds(10s) * (1 << (attempt - 1));
    EXPECT_GE(delay, base / 2) << attempt;
    EXPECT_LE(delay, base) << attempt;
    now = *s.NextWakeup();
    Actions t;
    s.Tick(now, &t);
    ASSERT_EQ(t.start.size(), 1u);
    EXPECT_EQ(t.start[0].trigger, Trigger::kRetry);
    EXPECT_EQ(t.start[0].attempt, attempt + 1);
    run = t.start[0];
  }
  Actions last;
  s.Finished(run, RunStatus::kTimedOut, now, &last);
  EXPECT_FALSE(s.NextWakeup().has_value());  // retries exhausted
  Actions ok;
  s.Finished(run, RunStatus::kCancelled, now, &ok);
  EXPECT_FALSE(s.NextWakeup().has_value());  // a cancelled run is not retried
}

TEST_F(SchedulerTest, CatchupAfterDowntime) {
  for (auto [name, mode] : {std::pair{"none", Catchup::kNone}, {"latest", Catchup::kLatest}, {"all", Catchup::kAll},
                            {"capped", Catchup::kAll}, {"fresh", Catchup::kAll}}) {
    ProcessorConfig& p = Add(name);
    Cron(p, "0 * * * *");
    p.catchup = mode;
    p.partitioned = true;
    p.concurrency = Concurrency::kAllow;
    if (std::string(name) == "capped") p.catchup_cap = 2;
  }
  for (const char* name : {"none", "latest", "all", "capped"}) {
    Record(name, Trigger::kSchedule, At("2025-01-20T05:00:00Z"), RunStatus::kSucceeded, "2025-01-20");
  }
  // Down from after 05:00 until 09:30: slots 06:00, 07:00, 08:00, 09:00 missed.
  Scheduler s(ledger_.get(), 1);
  const SysMillis now = At("2025-01-20T09:30:00Z");
  s.Configure(config_, now);
  Actions a;
  s.Recover(now, {}, &a);
  std::map<std::string, std::vector<SysMillis>> got;
  for (const RunIntent& i : a.start) {
    EXPECT_EQ(i.trigger, Trigger::kCatchup);
    EXPECT_EQ(i.partition, D("2025-01-20"));
    got[i.processor].push_back(*i.scheduled);
  }
  EXPECT_EQ(got.count("none"), 0u);
  EXPECT_EQ(got.count("fresh"), 0u);  // never ran: nothing to catch up
  EXPECT_EQ(got["latest"], std::vector<SysMillis>{At("2025-01-20T09:00:00Z")});
  EXPECT_EQ(got["all"], (std::vector<SysMillis>{At("2025-01-20T06:00:00Z"), At("2025-01-20T07:00:00Z"),
                                                 At("2025-01-20T08:00:00Z"), At("2025-01-20T09:00:00Z")}));
  EXPECT_EQ(got["capped"], (std::vector<SysMillis>{At("2025-01-20T08:00:00Z"), At("2025-01-20T09:00:00Z")}));
  EXPECT_EQ(s.NextFire("all"), At("2025-01-20T10:00:00Z"));
}

TEST_F(SchedulerTest, AbandonedRunsAreRetriedPerPolicy) {
  Add("retrying").retries = 2;
  Add("once");
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:00Z"));
  RunRecord r1;
  r1.id = 7;
  r1.processor = "retrying";
  r1.attempt = 1;
  r1.scheduled_ms = 5;
  RunRecord r2 = r1;
  r2.id = 8;
  r2.processor = "once";
  RunRecord r3 = r1;
  r3.id = 9;
  r3.attempt = 3;  // already the last attempt
  Actions a;
  s.Recover(At("2025-01-20T10:00:00Z"), {r1, r2, r3}, &a);
  ASSERT_EQ(a.start.size(), 1u);
  EXPECT_EQ(a.start[0].processor, "retrying");
  EXPECT_EQ(a.start[0].trigger, Trigger::kRetry);
  EXPECT_EQ(a.start[0].attempt, 2);
  EXPECT_EQ(a.log, std::vector<std::string>{"retrying run 7 of 'retrying', abandoned when kilnd stopped"});
}

TEST_F(SchedulerTest, SubmitRefusesWhatCannotRun) {
  Add("plain");
  Add("daily").partitioned = true;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:00Z"));
  Actions a;
  RunIntent i;
  i.processor = "nope";
  EXPECT_EQ(s.Submit(i, &a).message(), "unknown processor 'nope'");
  i.processor = "daily";
  EXPECT_EQ(s.Submit(i, &a).message(),
            "processor 'daily' is partitioned by date: a date is required");
  i.processor = "plain";
  i.partition = D("2025-01-20");
  EXPECT_EQ(s.Submit(i, &a).message(),
            "processor 'plain' is not partitioned by date: it takes no date");
  EXPECT_TRUE(a.start.empty());
}

TEST_F(SchedulerTest, ReloadStopsRemovedProcessorsAndKeepsInFlightCounts) {
  Add("keep").every = 1min;
  Add("drop").every = 1min;
  Scheduler s(ledger_.get(), 1);
  s.Configure(config_, At("2025-01-20T10:00:30Z"));
  Actions a;
  s.Tick(At("2025-01-20T10:01:00Z"), &a);
  ASSERT_EQ(a.start.size(), 2u);
  config_.processors.pop_back();
  s.Configure(config_, At("2025-01-20T10:01:10Z"));
  EXPECT_EQ(s.InFlight("keep"), 1);
  EXPECT_FALSE(s.NextFire("drop").has_value());
  Actions b;
  s.Tick(At("2025-01-20T10:02:00Z"), &b);
  EXPECT_TRUE(b.start.empty());  // keep: still in flight (forbid); drop: gone
}

}  // namespace
}  // namespace kiln

// kilnd as a process: schedules, signals, reloads, crashes and timeouts,
// checked through its exit codes, its log and its ledger.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/ledger/ledger.h"
#include "tests/support/daemon_process.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;
using testing::DaemonProcess;
using testing::RunCommand;
using testing::WaitFor;

class Kilnd : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-kilnd-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Config(const std::string& processors) {
    const std::string path = dir_ + "/kiln.toml";
    std::ofstream(path) << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\"]\nstate_dir = \"state\"\n"
                           "workers = 2\n\n"
                        << processors;
    return path;
  }
  std::unique_ptr<DaemonProcess> Start() {
    return std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", dir_ + "/kiln.toml"},
                                           dir_ + "/kilnd.log");
  }
  std::vector<RunRecord> Runs(const RunFilter& filter = RunFilter()) {
    std::vector<RunRecord> runs;
    if (!std::filesystem::exists(dir_ + "/state/ledger.db")) return runs;
    std::unique_ptr<Ledger> ledger;
    if (!Ledger::Open(dir_ + "/state/ledger.db", LedgerOptions(), &ledger).ok()) return runs;
    ledger->ListRuns(filter, &runs);
    return runs;
  }
  size_t Count(RunStatus status) {
    RunFilter f;
    f.status = status;
    return Runs(f).size();
  }

  std::string dir_;
};

TEST_F(Kilnd, CheckConfigReportsEveryErrorAndExitsOne) {
  const std::string path = Config(
      "[[processor]]\nname = \"a\"\nplugin = \"sleeper\"\nevery = \"1x\"\n\n"
      "[[processor]]\nname = \"b\"\nplugin = \"nosuch\"\n");
  auto r = RunCommand(std::string(KILND) + " --check-config --config " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, path + ":9:9: every: bad duration '1x': expected a number followed by ms, s, m, h or d\n" +
                       path + ":13:10: plugin 'nosuch' not found in plugin_dirs (" KILN_TEST_PLUGIN_DIR ")\n"
                       "kilnd: " + path + ": 2 error(s)\n");

  Config("[[processor]]\nname = \"a\"\nplugin = \"sleeper\"\nevery = \"1s\"\n");
  r = RunCommand(std::string(KILND) + " --check-config --config " + path);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "kilnd: " + path + ": ok, 1 processor(s)\n");

  r = RunCommand(std::string(KILND) + " --check-config --config " + dir_ + "/absent.toml");
  EXPECT_EQ(r.exit_code, 1);
  r = RunCommand(std::string(KILND) + " --frobnicate");
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(Kilnd, RunsOnScheduleAndStopsCleanlyOnSigterm) {
  Config("[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"1s\"\n");
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kSucceeded) >= 2; }, 10s)) << d->Log();
  d->Signal(SIGTERM);
  EXPECT_EQ(d->Wait(10s), 0) << d->Log();
  for (const RunRecord& r : Runs()) {
    EXPECT_EQ(r.trigger, Trigger::kSchedule);
    EXPECT_TRUE(r.partition.has_value());
    EXPECT_EQ(r.plugin_name, "sleeper");
    EXPECT_EQ(r.plugin_hash.size(), 64u);
    EXPECT_EQ(r.records, 1);
    EXPECT_TRUE(r.phase(Phase::kExtract).has_value());
  }
  EXPECT_NE(d->Log().find("kilnd stopped"), std::string::npos);
}

TEST_F(Kilnd, SigtermDrainsTheRunInFlight) {
  Config("[[processor]]\nname = \"slow\"\nplugin = \"sleeper\"\nevery = \"1s\"\noptions = { sleep_ms = 1500 }\n");
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kRunning) == 1; }, 10s)) << d->Log();
  d->Signal(SIGTERM);
  EXPECT_EQ(d->Wait(10s), 0) << d->Log();
  EXPECT_EQ(Count(RunStatus::kRunning), 0u);
  EXPECT_EQ(Count(RunStatus::kSucceeded), 1u);  // drained, not cancelled
  EXPECT_NE(d->Log().find("SIGTERM: stopping; 1 run(s) in flight"), std::string::npos);
}

TEST_F(Kilnd, SighupKeepsTheOldConfigWhenTheNewOneIsBad) {
  Config("[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"1s\"\n");
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kSucceeded) >= 1; }, 10s)) << d->Log();
  Config("[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"soon\"\n");
  d->Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return d->Log().find("keeping the running config") != std::string::npos; }, 5s));
  EXPECT_NE(d->Log().find("reload failed with 1 error(s): keeping the running config"), std::string::npos);
  const size_t before = Count(RunStatus::kSucceeded);
  EXPECT_TRUE(WaitFor([&] { return Count(RunStatus::kSucceeded) > before; }, 5s)) << "still scheduling";

  // A good config adds a processor without a restart.
  Config("[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"1s\"\n\n"
         "[[processor]]\nname = \"tock\"\nplugin = \"sleeper\"\nevery = \"1s\"\n");
  d->Signal(SIGHUP);
  RunFilter tock;
  tock.processor = "tock";
  EXPECT_TRUE(WaitFor([&] { return !Runs(tock).empty(); }, 5s)) << d->Log();
  EXPECT_TRUE(d->Running());
  d->Signal(SIGTERM);
  EXPECT_EQ(d->Wait(10s), 0);
}

TEST_F(Kilnd, RunsInFlightAtAKillAreAbandonedAndRetried) {
  Config("[[processor]]\nname = \"slow\"\nplugin = \"sleeper\"\nevery = \"1h\"\ncatchup = \"none\"\n"
         "retries = 1\nretry_backoff = \"1s\"\noptions = { sleep_ms = 400 }\n");
  // A kilnd died with this run in flight: plant it in the ledger exactly as
  // the dead daemon left it (status running, no end).
  {
    std::filesystem::create_directories(dir_ + "/state");
    std::unique_ptr<Ledger> ledger;
    ASSERT_TRUE(Ledger::Open(dir_ + "/state/ledger.db", LedgerOptions(), &ledger).ok());
    RunRecord r;
    r.processor = "slow";
    r.plugin_name = "sleeper";
    r.plugin_version = "1.0.0";
    r.partition = "2025-01-20";
    r.trigger = Trigger::kManual;
    r.start_ms = 1000;
    r.status = RunStatus::kRunning;
    ASSERT_TRUE(ledger->BeginRun(&r).ok());
  }
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kSucceeded) == 1; }, 10s)) << d->Log();
  d->Signal(SIGKILL);
  d->Wait(5s);
  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].status, RunStatus::kAbandoned);  // oldest last
  EXPECT_EQ(runs[0].trigger, Trigger::kRetry);
  EXPECT_EQ(runs[0].attempt, 2);
  EXPECT_EQ(runs[0].partition, "2025-01-20");
  EXPECT_NE(d->Log().find("run 1 of 'slow' was in flight when kilnd stopped: marked abandoned"), std::string::npos);
}

TEST_F(Kilnd, AKilledDaemonLeavesItsRunAbandonedForTheNextOne) {
  Config("[[processor]]\nname = \"slow\"\nplugin = \"sleeper\"\nevery = \"1s\"\noptions = { sleep_ms = 5000 }\n");
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kRunning) == 1; }, 10s)) << d->Log();
  d->Signal(SIGKILL);
  d->Wait(5s);
  EXPECT_EQ(Count(RunStatus::kRunning), 1u);  // as the dead daemon left it
  auto again = Start();
  EXPECT_TRUE(WaitFor([&] { return Count(RunStatus::kAbandoned) == 1; }, 10s)) << again->Log();
  again->Signal(SIGKILL);
}

TEST_F(Kilnd, TimeoutCancelsTheRunAndRecordsItTimedOut) {
  Config("[[processor]]\nname = \"slow\"\nplugin = \"sleeper\"\nevery = \"1s\"\ntimeout = \"300ms\"\n"
         "options = { sleep_ms = 10000 }\n");
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kTimedOut) >= 1; }, 10s)) << d->Log();
  RunFilter f;
  f.status = RunStatus::kTimedOut;
  const RunRecord r = Runs(f).back();
  EXPECT_EQ(r.error, "timed out after 300 ms");
  EXPECT_LT(*r.end_ms - r.start_ms, 2000);
  d->Signal(SIGTERM);
  EXPECT_EQ(d->Wait(10s), 0);
}

TEST_F(Kilnd, JsonLogsAreOneObjectPerLine) {
  const std::string path = dir_ + "/kiln.toml";
  std::ofstream(path) << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\"]\nstate_dir = \"state\"\n"
                         "log_format = \"json\"\n\n"
                         "[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"1s\"\n"
                         "options = { fail_on = \"2000-01-01\" }\n";
  auto d = Start();
  ASSERT_TRUE(WaitFor([&] { return Count(RunStatus::kSucceeded) >= 1; }, 10s)) << d->Log();
  d->Signal(SIGTERM);
  ASSERT_EQ(d->Wait(10s), 0);
  std::istringstream lines(d->Log());
  std::string line;
  size_t with_run = 0, total = 0;
  while (std::getline(lines, line)) {
    ++total;
    auto j = nlohmann::json::parse(line);  // throws, failing the test, on anything else
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    if (j.contains("run")) {
      ++with_run;
      EXPECT_EQ(j["processor"], "tick");
      EXPECT_EQ(j["plugin"], "sleeper");
      EXPECT_TRUE(j.contains("partition"));
    }
  }
  EXPECT_GE(total, 3u);
  EXPECT_GE(with_run, 1u);
}

TEST_F(Kilnd, AStateDirThatIsAFileIsOneClearError) {
  Config("");
  std::ofstream(dir_ + "/state") << "not a directory";
  auto d = Start();
  EXPECT_EQ(d->Wait(10s), 1);
  EXPECT_NE(d->Log().find("state_dir " + dir_ + "/state: cannot create: "), std::string::npos) << d->Log();
}

}  // namespace
}  // namespace kiln

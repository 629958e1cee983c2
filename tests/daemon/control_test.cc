// kilnd's control socket and backfills, through the socket itself.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "host/ledger/ledger.h"
#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::RawRequest;
using testing::Request;
using testing::WaitFor;

class Control : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-ctl-XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/state/run/kilnd.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Config(const std::string& processors) {
    std::ofstream(dir_ + "/kiln.toml") << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\", \"" KILN_GALLERY_DIR
                                          "\"]\nstate_dir = \"state\"\nworkers = 2\n\n"
                                       << processors;
  }
  std::unique_ptr<DaemonProcess> Start() {
    auto d = std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", dir_ + "/kiln.toml"},
                                             dir_ + "/kilnd.log");
    EXPECT_TRUE(WaitFor([&] { return !Request(socket_, "status").is_null() || !d->Running(); }, 10s)) << d->Log();
    return d;
  }
  json Call(const std::string& method, const json& params = json::object()) { return Request(socket_, method, params); }
  std::unique_ptr<Ledger> OpenLedger() {
    std::unique_ptr<Ledger> ledger;
    EXPECT_TRUE(Ledger::Open(dir_ + "/state/ledger.db", LedgerOptions(), &ledger).ok());
    return ledger;
  }

  std::string dir_, socket_;
};

const char* kPipeline =
    "[[processor]]\nname = \"cache\"\nplugin = \"sleeper\"\noptions = { sleep_ms = 30 }\n\n"
    "[[processor]]\nname = \"features\"\nplugin = \"sleeper\"\ndepends_on = [\"cache\"]\n"
    "options = { sleep_ms = 10 }\n\n"
    "[[processor]]\nname = \"plain\"\nplugin = \"throwing\"\n";

// A kilnd removes only the socket file it created: if another kilnd has
// since taken the path (the first one's socket was moved away), stopping the
// first leaves the second reachable.
TEST_F(Control, StoppingRemovesOnlyTheSocketItBound) {
  for (const char* name : {"a", "b"}) {
    std::filesystem::create_directories(dir_ + "/" + name);
    std::ofstream(dir_ + "/" + name + "/kiln.toml")
        << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\"]\nstate_dir = \"state\"\ncontrol_socket = \"" << dir_
        << "/kilnd.sock\"\n";
  }
  const std::string socket = dir_ + "/kilnd.sock";
  DaemonProcess a(KILND, {"--config", dir_ + "/a/kiln.toml"}, dir_ + "/a.log");
  ASSERT_TRUE(WaitFor([&] { return !Request(socket, "status").is_null(); }, 10s)) << a.Log();
  std::filesystem::rename(socket, dir_ + "/a.sock");
  DaemonProcess b(KILND, {"--config", dir_ + "/b/kiln.toml"}, dir_ + "/b.log");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(socket) && !Request(socket, "status").is_null(); }, 10s))
      << b.Log();
  a.Signal(SIGTERM);
  ASSERT_EQ(a.Wait(20s), 0) << a.Log();
  EXPECT_FALSE(Request(socket, "status").is_null()) << "the first kilnd removed the second one's socket";
  b.Signal(SIGTERM);
  ASSERT_EQ(b.Wait(20s), 0) << b.Log();
  EXPECT_FALSE(std::filesystem::exists(socket)) << "the second kilnd left its socket behind";
}

TEST_F(Control, SocketIsPrivateAndBadRequestsGetErrorReplies) {
  Config(kPipeline);
  auto d = Start();
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/state/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  auto error = [&](const std::string& raw) {
    json j = json::parse(RawRequest(socket_, raw), nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() + ": " +
                                                      j["error"]["message"].get<std::string>()
                                                : j.dump();
  };
  EXPECT_EQ(error("hello"), "malformed: request is not valid JSON");
  EXPECT_EQ(error("[1,2]"), "malformed: request must be a JSON object");
  EXPECT_EQ(error(R"({"method":"status"})"), "malformed: request has no protocol version \"v\"");
  EXPECT_EQ(error(R"({"v":9,"method":"status"})"), "unsupported_version: protocol version 9 is not supported (kilnd speaks 1)");
  EXPECT_EQ(error(R"({"v":1,"method":"stauts"})"), "unknown_method: unknown method 'stauts' (did you mean 'status'?)");
  EXPECT_EQ(error(R"({"v":1,"method":"show","params":{"run":"x"}})"),
            "invalid_argument: parameter 'run': expected an integer");
  EXPECT_EQ(error(R"({"v":1,"method":"show","params":{"run":99}})"), "not_found: run 99 not found");
  EXPECT_EQ(error(std::string(2 << 20, 'x')), "too_large: request exceeds 1048576 bytes");
  // Deep nesting within the size limit: copying it overflowed kilnd's stack
  // (found by tests/fuzz/protocol).
  const std::string deep(200000, '['), closed(200000, ']');
  EXPECT_EQ(error(R"({"v":1,"method":"status","params":{"a":)" + deep + closed + "}}"),
            "malformed: request nests deeper than 64 levels");
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(json::parse(RawRequest(socket_, R"({"v":1,"method":"status","params":{"a":")" + deep + R"("}})"),
                          nullptr, false)["ok"]);
  // None of it hurt the daemon.
  EXPECT_TRUE(Call("status")["ok"]);
  EXPECT_TRUE(d->Running());
}

TEST_F(Control, StatusTriggerShowAndLogs) {
  Config(kPipeline);
  auto d = Start();
  json s = Call("status")["result"];
  EXPECT_EQ(s["version"], "1.0.0");
  EXPECT_EQ(s["processors"].size(), 3u);
  EXPECT_EQ(s["processors"][0]["name"], "cache");
  EXPECT_EQ(s["plugins"].size(), 2u);

  json t = Call("trigger", {{"processor", "features"}, {"date", "2025-01-20"}});
  EXPECT_EQ(t["result"]["state"], "waiting") << t;  // cache has not run for that date
  t = Call("trigger", {{"processor", "cache"}, {"date", "2025-01-20"}});
  EXPECT_EQ(t["result"]["state"], "started") << t;
  // The cache's success releases the waiting features run.
  std::unique_ptr<Ledger> ledger = OpenLedger();
  ASSERT_TRUE(WaitFor([&] {
    RunRecord r;
    return ledger->LastSucceeded("features", std::string("2025-01-20"), &r).ok();
  }, 10s));
  EXPECT_EQ(Call("trigger", {{"processor", "cache"}})["error"]["message"],
            "processor 'cache' is partitioned by date: a date is required");
  EXPECT_EQ(Call("trigger", {{"processor", "cache"}, {"date", "2025-02-30"}})["error"]["message"],
            "parameter 'date': invalid date '2025-02-30': February 2025 has 28 days");
  EXPECT_EQ(Call("trigger", {{"processor", "nope"}})["error"]["message"], "unknown processor 'nope'");

  json runs = Call("runs", {{"processor", "cache"}})["result"]["runs"];
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["trigger"], "manual");
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_TRUE(runs[0]["phases"].contains("extract"));
  const int64_t id = runs[0]["id"];
  json shown = Call("show", {{"run", id}})["result"];
  EXPECT_EQ(shown["run"]["id"], id);
  json logs = Call("logs", {{"run", id}})["result"];
  EXPECT_EQ(logs["finished"], true);
  EXPECT_EQ(Call("runs", {{"status", "sometimes"}})["error"]["code"], "invalid_argument");
  EXPECT_EQ(Call("cancel", {{"run", id}})["error"]["message"], "run " + std::to_string(id) + " is not in flight");
}

TEST_F(Control, BackfillRefusals) {
  Config(kPipeline);
  auto d = Start();
  auto refused = [&](json params) { return Call("backfill.start", params)["error"]["message"].get<std::string>(); };
  EXPECT_EQ(refused({{"processor", "cahce"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-02"}}),
            "unknown processor 'cahce' (did you mean 'cache'?)");
  EXPECT_EQ(refused({{"processor", "plain"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-02"}}),
            "processor 'plain' is not partitioned by date (plugin 'throwing'): it cannot be backfilled");
  EXPECT_EQ(refused({{"processor", "cache"}, {"start_date", "2025-01-05"}, {"end_date", "2025-01-01"}}),
            "end_date 2025-01-01 is before start_date 2025-01-05");
  EXPECT_EQ(refused({{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-02-30"}}),
            "end_date: invalid date '2025-02-30': February 2025 has 28 days");
  EXPECT_EQ(refused({{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-02"}, {"parallel", 3}}),
            "parallel 3: expected 1 to 2 (the daemon's workers)");
  EXPECT_EQ(refused({{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-02"},
                     {"reprocess", "some"}}),
            "parameter 'reprocess': expected none, failed or all, found 'some'");
  json plan = Call("backfill.start", {{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-03"},
                                      {"cascade", true}, {"dry_run", true}})["result"]["plan"];
  EXPECT_EQ(plan["processors"], json({"cache", "features"}));
  EXPECT_EQ(plan["partitions"]["features"], json({"2025-01-01", "2025-01-02", "2025-01-03"}));
  EXPECT_TRUE(Call("backfill.list")["result"]["backfills"].empty());  // a dry run creates nothing
}

// The case Kiln was built for: 118 days of the cache, cascading into the
// feature store, with kilnd killed in the middle. By the ledger, every
// (processor, day) succeeded exactly once, and nothing else ran.
TEST_F(Control, SeedBackfillSurvivesKillNineAndRunsEachPairOnce) {
  Config(kPipeline);
  auto d = Start();
  json started = Call("backfill.start", {{"processor", "cache"}, {"start_date", "2024-10-01"},
                                         {"end_date", "2025-01-26"}, {"parallel", 2}, {"cascade", true}});
  ASSERT_TRUE(started["ok"]) << started;
  const int64_t id = started["result"]["backfill"]["id"];
  EXPECT_EQ(started["result"]["backfill"]["total"], 236);
  std::unique_ptr<Ledger> ledger = OpenLedger();
  auto succeeded = [&] {
    RunFilter f;
    f.status = RunStatus::kSucceeded;
    f.limit = 0;
    std::vector<RunRecord> runs;
    ledger->ListRuns(f, &runs);
    return runs.size();
  };
  ASSERT_TRUE(WaitFor([&] { return succeeded() >= 60; }, 60s)) << d->Log();
  d->Signal(SIGKILL);
  d->Wait(5s);
  const size_t before = succeeded();
  EXPECT_LT(before, 236u);

  auto again = Start();
  ASSERT_TRUE(WaitFor([&] {
    BackfillRecord b;
    return ledger->GetBackfill(id, &b).ok() && b.state != BackfillState::kRunning;
  }, 120s)) << again->Log();
  BackfillRecord b;
  ASSERT_TRUE(ledger->GetBackfill(id, &b).ok());
  EXPECT_EQ(b.state, BackfillState::kSucceeded);

  RunFilter all;
  all.limit = 0;
  std::vector<RunRecord> runs;
  ASSERT_TRUE(ledger->ListRuns(all, &runs).ok());
  std::map<std::pair<std::string, std::string>, int> wins;
  size_t abandoned = 0;
  for (const RunRecord& r : runs) {
    EXPECT_EQ(r.trigger, Trigger::kBackfill);
    EXPECT_EQ(r.backfill_id, id);
    if (r.status == RunStatus::kSucceeded) ++wins[{r.processor, *r.partition}];
    else if (r.status == RunStatus::kAbandoned) ++abandoned;
    else ADD_FAILURE() << "run " << r.id << " ended " << RunStatusName(r.status);
  }
  EXPECT_EQ(wins.size(), 236u);
  for (const auto& [pair, count] : wins) EXPECT_EQ(count, 1) << pair.first << " " << pair.second;
  EXPECT_LE(abandoned, 2u);  // at most `parallel` were in flight at the kill
  json status = Call("backfill.status", {{"id", id}})["result"]["backfill"];
  EXPECT_EQ(status["state"], "succeeded");
  EXPECT_EQ(status["succeeded"], 236);
  again->Signal(SIGTERM);
  EXPECT_EQ(again->Wait(10s), 0);
}

TEST_F(Control, CancelAndReprocess) {
  Config(kPipeline);
  auto d = Start();
  json a = Call("backfill.start", {{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-03"}});
  ASSERT_TRUE(a["ok"]) << a;
  const int64_t first = a["result"]["backfill"]["id"];
  ASSERT_TRUE(WaitFor([&] { return Call("backfill.status", {{"id", first}})["result"]["backfill"]["state"] == "succeeded"; }, 10s));
  // reprocess none: every date already ran.
  EXPECT_EQ(Call("backfill.start", {{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-03"}})
                ["error"]["message"],
            "nothing to backfill: all 3 date(s) of 'cache' already have finished runs (reprocess = none; use failed or all)");
  json all = Call("backfill.start", {{"processor", "cache"}, {"start_date", "2025-01-01"}, {"end_date", "2025-01-04"},
                                     {"reprocess", "failed"}, {"dry_run", true}})["result"]["plan"];
  EXPECT_EQ(all["partitions"]["cache"], json({"2025-01-04"}));
  EXPECT_EQ(all["skipped"].size(), 3u);

  json big = Call("backfill.start", {{"processor", "cache"}, {"start_date", "2020-01-01"}, {"end_date", "2020-12-31"}});
  ASSERT_TRUE(big["ok"]);
  const int64_t id = big["result"]["backfill"]["id"];
  json cancelled = Call("backfill.cancel", {{"id", id}})["result"]["backfill"];
  EXPECT_EQ(cancelled["state"], "cancelled");
  EXPECT_EQ(Call("backfill.cancel", {{"id", id}})["error"]["message"], "backfill " + std::to_string(id) + " is already cancelled");
  EXPECT_EQ(Call("backfill.status", {{"id", 999}})["error"]["message"], "backfill 999 not found");
  EXPECT_EQ(Call("backfill.list")["result"]["backfills"].size(), 2u);
}

TEST_F(Control, ASecondKilndOnTheSameSocketIsRefused) {
  Config(kPipeline);
  auto d = Start();
  DaemonProcess second(KILND, {"--config", dir_ + "/kiln.toml"}, dir_ + "/second.log");
  EXPECT_EQ(second.Wait(10s), 1);
  EXPECT_NE(second.Log().find("control_socket " + socket_ + ": in use by another kilnd"), std::string::npos)
      << second.Log();
  EXPECT_TRUE(Call("status")["ok"]);
}

TEST_F(Control, AStaleSocketIsReplaced) {
  Config(kPipeline);
  {
    auto d = Start();
    d->Signal(SIGKILL);
    d->Wait(5s);
  }
  ASSERT_TRUE(std::filesystem::exists(socket_));  // left behind by the kill
  auto d = Start();
  EXPECT_TRUE(Call("status")["ok"]) << d->Log();
}

}  // namespace
}  // namespace kiln

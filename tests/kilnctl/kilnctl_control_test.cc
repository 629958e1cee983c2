// The kilnctl commands that talk to kilnd over its control socket
// (docs/control.md), against a fake server: the exact request lines they
// send, the lines they print, their exit codes and their failure messages.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_control_server.h"
#include "tests/support/subprocess.h"
#include "tools/kilnctl/format.h"

namespace kiln {
namespace {

using testing::CommandResult;
using testing::FakeControlServer;
using testing::RunCommand;
using Json = nlohmann::ordered_json;
using Lines = std::vector<std::string>;

const std::string kCtl = KILNCTL;

const char* const kHashA = "3f2a9c0d1e4b5a6978899aabbccddeeff00112233445566778899aabbccddeef";
const char* const kHashB = "9a8b7c6d5e4f30211203948576abcdef0011223344556677889900aabbccddee";

Json Run41() {
  return Json::parse(R"({"id": 41, "processor": "player_rolling_average", "plugin": "rolling_average",
    "plugin_version": "1.0.0", "plugin_hash": ")" + std::string(kHashA) + R"(", "partition": "2025-01-19",
    "trigger": "schedule", "scheduled_at": "2025-01-20T06:00:00.000Z", "started_at": "2025-01-20T06:00:00.250Z",
    "ended_at": "2025-01-20T06:00:01.550Z", "status": "succeeded", "attempt": 1, "records": 812, "error": null,
    "backfill_id": null, "phases": {"configure": 2, "init": 15, "extract": 900, "transform": 200, "save": 120}})");
}

Json Run40() {
  return Json::parse(R"({"id": 40, "processor": "player_rolling_average", "plugin": "rolling_average",
    "plugin_version": "1.0.0", "plugin_hash": ")" + std::string(kHashA) + R"(", "partition": null,
    "trigger": "manual", "scheduled_at": null, "started_at": "2025-01-20T05:00:00.000Z",
    "ended_at": "2025-01-20T05:04:05.000Z", "status": "failed", "attempt": 2, "records": 0,
    "error": "processor 'player_rolling_average': extract failed: cannot open config/data/games.csv: No such file",
    "backfill_id": 3, "phases": {"configure": 1, "extract": 3}})");
}

Json Backfill(const std::string& state, int succeeded, int failed, int running, int pending) {
  Json b = Json::parse(R"({"id": 3, "processor": "player_cache", "start_date": "2025-01-01",
    "end_date": "2025-04-28", "parallel": 2, "cascade": true, "reprocess": "failed",
    "processors": ["player_cache", "daily_row_count"], "state": "running",
    "created_at": "2025-01-20T05:00:00.000Z", "finished_at": null, "total": 118, "succeeded": 0, "failed": 0,
    "running": 0, "pending": 0, "skipped": 3, "rate_per_min": 4.1, "eta_seconds": 840})");
  b["state"] = state;
  b["succeeded"] = succeeded;
  b["failed"] = failed;
  b["running"] = running;
  b["pending"] = pending;
  if (state != "running") {
    b["finished_at"] = "2025-01-20T05:28:00.000Z";
    b["rate_per_min"] = nullptr;
    b["eta_seconds"] = nullptr;
  }
  return b;
}
Json RunningBackfill() { return Backfill("running", 55, 2, 2, 59); }

Json StatusResult() {
  Json s = Json::parse(R"({"version": "1.0.0", "pid": 4242, "uptime_seconds": 7385,
    "started_at": "2025-01-20T04:00:00.000Z", "config": "/etc/kiln/kiln.toml",
    "plugins": [{"name": "rolling_average", "version": "1.0.0", "path": "/p/rolling_average.so", "hash": ")" +
                       std::string(kHashA) + R"("},
                {"name": "row_count", "version": "1.2.0", "path": "/p/row_count.so", "hash": ")" +
                       std::string(kHashB) + R"("}],
    "processors": [
      {"name": "player_rolling_average", "plugin": "rolling_average", "schedule": "*/1 * * * *",
       "timezone": "America/New_York", "enabled": true, "partitioned": true,
       "next_fire": "2025-01-20T06:06:00.000Z", "last_run": null},
      {"name": "daily_row_count", "plugin": "row_count", "schedule": null, "timezone": "UTC", "enabled": true,
       "partitioned": true, "next_fire": null, "last_run": null},
      {"name": "old_report", "plugin": "row_count", "schedule": "0 3 * * *", "timezone": "UTC", "enabled": false,
       "partitioned": false, "next_fire": null, "last_run": null}],
    "running": [{"id": 42, "processor": "player_rolling_average", "partition": "2025-01-20", "trigger": "schedule",
                 "phase": "extract", "done": 120, "total": 500, "records": 3400,
                 "started_at": "2025-01-20T06:05:00.012Z", "backfill_id": null}],
    "backfills": []})");
  s["processors"][0]["last_run"] = Run41();
  s["processors"][2]["last_run"] = Run40();
  s["backfills"].push_back(RunningBackfill());
  return s;
}

class KilnctlControl : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-ctlc-XXXXXX";
    dir_ = mkdtemp(tmpl);
    server_ = std::make_unique<FakeControlServer>(dir_ + "/kilnd.sock");
    ASSERT_TRUE(server_->ok()) << std::strerror(errno);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // kilnctl ARGS --socket <the fake server>.
  CommandResult Ctl(const std::string& args) { return RunCommand(kCtl + " " + args + " --socket " + server_->path()); }
  Lines Requests() const { return server_->requests(); }

  std::string dir_;
  std::unique_ptr<FakeControlServer> server_;
};

// ---- status, plugins ----

TEST_F(KilnctlControl, StatusSendsOneRequestAndPrintsTheDaemon) {
  server_->On("status", StatusResult());
  CommandResult r = Ctl("status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"status","params":{}})"});
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "kilnd 1.0.0 (pid 4242), up 2h03m since 2025-01-20T04:00:00Z\n"
            "config /etc/kiln/kiln.toml\n"
            "\n"
            "plugins:\n"
            "  rolling_average  1.0.0  3f2a9c0d1e4b\n"
            "  row_count        1.2.0  9a8b7c6d5e4f\n"
            "\n"
            "processors:\n"
            "  NAME                    SCHEDULE     NEXT FIRE             LAST RUN\n"
            "  player_rolling_average  */1 * * * *  2025-01-20T06:06:00Z  succeeded 2025-01-19 (run 41)\n"
            "  daily_row_count         -            -                     never\n"
            "  old_report              0 3 * * *    disabled              failed (run 40)\n"
            "\n"
            "running:\n"
            "  RUN  PROCESSOR               PARTITION   PHASE    PROGRESS  RECORDS  STARTED\n"
            "  42   player_rolling_average  2025-01-20  extract  120/500   3400     2025-01-20T06:05:00Z\n"
            "\n"
            "backfills:\n"
            "  backfill 3 player_cache 2025-01-01..2025-04-28: 57/118 done, 2 failed, 2 running, 59 pending, "
            "4.1/min, ETA 14m\n");
}

TEST_F(KilnctlControl, StatusOfAnIdleDaemon) {
  Json s = StatusResult();
  s["running"] = Json::array();
  s["backfills"] = Json::array();
  server_->On("status", s);
  CommandResult r = Ctl("status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nrunning: none\n\nbackfills: none\n"), std::string::npos) << r.out;
}

TEST_F(KilnctlControl, StatusJsonPrintsTheResultObject) {
  server_->On("status", StatusResult());
  CommandResult r = Ctl("status --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out), StatusResult());
}

TEST_F(KilnctlControl, PluginsListsOptions) {
  server_->On("plugins", Json::parse(R"({"plugins": [{"name": "rolling_average", "version": "1.0.0",
    "path": "/p/rolling_average.so", "hash": "3f2a", "sdk": "1.0", "capabilities": ["partitioned_by_date"],
    "options": [{"name": "input", "type": "path", "required": true, "default": null, "doc": "games CSV"},
                {"name": "window", "type": "int", "required": false, "default": 5, "doc": "games averaged"}]}]})"));
  CommandResult r = Ctl("plugins");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"plugins","params":{}})"});
  EXPECT_EQ(r.out,
            "rolling_average 1.0.0\n"
            "  path          /p/rolling_average.so\n"
            "  hash          3f2a\n"
            "  sdk           1.0\n"
            "  capabilities  partitioned_by_date\n"
            "  options       input (path), required: games CSV\n"
            "                window (int), default 5: games averaged\n");
}

// ---- runs, show, logs ----

TEST_F(KilnctlControl, RunsSendsItsFiltersAndPrintsATable) {
  server_->On("runs", Json{{"runs", {Run41(), Run40()}}});
  CommandResult r = Ctl("runs --processor player_rolling_average --status failed --since 2025-01-01 "
                        "--partition 2025-01-19 --limit 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"runs","params":{"processor":"player_rolling_average",)"
                              R"("status":"failed","since":"2025-01-01","partition":"2025-01-19","limit":5}})"});
  EXPECT_EQ(r.out,
            "ID  PROCESSOR               PARTITION   TRIGGER   STATUS     STARTED               DURATION  RECORDS  "
            "ERROR\n"
            "41  player_rolling_average  2025-01-19  schedule  succeeded  2025-01-20T06:00:00Z  1.3s      812\n"
            "40  player_rolling_average  -           manual    failed     2025-01-20T05:00:00Z  4m05s     0        "
            "processor 'player_rolling_average': extract failed: canno...\n");
}

TEST_F(KilnctlControl, RunsWithoutFiltersSendsEmptyParams) {
  server_->On("runs", Json{{"runs", Json::array()}});
  CommandResult r = Ctl("runs");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"runs","params":{}})"});
  EXPECT_EQ(r.out, "no runs\n");
  r = Ctl("runs --json");
  EXPECT_EQ(Json::parse(r.out), Json({{"runs", Json::array()}}));
}

TEST_F(KilnctlControl, RunsRefusesBadFiltersWithoutAsking) {
  CommandResult r = Ctl("runs --partition 2025-13-01");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("kilnctl runs: --partition: invalid date '2025-13-01'", 0), 0u) << r.err;
  r = Ctl("runs --limit 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl runs: --limit: expected at least 1, found 0\n");
  r = Ctl("runs --status exploded");
  EXPECT_EQ(r.exit_code, 2);
  r = Ctl("backfill list --limit 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl backfill: list: --limit: expected at least 1, found 0\n");
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(KilnctlControl, ShowPrintsEveryFieldPhasesAndLog) {
  server_->On("show", Json{{"run", Run40()},
                           {"log", {{{"seq", 1}, {"time", "2025-01-20T05:00:00.100Z"}, {"level", "info"},
                                     {"message", "reading config/data/games.csv"}},
                                    {{"seq", 2}, {"time", "2025-01-20T05:04:05.000Z"}, {"level", "error"},
                                     {"message", "cannot open it"}}}}});
  CommandResult r = Ctl("show 40");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"show","params":{"run":40}})"});
  EXPECT_EQ(r.out,
            "run           40\n"
            "processor     player_rolling_average\n"
            "plugin        rolling_average 1.0.0\n"
            "plugin hash   " + std::string(kHashA) + "\n"
            "partition     -\n"
            "trigger       manual\n"
            "status        failed\n"
            "attempt       2\n"
            "scheduled at  -\n"
            "started at    2025-01-20T05:00:00.000Z\n"
            "ended at      2025-01-20T05:04:05.000Z\n"
            "duration      4m05s\n"
            "records       0\n"
            "backfill      3\n"
            "error         processor 'player_rolling_average': extract failed: cannot open "
            "config/data/games.csv: No such file\n"
            "phases        configure          1.000 ms\n"
            "              extract            3.000 ms\n"
            "log           2 lines\n"
            "  2025-01-20T05:00:00.100Z info  reading config/data/games.csv\n"
            "  2025-01-20T05:04:05.000Z error cannot open it\n");
}

TEST_F(KilnctlControl, ShowPrintsPhasesInLifecycleOrderNotJsonOrder) {
  server_->On("show", Json{{"run", Run41()}, {"log", Json::array()}});
  CommandResult r = Ctl("show 41");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("phases        configure          2.000 ms\n"
                       "              init              15.000 ms\n"
                       "              extract          900.000 ms\n"
                       "              transform        200.000 ms\n"
                       "              save             120.000 ms\n"
                       "log           none\n"),
            std::string::npos)
      << r.out;
  r = Ctl("show 41 --json");
  EXPECT_EQ(Json::parse(r.out)["run"], Run41());
}

TEST_F(KilnctlControl, LogsFollowPollsWithTheLastSeqUntilFinished) {
  auto line = [](int seq, const std::string& message) {
    return Json{{"seq", seq}, {"time", "2025-01-20T06:00:0" + std::to_string(seq) + ".000Z"}, {"level", "info"},
                {"message", message}};
  };
  server_->OnSequence("logs", {FakeControlServer::Ok({{"lines", {line(1, "one"), line(2, "two")}}, {"finished", false}}),
                               FakeControlServer::Ok({{"lines", Json::array()}, {"finished", false}}),
                               FakeControlServer::Ok({{"lines", {line(3, "three")}}, {"finished", true}})});
  CommandResult r = Ctl("logs 42 --follow");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), (Lines{R"({"v":1,"method":"logs","params":{"run":42,"after":0}})",
                               R"({"v":1,"method":"logs","params":{"run":42,"after":2}})",
                               R"({"v":1,"method":"logs","params":{"run":42,"after":2}})"}));
  EXPECT_EQ(r.out,
            "2025-01-20T06:00:01.000Z info  one\n"
            "2025-01-20T06:00:02.000Z info  two\n"
            "2025-01-20T06:00:03.000Z info  three\n");
  EXPECT_EQ(server_->connections(), 1);  // one connection for the whole follow
}

TEST_F(KilnctlControl, LogsWithoutFollowAsksOnce) {
  server_->On("logs", {{"lines", Json::array()}, {"finished", false}});
  CommandResult r = Ctl("logs 42");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests().size(), 1u);
  EXPECT_EQ(r.out, "");
}

// ---- trigger, cancel, reload-config ----

TEST_F(KilnctlControl, TriggerSendsTheDateAndPrintsTheState) {
  server_->On("trigger", {{"processor", "player_rolling_average"}, {"partition", "2025-01-20"}, {"state", "waiting"}});
  CommandResult r = Ctl("trigger player_rolling_average --date 2025-01-20");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(),
            Lines{R"({"v":1,"method":"trigger","params":{"processor":"player_rolling_average","date":"2025-01-20"}})"});
  EXPECT_EQ(r.out, "triggered player_rolling_average for 2025-01-20: waiting\n");

  server_->On("trigger", {{"processor", "old_report"}, {"partition", nullptr}, {"state", "started"}});
  r = Ctl("trigger old_report");
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"trigger","params":{"processor":"old_report"}})");
  EXPECT_EQ(r.out, "triggered old_report: started\n");
}

TEST_F(KilnctlControl, TriggerRefusesABadDateWithoutAsking) {
  CommandResult r = Ctl("trigger player_rolling_average --date 2025-02-30");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl trigger: --date: invalid date '2025-02-30': February 2025 has 28 days\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(KilnctlControl, CancelAndItsNotFound) {
  server_->On("cancel", {{"run", 42}, {"cancelled", true}});
  CommandResult r = Ctl("cancel 42");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"cancel","params":{"run":42}})"});
  EXPECT_EQ(r.out, "cancelled run 42\n");
  server_->OnError("cancel", "not_found", "run 43 is not in flight");
  r = Ctl("cancel 43");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: run 43 is not in flight\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(KilnctlControl, ReloadConfigPrintsTheCountOrEveryError) {
  server_->On("reload", {{"processors", 3}});
  CommandResult r = Ctl("reload-config");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"reload","params":{}})"});
  EXPECT_EQ(r.out, "reloaded config: 3 processors\n");

  server_->OnError("reload", "failed", "config refused: 2 errors; the old config keeps running",
                   {"config/kiln.toml:12: processor 'x': unknown plugin 'nope'",
                    "config/kiln.toml:20: processor 'y': depends_on 'z', which does not exist"});
  r = Ctl("reload-config");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "kilnctl: config refused: 2 errors; the old config keeps running\n"
            "  config/kiln.toml:12: processor 'x': unknown plugin 'nope'\n"
            "  config/kiln.toml:20: processor 'y': depends_on 'z', which does not exist\n");
}

TEST_F(KilnctlControl, ReloadOnePluginAndShowItsHistory) {
  server_->On("reload", {{"plugin", "cache"}, {"outcome", "plugin 'cache' swapped: 1.0.0 (aaa) -> 2.0.0 (bbb) in 3.1 ms"}});
  CommandResult r = Ctl("reload cache");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"reload","params":{"plugin":"cache"}})"});
  EXPECT_EQ(r.out, "plugin 'cache' swapped: 1.0.0 (aaa) -> 2.0.0 (bbb) in 3.1 ms\n");

  server_->OnError("reload", "failed", "plugin 'cache': new version refused: trial configure/init failed");
  r = Ctl("reload cache");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: plugin 'cache': new version refused: trial configure/init failed\n");

  server_->On("plugins", {{"plugins", Json::array()},
                          {"history", Json::array({Json{{"name", "cache"}, {"version", "1.0.0"},
                                                        {"hash", "0123456789abcdef"}, {"loaded_at", "2025-01-20T06:00:00.000Z"},
                                                        {"state", "retired"}, {"note", nullptr}},
                                                   Json{{"name", "cache"}, {"version", "3.0.0"},
                                                        {"hash", "fedcba9876543210"}, {"loaded_at", "2025-01-20T07:00:00.000Z"},
                                                        {"state", "rolled back"}, {"note", "its first runs of 'c' failed"}}})}});
  r = Ctl("plugins --history");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"plugins","params":{"history":true}})");
  EXPECT_NE(r.out.find("cache                1.0.0        0123456789ab   2025-01-20T06:00:00.000Z   retired\n"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rolled back (its first runs of 'c' failed)\n"), std::string::npos) << r.out;
}

TEST_F(KilnctlControl, InvalidArgumentExitsTwo) {
  server_->OnError("trigger", "invalid_argument", "date: processor 'old_report' is not partitioned");
  CommandResult r = Ctl("trigger old_report --date 2025-01-20");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "kilnctl: date: processor 'old_report' is not partitioned\n");
}

// ---- reaching kilnd ----

TEST_F(KilnctlControl, NoSocketFile) {
  const std::string path = dir_ + "/nothing.sock";
  CommandResult r = RunCommand(kCtl + " status --socket " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: cannot reach kilnd at " + path + ": no such socket (is kilnd running?)\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(KilnctlControl, StaleSocketIsRefused) {
  const std::string path = dir_ + "/stale.sock";
  {
    FakeControlServer gone(path);
    ASSERT_TRUE(gone.ok());
  }
  // Leave a socket file behind with nothing listening, as a killed kilnd does.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  CommandResult r = RunCommand(kCtl + " runs --socket " + path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "kilnctl: cannot reach kilnd at " + path + ": connection refused (kilnd is not running; stale socket)\n");
}

TEST_F(KilnctlControl, PermissionDenied) {
  if (geteuid() != 0) {
    ASSERT_EQ(::chmod(server_->path().c_str(), 0), 0);
    CommandResult r = Ctl("status");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "kilnctl: cannot reach kilnd at " + server_->path() + ": permission denied\n");
    return;
  }
  // As root, permissions do not apply: run kilnctl as nobody against a socket
  // in a directory only root may enter, if setpriv can do that here.
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "running as root and setpriv is missing";
  const std::string locked = dir_ + "/locked";
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0);
  FakeControlServer inside(locked + "/kilnd.sock");
  ASSERT_TRUE(inside.ok());
  CommandResult r =
      RunCommand("/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups " + kCtl + " status --socket " + inside.path());
  if (r.err.find("setpriv") != std::string::npos || r.exit_code == 126 || r.exit_code == 127) {
    GTEST_SKIP() << "running as root and cannot drop privileges: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: cannot reach kilnd at " + inside.path() + ": permission denied\n");
  EXPECT_EQ(inside.connections(), 0);
}

TEST_F(KilnctlControl, SocketFromTheEnvironmentThenTheDefault) {
  server_->On("status", StatusResult());
  CommandResult r = RunCommand("KILN_SOCKET=" + server_->path() + " " + kCtl + " status --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests().size(), 1u);
  // --socket wins over the environment.
  r = RunCommand("KILN_SOCKET=/nonexistent/kilnd.sock " + kCtl + " status --json --socket " + server_->path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Neither: state/run/kilnd.sock under the current directory.
  std::filesystem::create_directories(dir_ + "/state/run");
  FakeControlServer local(dir_ + "/state/run/kilnd.sock");
  ASSERT_TRUE(local.ok());
  local.On("status", StatusResult());
  r = RunCommand("cd " + dir_ + " && env -u KILN_SOCKET " + kCtl + " status --json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(local.requests().size(), 1u);
  r = RunCommand("cd / && env -u KILN_SOCKET " + kCtl + " status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: cannot reach kilnd at state/run/kilnd.sock: no such socket (is kilnd running?)\n");
}

TEST_F(KilnctlControl, TimeoutEofAndMalformedResponsesAreOneLineEach) {
  const std::string p = server_->path();
  server_->OnReply("status", FakeControlServer::Silence());
  CommandResult r = Ctl("status --timeout 0.3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: kilnd at " + p + " did not answer within 0.3 s\n");

  server_->OnReply("status", FakeControlServer::Close());
  r = Ctl("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: kilnd at " + p + " closed the connection without answering\n");

  server_->OnReply("status", FakeControlServer::Line("this is not json"));
  r = Ctl("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: malformed response from kilnd at " + p + ": not JSON\n");

  server_->OnReply("status", FakeControlServer::Line(R"({"v":1,"result":{}})"));
  r = Ctl("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: malformed response from kilnd at " + p + ": no boolean \"ok\"\n");

  server_->OnReply("status", FakeControlServer::Line(R"({"v":2,"ok":true,"result":{}})"));
  r = Ctl("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: kilnd at " + p + " answered in protocol version 2; kilnctl speaks 1\n");

  server_->OnError("status", "unsupported_version", "protocol version 1 is not supported");
  r = Ctl("status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: protocol version 1 is not supported\n");
}

// ---- backfill ----

TEST_F(KilnctlControl, BackfillRefusesBadDatesWithoutAsking) {
  struct Case {
    std::string args;
    std::string err;
  };
  const Case cases[] = {
      {"backfill player_cache --start-date 2025-02-30 --end-date 2025-03-01",
       "kilnctl backfill: --start-date: invalid date '2025-02-30': February 2025 has 28 days\n"},
      {"backfill player_cache --start-date 2025-01-05 --end-date 2025-1-6",
       "kilnctl backfill: --end-date: "},
      {"backfill player_cache --start-date 2025-01-05 --end-date 2025-01-01",
       "kilnctl backfill: --end-date 2025-01-01 is before --start-date 2025-01-05\n"},
      {"backfill player_cache --start-date 2025-01-05", "kilnctl backfill: --start-date and --end-date are required\n"},
      {"backfill player_cache --start-date 2025-01-01 --end-date 2025-01-02 --parallel 0",
       "kilnctl backfill: --parallel: expected at least 1, found 0\n"},
      {"backfill --start-date 2025-01-01 --end-date 2025-01-02",
       "kilnctl backfill: give PROCESSOR --start-date YYYY-MM-DD --end-date YYYY-MM-DD, or one of: status, watch, "
       "cancel, list\n"},
      {"backfill player_cache --start-date 2025-01-01 --end-date 2025-01-02 --reprocess some", "kilnctl: --reprocess"},
      {"backfill player_cache status 3", "kilnctl backfill: 'status' takes no PROCESSOR (found 'player_cache')\n"},
  };
  for (const Case& c : cases) {
    CommandResult r = Ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.err.rfind(c.err, 0), 0u) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
    EXPECT_EQ(r.out, "") << c.args;
  }
  EXPECT_EQ(server_->connections(), 0);
}

TEST_F(KilnctlControl, BackfillDetachSendsEveryParamAndPrintsTheId) {
  server_->On("backfill.start", {{"backfill", Backfill("running", 0, 0, 2, 116)}});
  CommandResult r = Ctl("backfill player_cache --start-date 2025-01-01 --end-date 2025-04-28 --parallel 2 "
                        "--cascade --reprocess failed --detach");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"backfill.start","params":{"processor":"player_cache",)"
                              R"("start_date":"2025-01-01","end_date":"2025-04-28","parallel":2,"cascade":true,)"
                              R"("reprocess":"failed","dry_run":false}})"});
  EXPECT_EQ(r.out, "3\n");
  r = Ctl("backfill player_cache --start-date 2025-01-01 --end-date 2025-01-01 --detach --json");
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"backfill.start","params":{"processor":"player_cache",)"
                               R"("start_date":"2025-01-01","end_date":"2025-01-01","parallel":1,"cascade":false,)"
                               R"("reprocess":"none","dry_run":false}})");
  EXPECT_EQ(Json::parse(r.out)["backfill"]["id"], 3);
}

TEST_F(KilnctlControl, BackfillDryRunPrintsThePlan) {
  Json dates_a = Json::array(), dates_b = Json::array();
  for (int d = 1; d <= 31; ++d) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "2025-01-%02d", d);
    (d <= 3 ? dates_b : dates_a).push_back(buf);
  }
  server_->On("backfill.start",
              {{"plan",
                {{"processors", {"player_cache", "daily_row_count"}},
                 {"partitions", {{"player_cache", dates_a}, {"daily_row_count", dates_a}}},
                 {"skipped", {{"player_cache", dates_b}, {"daily_row_count", Json::array()}}}}}});
  CommandResult r = Ctl("backfill player_cache --start-date 2025-01-01 --end-date 2025-01-31 --cascade --dry-run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"backfill.start","params":{"processor":"player_cache",)"
                              R"("start_date":"2025-01-01","end_date":"2025-01-31","parallel":1,"cascade":true,)"
                              R"("reprocess":"none","dry_run":true}})"});
  EXPECT_EQ(r.out,
            "dry run, nothing started: backfill player_cache 2025-01-01..2025-01-31\n"
            "  player_cache     28 dates  2025-01-04..2025-01-31  3 skipped\n"
            "  daily_row_count  28 dates  2025-01-04..2025-01-31  0 skipped\n"
            "total: 56 runs, 3 skipped\n");
}

TEST_F(KilnctlControl, BackfillStatusPrintsEveryField) {
  server_->On("backfill.status", {{"backfill", RunningBackfill()}});
  CommandResult r = Ctl("backfill status 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), Lines{R"({"v":1,"method":"backfill.status","params":{"id":3}})"});
  EXPECT_EQ(r.out,
            "backfill 3: player_cache 2025-01-01..2025-04-28\n"
            "  state        running\n"
            "  processors   player_cache, daily_row_count\n"
            "  parallel     2\n"
            "  cascade      yes\n"
            "  reprocess    failed\n"
            "  created at   2025-01-20T05:00:00.000Z\n"
            "  finished at  -\n"
            "  progress     57/118 done, 2 failed, 2 running, 59 pending, 4.1/min, ETA 14m\n"
            "  succeeded    55\n"
            "  skipped      3\n");
  r = Ctl("backfill status 3 --json");
  EXPECT_EQ(Json::parse(r.out), Json({{"backfill", RunningBackfill()}}));
  server_->OnError("backfill.status", "not_found", "backfill 9 not found");
  r = Ctl("backfill status 9");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "kilnctl: backfill 9 not found\n");
}

TEST_F(KilnctlControl, BackfillListAndCancel) {
  server_->On("backfill.list", {{"backfills", {RunningBackfill(), Backfill("succeeded", 10, 0, 0, 0)}}});
  CommandResult r = Ctl("backfill list --limit 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"backfill.list","params":{"limit":2}})");
  EXPECT_EQ(r.out,
            "ID  PROCESSOR     RANGE                   STATE      PROGRESS               CREATED\n"
            "3   player_cache  2025-01-01..2025-04-28  running    57/118 done, 2 failed  2025-01-20T05:00:00Z\n"
            "3   player_cache  2025-01-01..2025-04-28  succeeded  10/118 done, 0 failed  2025-01-20T05:00:00Z\n");
  r = Ctl("backfill list");
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"backfill.list","params":{}})");

  server_->On("backfill.cancel", {{"backfill", Backfill("cancelled", 55, 2, 0, 61)}});
  r = Ctl("backfill cancel 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests().back(), R"({"v":1,"method":"backfill.cancel","params":{"id":3}})");
  EXPECT_EQ(r.out, "cancelled backfill 3: 57/118 done, 2 failed, 0 running, 61 pending\n");
}

TEST_F(KilnctlControl, BackfillWatchEndsWithTheOutcome) {
  server_->OnSequence("backfill.status", {FakeControlServer::Ok({{"backfill", RunningBackfill()}}),
                                          FakeControlServer::Ok({{"backfill", Backfill("succeeded", 118, 0, 0, 0)}})});
  CommandResult r = Ctl("backfill watch 3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "backfill 3: 57/118 done, 2 failed, 2 running, 59 pending, 4.1/min, ETA 14m\n"
            "backfill 3 succeeded: 118/118 done, 0 failed, 0 running, 0 pending\n");
  EXPECT_EQ(Requests(), (Lines{R"({"v":1,"method":"backfill.status","params":{"id":3}})",
                               R"({"v":1,"method":"backfill.status","params":{"id":3}})"}));
  EXPECT_EQ(server_->connections(), 1);

  server_->OnSequence("backfill.status", {FakeControlServer::Ok({{"backfill", RunningBackfill()}}),
                                          FakeControlServer::Ok({{"backfill", Backfill("failed", 116, 2, 0, 0)}})});
  r = Ctl("backfill watch 3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "backfill 3: 57/118 done, 2 failed, 2 running, 59 pending, 4.1/min, ETA 14m\n"
            "backfill 3 failed: 118/118 done, 2 failed, 0 running, 0 pending\n");

  server_->On("backfill.status", {{"backfill", Backfill("cancelled", 55, 2, 0, 61)}});
  r = Ctl("backfill watch 3 --json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Json::parse(r.out)["backfill"]["state"], "cancelled");
}

TEST_F(KilnctlControl, BackfillStartsThenWatchesOnOneConnection) {
  server_->On("backfill.start", {{"backfill", Backfill("running", 0, 0, 0, 118)}});
  server_->OnSequence("backfill.status", {FakeControlServer::Ok({{"backfill", RunningBackfill()}}),
                                          FakeControlServer::Ok({{"backfill", Backfill("succeeded", 118, 0, 0, 0)}})});
  CommandResult r = Ctl("backfill player_cache --start-date 2025-01-01 --end-date 2025-04-28");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "started backfill 3: player_cache 2025-01-01..2025-04-28, 118 runs, 3 skipped\n"
            "backfill 3: 57/118 done, 2 failed, 2 running, 59 pending, 4.1/min, ETA 14m\n"
            "backfill 3 succeeded: 118/118 done, 0 failed, 0 running, 0 pending\n");
  ASSERT_EQ(Requests().size(), 3u);
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(KilnctlControl, BackfillWatchPrintsAPlainLineEveryFiveSeconds) {
  // Eleven answers "running" (about 5.5 s of polling every 500 ms), then done.
  std::vector<FakeControlServer::Reply> replies(11, FakeControlServer::Ok({{"backfill", RunningBackfill()}}));
  replies.push_back(FakeControlServer::Ok({{"backfill", Backfill("succeeded", 118, 0, 0, 0)}}));
  server_->OnSequence("backfill.status", replies);
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Ctl("backfill watch 3");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5400));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string progress = "backfill 3: 57/118 done, 2 failed, 2 running, 59 pending, 4.1/min, ETA 14m\n";
  EXPECT_EQ(r.out, progress + progress + "backfill 3 succeeded: 118/118 done, 0 failed, 0 running, 0 pending\n");
  EXPECT_EQ(Requests().size(), 12u);
}

TEST_F(KilnctlControl, BackfillWatchDrawsABarOnATerminal) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "no script(1) to give kilnctl a terminal";
  server_->OnSequence("backfill.status", {FakeControlServer::Ok({{"backfill", RunningBackfill()}}),
                                          FakeControlServer::Ok({{"backfill", Backfill("failed", 116, 2, 0, 0)}})});
  CommandResult r = RunCommand("/usr/bin/script -qec '" + kCtl + " backfill watch 3 --socket " + server_->path() +
                               "' /dev/null");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("\r[#####.....] 57/118 done, 2 failed, 2 running, 4.1/min, ETA 14m\x1b[K"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\r[##########] 118/118 done, 2 failed, 0 running\x1b[K\r\n"
                       "backfill 3 failed: 118/118 done, 2 failed, 0 running, 0 pending\r\n"),
            std::string::npos)
      << r.out;
}

TEST_F(KilnctlControl, CtrlCStopsWatchingNotTheBackfill) {
  server_->On("backfill.status", {{"backfill", RunningBackfill()}});
  testing::DaemonProcess ctl(kCtl, {"backfill", "watch", "3", "--socket", server_->path()}, dir_ + "/watch.log");
  ASSERT_TRUE(testing::WaitFor([&] { return Requests().size() >= 2; }, std::chrono::seconds(10)));
  ctl.Signal(SIGINT);
  EXPECT_EQ(ctl.Wait(std::chrono::seconds(10)), 130);
  EXPECT_NE(ctl.Log().find("kilnctl: stopped watching; backfill 3 keeps running (resume with: kilnctl backfill "
                           "watch 3 --socket " + server_->path() + ")\n"),
            std::string::npos)
      << ctl.Log();
  for (const std::string& line : Requests()) EXPECT_EQ(line, R"({"v":1,"method":"backfill.status","params":{"id":3}})");
}

// ---- formatting ----

TEST(KilnctlFormat, DurationsEtasAndBars) {
  using namespace kiln::ctl;
  EXPECT_EQ(FormatDuration(850), "850ms");
  EXPECT_EQ(FormatDuration(12300), "12.3s");
  EXPECT_EQ(FormatDuration(245000), "4m05s");
  EXPECT_EQ(FormatDuration(7380000), "2h03m");
  EXPECT_EQ(FormatDuration(273600000), "3d04h");
  EXPECT_EQ(FormatEta(45), "45s");
  EXPECT_EQ(FormatEta(840), "14m");
  EXPECT_EQ(FormatEta(7500), "2h05m");
  EXPECT_EQ(ParseTimeMillis("1970-01-01T00:00:01.500Z"), 1500);
  EXPECT_EQ(ParseTimeMillis("1970-01-02T00:00:00Z"), 86400000);
  EXPECT_EQ(ParseTimeMillis("2025-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(ParseTimeMillis("2025-01-01T00:00:00+01:00"), std::nullopt);
  Json b = RunningBackfill();
  EXPECT_EQ(BackfillBar(b), "[#####.....] 57/118 done, 2 failed, 2 running, 4.1/min, ETA 14m");
  b["succeeded"] = 115;  // 117 of 118 done rounds to full: the bar stays short of it
  EXPECT_EQ(BackfillBar(b).substr(0, 12), "[#########.]");
  b["rate_per_min"] = nullptr;
  b["eta_seconds"] = nullptr;
  EXPECT_EQ(BackfillProgress(b, true), "117/118 done, 2 failed, 2 running, 59 pending");
  EXPECT_EQ(Truncate("short", 10), "short");
  EXPECT_EQ(Truncate("a much longer error", 10), "a much ...");
  EXPECT_EQ(Truncate("two\nlines", 10), "two...");
}

}  // namespace
}  // namespace kiln

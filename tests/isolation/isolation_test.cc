// Process isolation under a real kilnd: a gallery of misbehaving plugins
// runs every second beside a well-behaved one, and the ledger must record
// each misdeed with its cause while the daemon stays up and the good
// processor misses no slot.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/ledger/ledger.h"
#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/subprocess.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// ASan and TSan reserve terabytes of address space (RLIMIT_AS cannot apply)
// and catch SIGSEGV themselves.
#define KILN_SANITIZED 1
#else
#define KILN_SANITIZED 0
#endif

namespace kiln {
namespace {

using namespace std::chrono_literals;
using testing::DaemonProcess;
using testing::Request;
using testing::WaitFor;

bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';  // a zombie is gone too
}

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-iso-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(Isolation, MisbehavingPluginsAreContainedAndTheGoodOneMissesNoSlot) {
  std::string config = "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\", \"" KILN_SLEEPER_DIR
                       "\"]\nstate_dir = \"state\"\nworkers = 12\n\n"
                       "[[processor]]\nname = \"tick\"\nplugin = \"sleeper\"\nevery = \"1s\"\n\n";
  auto add = [&](const std::string& mode, const std::string& extra = "") {
    config += "[[processor]]\nname = \"" + mode + "\"\nplugin = \"misbehave\"\nevery = \"1s\"\noptions = { mode = \"" +
              mode + "\", pid_file = \"" + dir_ + "/pids\" }\n" + extra + "\n";
  };
  for (const char* mode : {"segfault", "abort", "throw", "exit", "forkbomb", "flood", "badframe"}) add(mode);
  add("hang", "timeout = \"1s\"\n");
  if (!KILN_SANITIZED) add("alloc", "memory_limit = \"512MiB\"\n");
  std::ofstream(dir_ + "/kiln.toml") << config;

  DaemonProcess d(KILND, {"--config", dir_ + "/kiln.toml"}, dir_ + "/kilnd.log");
  const std::string socket = dir_ + "/state/run/kilnd.sock";
  ASSERT_TRUE(WaitFor([&] { return !Request(socket, "status").is_null(); }, 10s)) << d.Log();
  std::this_thread::sleep_for(9s);
  nlohmann::json status = Request(socket, "status");
  ASSERT_TRUE(status.value("ok", false)) << "kilnd stopped answering";
  d.Signal(SIGTERM);
  ASSERT_EQ(d.Wait(30s), 0) << d.Log();

  std::unique_ptr<Ledger> ledger;
  ASSERT_TRUE(Ledger::Open(dir_ + "/state/ledger.db", LedgerOptions(), &ledger).ok());
  RunFilter all;
  all.limit = 0;
  std::vector<RunRecord> runs;
  ASSERT_TRUE(ledger->ListRuns(all, &runs).ok());
  std::map<std::string, std::vector<RunRecord>> by;
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) by[it->processor].push_back(*it);  // oldest first

  auto errors_of = [&](const std::string& p) {
    std::map<std::string, int> e;
    for (const RunRecord& r : by[p]) ++e[std::string(RunStatusName(r.status)) + ": " + r.error];
    return e;
  };
  auto has = [&](const std::string& p, const std::string& status_and_error) {
    return errors_of(p).count(status_and_error) > 0;
  };
  // Under ASan or TSan the sanitizer catches the SIGSEGV and ends the worker itself
  // (exit status or SIGABRT, per ASAN_OPTIONS); the containment is the same.
  bool segv = false;
  for (const auto& [text, n] : errors_of("segfault")) {
    segv |= KILN_SANITIZED ? text.rfind("failed: processor 'segfault': worker ", 0) == 0 &&
                            text.find(" during extract") != std::string::npos
                      : text == "failed: processor 'segfault': worker killed by SIGSEGV (Segmentation fault) during extract";
  }
  EXPECT_TRUE(segv) << ::testing::PrintToString(errors_of("segfault"));
  EXPECT_TRUE(has("abort", "failed: processor 'abort': worker killed by SIGABRT (Aborted) during extract"))
      << ::testing::PrintToString(errors_of("abort"));
  EXPECT_TRUE(has("throw", "failed: processor 'throw': extract failed: thrown on purpose"))
      << ::testing::PrintToString(errors_of("throw"));
  EXPECT_TRUE(has("exit", "failed: processor 'exit': worker exited with status 3 during extract"))
      << ::testing::PrintToString(errors_of("exit"));
  // A frame kilnd cannot take as typed ends the worker, not kilnd.
  EXPECT_TRUE(has("badframe", "failed: processor 'badframe': worker killed by SIGKILL (Killed): worker frame field "
                              "'level': expected an integer 0..6"))
      << ::testing::PrintToString(errors_of("badframe"));
  EXPECT_TRUE(has("hang", "timed_out: timed out after 1000 ms")) << ::testing::PrintToString(errors_of("hang"));
  if (!KILN_SANITIZED) {
    bool memory = false;
    for (const RunRecord& r : by["alloc"]) memory |= r.error.find("memory limit exceeded") != std::string::npos;
    EXPECT_TRUE(memory) << ::testing::PrintToString(errors_of("alloc"));
  }
  // A worker that keeps crashing is paused, not respawned in a hot loop.
  EXPECT_TRUE(has("segfault", "failed: processor 'segfault' is paused: its worker crashed 5 times in a row; fix the "
                              "plugin, then reload the config"))
      << ::testing::PrintToString(errors_of("segfault"));
  EXPECT_LE(by["segfault"].size(), 12u);

  // The flood was drained and capped, and did not fail the run.
  ASSERT_FALSE(by["flood"].empty());
  EXPECT_EQ(by["flood"][0].status, RunStatus::kSucceeded) << by["flood"][0].error;
  std::vector<LogLineRecord> lines;
  ASSERT_TRUE(ledger->GetRunLog(by["flood"][0].id, 0, &lines).ok());
  ASSERT_EQ(lines.size(), kMaxRunLogLines);
  EXPECT_EQ(lines.back().message.rfind("(", 0), 0u);  // "(N more lines dropped)"

  // The fork bomb's children died with its worker's process group.
  std::ifstream pids(dir_ + "/pids");
  int children = 0;
  for (pid_t pid; pids >> pid; ++children) {
    EXPECT_TRUE(WaitFor([&] { return ProcessGone(pid); }, 5s)) << "child " << pid << " outlived its worker";
  }
  EXPECT_GE(children, 20);

  // The good processor ran every second, on time, through all of it.
  std::vector<int64_t> slots;
  for (const RunRecord& r : by["tick"]) {
    EXPECT_EQ(r.status, RunStatus::kSucceeded) << r.error;
    slots.push_back(*r.scheduled_ms);
  }
  ASSERT_GE(slots.size(), 8u);
  for (size_t i = 1; i < slots.size(); ++i) EXPECT_EQ(slots[i] - slots[i - 1], 1000) << "missed a slot at " << i;
  for (const RunRecord& r : by["tick"]) EXPECT_LT(r.start_ms - *r.scheduled_ms, 500) << "run " << r.id << " started late";
}

// A worker sees none of kilnd's environment but a fixed PATH, the locale,
// the time zone and sanitizer settings: no secret of the daemon's reaches
// third-party code, and no LD_PRELOAD or shell variable changes how it runs.
TEST_F(Isolation, WorkersGetAScrubbedEnvironment) {
  setenv("KILN_TEST_SECRET", "hunter2", 1);
  setenv("LD_LIBRARY_PATH", "/nonexistent", 1);
  setenv("IFS", ":", 1);
  std::ofstream(dir_ + "/kiln.toml") << "[daemon]\nplugin_dirs = [\"" KILN_TEST_PLUGIN_DIR "\"]\nstate_dir = \"state\"\n"
                                        "[[processor]]\nname = \"env\"\nplugin = \"misbehave\"\n"
                                        "options = { mode = \"environ\", pid_file = \"" + dir_ + "/env\" }\n";
  DaemonProcess d(KILND, {"--config", dir_ + "/kiln.toml"}, dir_ + "/kilnd.log");
  unsetenv("KILN_TEST_SECRET");
  unsetenv("LD_LIBRARY_PATH");
  unsetenv("IFS");
  const std::string socket = dir_ + "/state/run/kilnd.sock";
  ASSERT_TRUE(WaitFor([&] { return !Request(socket, "status").is_null(); }, 10s)) << d.Log();
  ASSERT_TRUE(Request(socket, "trigger", {{"processor", "env"}}).value("ok", false));
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ + "/env"); }, 10s)) << d.Log();
  d.Signal(SIGTERM);
  ASSERT_EQ(d.Wait(30s), 0) << d.Log();

  std::ifstream in(dir_ + "/env");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    const std::string name = line.substr(0, line.find('='));
    if (name.find("SAN_OPTIONS") != std::string::npos || name == "TZ") continue;  // passed on when kilnd has them
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"KILN_WORKER", "LANG", "PATH"}));
}

// No shell in the run path: the host binaries import nothing that runs one
// (system, popen, wordexp) or searches PATH for a program (exec*p,
// posix_spawnp). kilnd starts kiln-worker by absolute path with posix_spawn.
TEST(NoShell, HostBinariesImportNothingThatRunsAShell) {
  const std::string bin = std::filesystem::path(KILND).parent_path().string();
  for (const std::string binary : {"kilnd", "kiln-worker", "kilnctl"}) {
    testing::CommandResult r = testing::RunCommand("nm -D --undefined-only " + bin + "/" + binary);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(r.out.find(" U "), std::string::npos) << "nm printed no imports for " << binary;
    for (const char* symbol : {"system", "popen", "wordexp", "execl", "execlp", "execle", "execvp", "execvpe",
                               "posix_spawnp"}) {
      const std::string imported = std::string(" U ") + symbol;
      for (size_t at = r.out.find(imported); at != std::string::npos; at = r.out.find(imported, at + 1)) {
        const char next = r.out[at + imported.size()];
        EXPECT_TRUE(next != '\n' && next != '@') << binary << " imports " << symbol;
      }
    }
  }
}

}  // namespace
}  // namespace kiln

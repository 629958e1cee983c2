// Resource faults under a real kilnd: full disk, read-only state directory,
// a ledger locked by another process, a plugin_dir removed, a control socket
// path taken. Each: the exact error, no corruption (integrity_check ok, no
// succeeded run lost), and recovery once the fault clears.
//
// Disk faults need a real ENOSPC and EROFS, so those tests mount a small
// tmpfs as the state directory, inside a mount namespace private to the test
// process (unshare(CLONE_NEWNS)): the mount goes away with the process and
// is never seen outside it; kilnd, spawned by the test, shares it. Without
// the privilege to do that they are skipped, saying why.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/reliability/reliability_util.h"
#include "tests/support/subprocess.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::LedgerView;
using testing::Request;
using testing::RunCommand;
using testing::ScratchDir;
using testing::WaitFor;
namespace fs = std::filesystem;

class Faults : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/state";
    socket_ = state_ + "/run/kilnd.sock";
    ledger_ = state_ + "/ledger.db";
    plugins_ = dir_.path() + "/plugins";
    fs::create_directories(plugins_);
    fs::create_directories(state_);
    fs::copy_file(KILN_TEST_PLUGIN_DIR "/sleeper.so", plugins_ + "/sleeper.so");
    WriteConfig();
  }
  void TearDown() override {
    daemons_.clear();  // SIGKILLs whatever still runs
    if (mounted_) umount2(state_.c_str(), MNT_DETACH);
  }

  // max_runs_per_worker = 1: every run starts a fresh kiln-worker, which
  // loads the plugin from kilnd's private copy: a run proves the copy is
  // still there.
  void WriteConfig(const std::string& daemon_extra = "", int sleep_ms = 20) {
    std::ofstream(dir_.path() + "/kiln.toml")
        << "[daemon]\nplugin_dirs = [\"plugins\"]\nstate_dir = \"state\"\nworkers = 2\n" << daemon_extra
        << "\n[[processor]]\nname = \"p\"\nplugin = \"sleeper\"\nmax_runs_per_worker = 1\n"
           "options = { sleep_ms = " << sleep_ms << " }\n";
  }
  std::string Config() const { return dir_.path() + "/kiln.toml"; }

  DaemonProcess& Spawn(const std::string& log_name = "kilnd.log") {
    daemons_.push_back(std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", Config()},
                                                       dir_.path() + "/" + log_name));
    return *daemons_.back();
  }
  // Starts kilnd and waits until it answers on its socket.
  DaemonProcess& Start(const std::string& log_name = "kilnd.log") {
    DaemonProcess& d = Spawn(log_name);
    EXPECT_TRUE(WaitFor([&] { return !Request(socket_, "status").is_null() || !d.Running(); }, 15s)) << d.Log();
    return d;
  }
  void Stop(DaemonProcess& d) {
    d.Signal(SIGTERM);
    EXPECT_EQ(d.Wait(30s), 0) << d.Log();
  }
  json Trigger(const std::string& date) {
    return Request(socket_, "trigger", {{"processor", "p"}, {"date", date}});
  }
  bool HasLine(DaemonProcess& d, const std::string& text, std::chrono::milliseconds timeout) {
    return WaitFor([&] { return d.Log().find(text) != std::string::npos; }, timeout);
  }
  size_t Count(DaemonProcess& d, const std::string& text) {
    const std::string log = d.Log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }
  std::map<std::string, int> Succeeded() {
    LedgerView v(ledger_, immutable_);
    return v.Succeeded("p");
  }
  bool SucceededCount(size_t n, std::chrono::milliseconds timeout) {
    return WaitFor([&] { return Succeeded().size() >= n; }, timeout);
  }
  // integrity_check ok, each of `days` succeeded exactly once.
  void ExpectIntactWith(const std::vector<std::string>& days) {
    LedgerView v(ledger_, immutable_);
    EXPECT_EQ(v.IntegrityCheck(), "ok");
    const std::map<std::string, int> done = v.Succeeded("p");
    for (const std::string& day : days) {
      auto it = done.find(day);
      EXPECT_TRUE(it != done.end() && it->second == 1) << day << ": " << (it == done.end() ? 0 : it->second);
    }
  }

  // A private mount namespace and a tmpfs of `size` on the state directory.
  // False (with the reason) when the process may not do that.
  bool MountStateTmpfs(const std::string& size, std::string* why) {
    if (unshare(CLONE_NEWNS) != 0) {
      *why = std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
      return false;
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      *why = std::string("mount --make-rprivate /: ") + std::strerror(errno);
      return false;
    }
    if (mount("kiln-test", state_.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0755").c_str()) != 0) {
      *why = std::string("mount tmpfs: ") + std::strerror(errno);
      return false;
    }
    mounted_ = true;
    return true;
  }
  int Remount(bool read_only) {
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return mount("kiln-test", state_.c_str(), "tmpfs", flags, nullptr) == 0 ? 0 : errno;
  }
  // Writes `path` until the file system has no byte left.
  void FillDisk(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::setvbuf(f, nullptr, _IONBF, 0);
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
    }
    while (std::fwrite("x", 1, 1, f) == 1) {
    }
    std::fclose(f);
  }

  ScratchDir dir_{"kiln-fault"};
  std::string state_, socket_, ledger_, plugins_;
  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
  bool mounted_ = false;
  bool immutable_ = false;  // the ledger is on read-only media: read it as such
};

const std::vector<std::string> kFirst = {"2024-01-01", "2024-01-02", "2024-01-03"};

TEST_F(Faults, FullDiskDelaysRunsAndLosesNone) {
  std::string why;
  if (!MountStateTmpfs("1m", &why)) GTEST_SKIP() << "cannot mount a tmpfs state dir to fill (" << why << ")";
  DaemonProcess& d = Start();
  for (const std::string& day : kFirst) ASSERT_EQ(Trigger(day)["ok"], true);
  ASSERT_TRUE(SucceededCount(3, 15s)) << d.Log();

  FillDisk(state_ + "/filler");
  ASSERT_EQ(Trigger("2024-01-04")["ok"], true);
  const std::string line = "cannot record the run's start (retrying until the ledger accepts it): ledger " + ledger_ +
                           ": write failed: No space left on device";
  ASSERT_TRUE(HasLine(d, line, 10s)) << d.Log();
  ASSERT_EQ(Trigger("2024-01-05")["ok"], true);
  std::this_thread::sleep_for(500ms);
  // kilnd keeps running and answering; nothing committed is lost.
  EXPECT_TRUE(d.Running());
  EXPECT_EQ(Request(socket_, "status")["ok"], true);
  ExpectIntactWith(kFirst);
  EXPECT_EQ(Succeeded().size(), 3u);

  // Space again: the waiting runs are recorded and run, once each.
  fs::remove(state_ + "/filler");
  ASSERT_TRUE(SucceededCount(5, 15s)) << d.Log();
  EXPECT_TRUE(HasLine(d, "ledger accepted the run's start after", 1s));
  Stop(d);
  ExpectIntactWith({"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"});
  LedgerView v(ledger_);
  EXPECT_EQ(v.Int("SELECT count(*) FROM runs WHERE status != 'succeeded'"), 0);
}

// The disk fills while a run is in flight: its end cannot be written, so it
// is not reported; once there is space it is recorded succeeded, once.
TEST_F(Faults, FullDiskDuringARunDelaysItsEndAndLosesNothing) {
  std::string why;
  if (!MountStateTmpfs("1m", &why)) GTEST_SKIP() << "cannot mount a tmpfs state dir to fill (" << why << ")";
  WriteConfig("", 1500);
  DaemonProcess& d = Start();
  ASSERT_EQ(Trigger("2024-01-01")["ok"], true);
  ASSERT_TRUE(WaitFor([&] { return LedgerView(ledger_).Int("SELECT count(*) FROM runs WHERE status = 'running'") == 1; },
                      10s))
      << d.Log();
  FillDisk(state_ + "/filler");
  const std::string line = "cannot record the run's end (retrying until the ledger accepts it): ledger " + ledger_ +
                           ": write failed: No space left on device";
  ASSERT_TRUE(HasLine(d, line, 10s)) << d.Log();
  EXPECT_TRUE(d.Running());
  EXPECT_EQ(Request(socket_, "status")["ok"], true);
  EXPECT_TRUE(Succeeded().empty()) << "a run reported succeeded while the ledger could not say so";

  fs::remove(state_ + "/filler");
  ASSERT_TRUE(SucceededCount(1, 15s)) << d.Log();
  EXPECT_TRUE(HasLine(d, "ledger accepted the run's end after", 1s)) << d.Log();
  Stop(d);
  ExpectIntactWith({"2024-01-01"});
  EXPECT_EQ(LedgerView(ledger_).Int("SELECT count(*) FROM runs"), 1);
}

TEST_F(Faults, ReadOnlyStateDirRefusesStartAndKeepsTheLedger) {
  std::string why;
  if (!MountStateTmpfs("4m", &why)) GTEST_SKIP() << "cannot mount a tmpfs state dir to make read-only (" << why << ")";
  {
    DaemonProcess& d = Start();
    for (const std::string& day : kFirst) ASSERT_EQ(Trigger(day)["ok"], true);
    ASSERT_TRUE(SucceededCount(3, 15s)) << d.Log();

    // While kilnd has the ledger open for writing, the kernel refuses to
    // make the file system read-only (EBUSY): a running kilnd cannot find
    // its ledger's file system remounted read-only under it.
    EXPECT_EQ(Remount(true), EBUSY);
    ASSERT_EQ(Trigger("2024-01-04")["ok"], true);
    ASSERT_TRUE(SucceededCount(4, 15s)) << d.Log();
    Stop(d);
  }
  ASSERT_EQ(Remount(true), 0) << "kilnd stopped: nothing is open for writing";

  // Start-up on a read-only state dir: one line naming it, exit 1, the
  // ledger untouched.
  DaemonProcess& refused = Spawn("refused.log");
  EXPECT_EQ(refused.Wait(15s), 1);
  EXPECT_EQ(refused.Log(), "state_dir " + state_ + ": not writable: Read-only file system\n");
  immutable_ = true;  // no -shm can be created there
  ExpectIntactWith({"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"});
  immutable_ = false;

  // Writable again: kilnd starts and records runs.
  ASSERT_EQ(Remount(false), 0);
  DaemonProcess& d = Start("kilnd-2.log");
  ASSERT_EQ(Trigger("2024-01-05")["ok"], true);
  ASSERT_TRUE(SucceededCount(5, 15s)) << d.Log();
  Stop(d);
  ExpectIntactWith({"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"});
}

// Another process holding the ledger's write lock (BEGIN EXCLUSIVE, as the
// sqlite3 shell would) from this test process.
class Locker {
 public:
  explicit Locker(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    rc_ = sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr);
  }
  ~Locker() { Release(); }
  bool locked() const { return rc_ == SQLITE_OK; }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

TEST_F(Faults, LockedLedgerMakesRunsAndStartUpWait) {
  DaemonProcess& d = Start();
  ASSERT_EQ(Trigger("2024-01-01")["ok"], true);
  ASSERT_TRUE(SucceededCount(1, 15s)) << d.Log();

  // A run while the lock is held waits (busy_timeout, then retries), and is
  // recorded once the lock is released.
  {
    Locker lock(ledger_);
    ASSERT_TRUE(lock.locked());
    ASSERT_EQ(Trigger("2024-01-02")["ok"], true);
    ASSERT_TRUE(HasLine(d, "cannot record the run's start (retrying until the ledger accepts it): ledger " + ledger_ +
                               ": database is locked",
                        15s))
        << d.Log();
    EXPECT_EQ(Request(socket_, "status")["ok"], true);
  }
  ASSERT_TRUE(SucceededCount(2, 15s)) << d.Log();
  EXPECT_TRUE(HasLine(d, "ledger accepted the run's start after", 1s)) << d.Log();
  Stop(d);

  // Start-up while the lock is held waits for it instead of exiting.
  Locker lock(ledger_);
  ASSERT_TRUE(lock.locked());
  DaemonProcess& waiting = Spawn("kilnd-2.log");
  ASSERT_TRUE(HasLine(waiting, "ledger " + ledger_ +
                                   ": database is locked: another process holds the ledger's lock; kilnd waits for it "
                                   "(retrying every second)",
                      15s))
      << waiting.Log();
  EXPECT_TRUE(waiting.Running());
  lock.Release();
  ASSERT_TRUE(HasLine(waiting, "kilnd started", 15s)) << waiting.Log();
  EXPECT_TRUE(HasLine(waiting, "ledger lock released after", 1s));
  ASSERT_TRUE(WaitFor([&] { return !Request(socket_, "status").is_null(); }, 5s));
  ASSERT_EQ(Trigger("2024-01-03")["ok"], true);
  ASSERT_TRUE(SucceededCount(3, 15s)) << waiting.Log();
  Stop(waiting);
  ExpectIntactWith(kFirst);
}

TEST_F(Faults, PluginDirRemovedWhileRunning) {
  DaemonProcess& d = Start();
  ASSERT_EQ(Trigger("2024-01-01")["ok"], true);
  ASSERT_TRUE(SucceededCount(1, 15s)) << d.Log();

  fs::remove_all(plugins_);
  const std::string gone = "plugin_dir " + plugins_ + " was removed: loaded plugins keep running; watching for it to come back";
  ASSERT_TRUE(HasLine(d, gone, 5s)) << d.Log();
  // The loaded plugin keeps running, in new workers too (its copy is kilnd's).
  ASSERT_EQ(Trigger("2024-01-02")["ok"], true);
  ASSERT_TRUE(SucceededCount(2, 15s)) << d.Log();

  // A reload fails where a fresh start would, and changes nothing.
  json r = Request(socket_, "reload");
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"]["message"], "reload failed with 1 error(s): keeping the running config");
  const std::string missing = Config() + ":6:1: plugin 'sleeper' not found in plugin_dirs (" + plugins_ +
                              ") (missing: " + plugins_ + ")";
  EXPECT_EQ(r["error"]["details"], json::array({missing}));
  auto ctl = RunCommand(std::string(KILNCTL) + " reload-config --socket " + socket_);
  EXPECT_EQ(ctl.exit_code, 1) << ctl.out << ctl.err;
  EXPECT_EQ(ctl.err, "kilnctl: reload failed with 1 error(s): keeping the running config\n  " + missing + "\n");
  ctl = RunCommand(std::string(KILNCTL) + " reload sleeper --socket " + socket_);
  EXPECT_EQ(ctl.exit_code, 1) << ctl.out << ctl.err;
  EXPECT_EQ(ctl.err, "kilnctl: plugin 'sleeper': new version refused: " + Config() +
                         ":8:10: plugin 'sleeper' not found in plugin_dirs (" + plugins_ + ")\n")
      << ctl.out;
  ASSERT_EQ(Trigger("2024-01-03")["ok"], true);
  ASSERT_TRUE(SucceededCount(3, 15s)) << d.Log();

  // The directory comes back: watched again, and a new build copied into it
  // is swapped in.
  fs::create_directories(plugins_);
  ASSERT_TRUE(HasLine(d, "plugin_dir " + plugins_ + " is back: watching it again", 5s)) << d.Log();
  fs::copy_file(KILN_SLEEPER_B_DIR "/sleeper.so", plugins_ + "/.sleeper.so.tmp");
  fs::rename(plugins_ + "/.sleeper.so.tmp", plugins_ + "/sleeper.so");
  ASSERT_TRUE(HasLine(d, "plugin 'sleeper' swapped: 1.0.0", 10s)) << d.Log();
  r = Request(socket_, "reload");
  EXPECT_EQ(r["ok"], true) << r.dump();
  ASSERT_EQ(Trigger("2024-01-04")["ok"], true);
  ASSERT_TRUE(SucceededCount(4, 15s)) << d.Log();
  EXPECT_EQ(Count(d, gone), 1u);
  Stop(d);
  ExpectIntactWith({"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"});
}

TEST_F(Faults, ControlSocketTaken) {
  // (a) A live kilnd owns the socket: a second one says so, exits 1, and
  // takes nothing from the first (socket, plugin copy, ledger).
  DaemonProcess& first = Start();
  ASSERT_EQ(Trigger("2024-01-01")["ok"], true);
  ASSERT_TRUE(SucceededCount(1, 15s)) << first.Log();
  DaemonProcess& second = Spawn("second.log");
  EXPECT_EQ(second.Wait(15s), 1);
  EXPECT_EQ(second.Log(), "control_socket " + socket_ + ": in use by another kilnd\n");
  EXPECT_TRUE(fs::is_socket(socket_));
  EXPECT_EQ(Request(socket_, "status")["ok"], true);
  ASSERT_EQ(Trigger("2024-01-02")["ok"], true);  // a new worker loads the private copy
  ASSERT_TRUE(SucceededCount(2, 15s)) << first.Log();

  // The same state dir through another socket: refused by the state lock.
  WriteConfig("control_socket = \"other.sock\"\n");
  DaemonProcess& third = Spawn("third.log");
  EXPECT_EQ(third.Wait(15s), 1);
  EXPECT_EQ(third.Log(), "state_dir " + state_ + ": in use by another kilnd (pid " + std::to_string(first.pid()) + ")\n");
  EXPECT_FALSE(fs::exists(dir_.path() + "/other.sock"));
  WriteConfig();
  ASSERT_EQ(Trigger("2024-01-03")["ok"], true);
  ASSERT_TRUE(SucceededCount(3, 15s)) << first.Log();

  // (b) A socket left by kill -9: removed, and kilnd starts.
  first.Signal(SIGKILL);
  first.Wait(10s);
  ASSERT_TRUE(fs::is_socket(socket_));
  DaemonProcess& after = Start("after.log");
  EXPECT_TRUE(HasLine(after, "control_socket " + socket_ +
                                 ": removing a stale socket nobody listens on (left by a kilnd that died)",
                      1s));
  EXPECT_EQ(Request(socket_, "status")["ok"], true);
  Stop(after);
  EXPECT_FALSE(fs::exists(socket_));

  // (c) Something else at the path: refused, left as it was.
  std::ofstream(socket_) << "not a socket\n";
  DaemonProcess& file = Spawn("file.log");
  EXPECT_EQ(file.Wait(15s), 1);
  EXPECT_EQ(file.Log(), "control_socket " + socket_ + ": exists and is a regular file, not a socket\n");
  EXPECT_EQ(testing::Slurp(socket_), "not a socket\n");
  fs::remove(socket_);
  fs::create_directory(socket_);
  DaemonProcess& directory = Spawn("dir.log");
  EXPECT_EQ(directory.Wait(15s), 1);
  EXPECT_EQ(directory.Log(), "control_socket " + socket_ + ": exists and is a directory, not a socket\n");
  EXPECT_TRUE(fs::is_directory(socket_));
  ExpectIntactWith(kFirst);
}

}  // namespace
}  // namespace kiln

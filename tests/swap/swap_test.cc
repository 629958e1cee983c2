// Hot swap under a running kilnd: replace, refuse, roll back, unload.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "host/base/sha256.h"
#include "host/ledger/ledger.h"
#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/subprocess.h"

namespace kiln {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::Request;
using testing::WaitFor;
namespace fs = std::filesystem;

class Swap : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-swap-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/plugins");
    Install("v1");
    std::ofstream(dir_ + "/kiln.toml") << "[daemon]\nplugin_dirs = [\"plugins\"]\nstate_dir = \"state\"\n\n"
                                          "[[processor]]\nname = \"s\"\nplugin = \"swappable\"\nevery = \"1s\"\n"
                                          "rollback_after_failures = 2\nisolation = \""
                                       << GetParam() << "\"\n";
    kilnd_ = std::make_unique<DaemonProcess>(KILND, std::vector<std::string>{"--config", dir_ + "/kiln.toml"},
                                             dir_ + "/kilnd.log");
    socket_ = dir_ + "/state/run/kilnd.sock";
    ASSERT_TRUE(WaitFor([&] { return !Request(socket_, "status").is_null(); }, 10s)) << kilnd_->Log();
    ASSERT_TRUE(Ledger::Open(dir_ + "/state/ledger.db", LedgerOptions(), &ledger_).ok());
  }
  void TearDown() override {
    kilnd_->Signal(SIGTERM);
    EXPECT_EQ(kilnd_->Wait(20s), 0) << kilnd_->Log();
    ledger_.reset();
    fs::remove_all(dir_);
  }

  // As a deployment should: write beside, then rename over.
  void Install(const std::string& version) {
    fs::copy_file(std::string(KILN_SWAP_VERSIONS) + "/" + version + ".so", dir_ + "/plugins/.swappable.so.tmp",
                  fs::copy_options::overwrite_existing);
    fs::rename(dir_ + "/plugins/.swappable.so.tmp", dir_ + "/plugins/swappable.so");
  }
  std::optional<RunRecord> Latest() {
    RunFilter f;
    f.limit = 1;
    std::vector<RunRecord> runs;
    ledger_->ListRuns(f, &runs);
    if (runs.empty()) return std::nullopt;
    return runs[0];
  }
  bool LatestIs(const std::string& version, RunStatus status) {
    auto r = Latest();
    return r && r->plugin_version == version && r->status == status;
  }
  std::map<std::string, std::string> History() {
    std::map<std::string, std::string> out;
    const json reply = Request(socket_, "plugins", json::object({{"history", true}}));  // kept: range-for would dangle
    if (!reply.contains("result")) return out;
    for (const json& v : reply["result"]["history"]) {
      out[v["version"]] = v["state"];
    }
    return out;
  }
  // The private copies kilnd has mapped.
  std::vector<std::string> MappedCopies() {
    std::ifstream maps("/proc/" + std::to_string(kilnd_->pid()) + "/maps");
    std::set<std::string> files;
    for (std::string line; std::getline(maps, line);) {
      auto at = line.find(dir_ + "/state/plugins/");
      if (at != std::string::npos) files.insert(line.substr(at));
    }
    return {files.begin(), files.end()};
  }

  std::string dir_, socket_;
  std::unique_ptr<DaemonProcess> kilnd_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_P(Swap, ReplaceRefuseRollBackAndUnload) {
  ASSERT_TRUE(WaitFor([&] { return LatestIs("1.0.0", RunStatus::kSucceeded); }, 10s)) << kilnd_->Log();
  EXPECT_EQ(MappedCopies().size(), 1u);

  // A new version, renamed into place: it serves without a restart.
  Install("v2");
  ASSERT_TRUE(WaitFor([&] { return LatestIs("2.0.0", RunStatus::kSucceeded); }, 10s)) << kilnd_->Log();
  // The old image is unloaded and its private copy deleted.
  ASSERT_TRUE(WaitFor([&] { return History()["1.0.0"] == "retired"; }, 10s))
      << ::testing::PrintToString(History()) << kilnd_->Log();
  EXPECT_EQ(MappedCopies().size(), 1u) << ::testing::PrintToString(MappedCopies());
  size_t copies = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/state/plugins")) copies += e.path().extension() == ".so";
  EXPECT_EQ(copies, 1u);

  // A version whose init fails is refused; the old one keeps serving.
  Install("v3_bad_init");
  ASSERT_TRUE(WaitFor([&] { return History()["3.0.0"] == "rejected"; }, 10s)) << kilnd_->Log();
  EXPECT_NE(kilnd_->Log().find("swap of plugin 'swappable' refused, version 2.0.0 keeps serving: trial "
                               "configure/init of processor 's' failed: "),
            std::string::npos);
  EXPECT_TRUE(WaitFor([&] { return LatestIs("2.0.0", RunStatus::kSucceeded); }, 5s));
  EXPECT_EQ(History()["2.0.0"], "serving");

  // Asking again for the same file changes nothing.
  Install("v2");
  json again = Request(socket_, "reload", json::object({{"plugin", "swappable"}}));
  EXPECT_EQ(again["result"]["outcome"].get<std::string>().rfind("plugin 'swappable' unchanged", 0), 0u) << again;

  // A version whose runs all fail: after 2 failures kilnd rolls back.
  Install("v4_bad_run");
  ASSERT_TRUE(WaitFor([&] { return History()["4.0.0"] == "rolled back"; }, 15s)) << kilnd_->Log();
  EXPECT_TRUE(WaitFor([&] { return LatestIs("2.0.0", RunStatus::kSucceeded); }, 5s)) << kilnd_->Log();
  EXPECT_NE(kilnd_->Log().find("plugin 'swappable' version 4.0.0 failed its first runs of 's': rolled back to version 2.0.0"),
            std::string::npos);
  // Copied over in place (no rename): kilnd waits for the file to settle.
  fs::copy_file(std::string(KILN_SWAP_VERSIONS) + "/v1.so", dir_ + "/plugins/swappable.so",
                fs::copy_options::overwrite_existing);
  EXPECT_TRUE(WaitFor([&] { return LatestIs("1.0.0", RunStatus::kSucceeded); }, 10s)) << kilnd_->Log();
  EXPECT_TRUE(Request(socket_, "status")["ok"]);
}

// A pinned plugin swaps only to the pinned contents: a new file that hashes
// to anything else is refused before it is mapped, and the old one serves on.
TEST_P(Swap, APinnedPluginSwapsOnlyToThePinnedContents) {
  ASSERT_TRUE(WaitFor([&] { return LatestIs("1.0.0", RunStatus::kSucceeded); }, 10s)) << kilnd_->Log();
  std::string v1, v2;
  ASSERT_TRUE(Sha256File(std::string(KILN_SWAP_VERSIONS) + "/v1.so", &v1).ok());
  ASSERT_TRUE(Sha256File(std::string(KILN_SWAP_VERSIONS) + "/v2.so", &v2).ok());
  std::ofstream(dir_ + "/kiln.toml", std::ios::app) << "\n[plugin.swappable]\nsha256 = \"" << v1 << "\"\n";
  ASSERT_TRUE(Request(socket_, "reload").contains("result")) << kilnd_->Log();

  Install("v2");
  const std::string refused = "swap of plugin 'swappable' refused, version 1.0.0 keeps serving: " + dir_ +
                              "/kiln.toml:7:10: plugin 'swappable': " + dir_ + "/plugins/swappable.so has sha256 " +
                              v2 + ", but [plugin.swappable] pins " + v1;
  ASSERT_TRUE(WaitFor([&] { return kilnd_->Log().find(refused) != std::string::npos; }, 10s)) << kilnd_->Log();
  EXPECT_TRUE(WaitFor([&] { return LatestIs("1.0.0", RunStatus::kSucceeded); }, 5s));
  EXPECT_EQ(History().count("2.0.0"), 0u) << "v2 was loaded: " << ::testing::PrintToString(History());
  // Refused before it was mapped: no private copy of v2 was ever kept.
  EXPECT_FALSE(fs::exists(dir_ + "/state/plugins/swappable-" + v2.substr(0, 16) + ".so"));
  EXPECT_EQ(MappedCopies().size(), 1u) << ::testing::PrintToString(MappedCopies());

  // Pinning the new contents lets the same file in.
  std::ofstream(dir_ + "/kiln.toml", std::ios::app) << "# pin moved to v2\n";
  std::string config = testing::Slurp(dir_ + "/kiln.toml");
  config.replace(config.find(v1), v1.size(), v2);
  std::ofstream(dir_ + "/kiln.toml") << config;
  json reload = Request(socket_, "reload", json::object({{"plugin", "swappable"}}));
  ASSERT_TRUE(reload.contains("result")) << reload << kilnd_->Log();
  EXPECT_TRUE(WaitFor([&] { return LatestIs("2.0.0", RunStatus::kSucceeded); }, 10s)) << kilnd_->Log();
}

INSTANTIATE_TEST_SUITE_P(Isolation, Swap, ::testing::Values("process", "inprocess"));

}  // namespace
}  // namespace kiln

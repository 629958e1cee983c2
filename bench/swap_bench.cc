// Issue 6's figures, against a real kilnd whose processor runs every 20 ms:
//   - latency from rename() of a new plugin build to the first run on it,
//     p50 / p99 / max over N swaps (goal <= 50 ms);
//   - the soak: over those N swaps under continuous runs, runs that failed
//     (goal 0), and kilnd's mappings of plugin copies and its RSS before and
//     after (goal: flat).
//
//   swap_bench [--swaps N]   (default 200; the soak is 1000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/ledger/ledger.h"
#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::pair<size_t, long> MapsAndRss(pid_t pid, const std::string& copies_dir) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) n += line.find(copies_dir) != std::string::npos;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  long rss = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::atol(line.c_str() + 6);
  }
  return {n, rss};
}

}  // namespace

int main(int argc, char** argv) {
  int swaps = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--swaps")) swaps = std::atoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/kiln-swapbench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  fs::create_directories(dir + "/plugins");
  const std::string versions = KILN_SWAP_VERSIONS;
  auto install = [&](const char* v) {
    fs::copy_file(versions + "/" + v + ".so", dir + "/plugins/.tmp.so", fs::copy_options::overwrite_existing);
    fs::rename(dir + "/plugins/.tmp.so", dir + "/plugins/swappable.so");
  };
  install("v1");
  std::ofstream(dir + "/kiln.toml") << "[daemon]\nplugin_dirs = [\"plugins\"]\nstate_dir = \"state\"\nlog_level = \"warn\"\n\n"
                                       "[[processor]]\nname = \"s\"\nplugin = \"swappable\"\nevery = \"20ms\"\n";
  std::vector<double> latency;
  size_t failed = 0, total = 0;
  {
    kiln::testing::DaemonProcess kilnd(KILND, {"--config", dir + "/kiln.toml"}, dir + "/kilnd.log");
    const std::string socket = dir + "/state/run/kilnd.sock";
    if (!kiln::testing::WaitFor([&] { return !kiln::testing::Request(socket, "status").is_null(); }, 10s)) {
      std::fprintf(stderr, "kilnd did not start:\n%s\n", kilnd.Log().c_str());
      return 1;
    }
    std::unique_ptr<kiln::Ledger> ledger;
    kiln::Ledger::Open(dir + "/state/ledger.db", kiln::LedgerOptions(), &ledger);
    auto latest = [&]() -> std::optional<kiln::RunRecord> {
      kiln::RunFilter f;
      f.limit = 1;
      f.status = kiln::RunStatus::kSucceeded;
      std::vector<kiln::RunRecord> runs;
      ledger->ListRuns(f, &runs);
      if (runs.empty()) return std::nullopt;
      return runs[0];
    };
    kiln::testing::WaitFor([&] { return latest().has_value(); }, 10s);
    std::this_thread::sleep_for(500ms);  // warm: workers started, pages touched
    const std::string copies = dir + "/state/plugins/";
    const auto before = MapsAndRss(kilnd.pid(), copies);
    for (int i = 0; i < swaps; ++i) {
      const char* version = i % 2 == 0 ? "v2" : "v1";
      const std::string want = i % 2 == 0 ? "2.0.0" : "1.0.0";
      const int64_t t0 = NowMs();
      install(version);
      std::optional<kiln::RunRecord> r;
      kiln::testing::WaitFor([&] { return (r = latest()) && r->plugin_version == want && r->start_ms >= t0; }, 10s);
      if (r && r->plugin_version == want) latency.push_back(static_cast<double>(r->start_ms - t0));
    }
    std::this_thread::sleep_for(500ms);
    const auto after = MapsAndRss(kilnd.pid(), copies);
    kiln::RunFilter all;
    all.limit = 0;
    std::vector<kiln::RunRecord> runs;
    ledger->ListRuns(all, &runs);
    total = runs.size();
    for (const kiln::RunRecord& r : runs) failed += r.status != kiln::RunStatus::kSucceeded;
    std::printf("swaps %d under runs every 20 ms: %zu runs, %zu not succeeded\n", swaps, total, failed);
    std::printf("kilnd plugin-copy mappings %zu -> %zu, VmRSS %ld kB -> %ld kB\n", before.first, after.first,
                before.second, after.second);
    kilnd.Signal(SIGTERM);
    kilnd.Wait(30s);
  }
  std::sort(latency.begin(), latency.end());
  if (!latency.empty()) {
    std::printf("rename -> first run on the new version: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %zu swaps\n",
                latency[latency.size() / 2], latency[latency.size() * 99 / 100], latency.back(), latency.size());
    std::printf("ratio  p50 latency / 50 ms goal = %.2f\n", latency[latency.size() / 2] / 50.0);
  }
  fs::remove_all(dir);
  return 0;
}

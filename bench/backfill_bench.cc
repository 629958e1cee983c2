// Issue 4's figures, against a real kilnd (2 workers) over its socket:
//   - a backfill of a CPU-bound plugin (40 days x 100 ms of CPU) with
//     parallel 2 against parallel 1, as a speed-up ratio (goal >= 1.8x on
//     2 cores);
//   - the `status` round trip, p50 and p99 over 2,000 requests.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "tests/support/control_client.h"
#include "tests/support/daemon_process.h"

using namespace std::chrono_literals;
using kiln::testing::Request;
using kiln::testing::WaitFor;

namespace {

double BackfillSeconds(const std::string& socket, const char* start, const char* end, int parallel) {
  const auto t0 = std::chrono::steady_clock::now();
  nlohmann::json r = Request(socket, "backfill.start",
                             {{"processor", "spin"}, {"start_date", start}, {"end_date", end}, {"parallel", parallel}});
  if (!r.value("ok", false)) {
    std::fprintf(stderr, "backfill refused: %s\n", r.dump().c_str());
    return -1;
  }
  const int64_t id = r["result"]["backfill"]["id"];
  WaitFor([&] { return Request(socket, "backfill.status", {{"id", id}})["result"]["backfill"]["state"] != "running"; },
          600s);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/kiln-bfbench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/kiln.toml") << "[daemon]\nplugin_dirs = [\"" KILN_BENCH_PLUGIN_DIR "\"]\n"
                                       "state_dir = \"state\"\nworkers = 2\nlog_level = \"warn\"\n\n"
                                       "[[processor]]\nname = \"spin\"\nplugin = \"spin\"\noptions = { work_ms = 100 }\n";
  const std::string socket = dir + "/state/run/kilnd.sock";
  {
    kiln::testing::DaemonProcess kilnd(KILND, {"--config", dir + "/kiln.toml"}, dir + "/kilnd.log");
    if (!WaitFor([&] { return !Request(socket, "status").is_null(); }, 10s)) {
      std::fprintf(stderr, "kilnd did not start:\n%s\n", kilnd.Log().c_str());
      return 1;
    }
    // Distinct ranges, so reprocess = none never skips.
    const double one = BackfillSeconds(socket, "2024-01-01", "2024-02-09", 1);
    const double two = BackfillSeconds(socket, "2024-03-01", "2024-04-09", 2);
    std::printf("backfill 40 days x 100 ms CPU: parallel 1 %.2f s, parallel 2 %.2f s\n", one, two);
    std::printf("ratio  parallel 2 speed-up over parallel 1 = %.2fx  (goal >= 1.8x on 2 cores)\n", one / two);

    std::vector<double> us;
    for (int i = 0; i < 2000; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      Request(socket, "status");
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    std::printf("status round trip (connect, request, reply): p50 %.0f us, p99 %.0f us over %zu\n", us[us.size() / 2],
                us[us.size() * 99 / 100], us.size());
    kilnd.Signal(SIGTERM);
    kilnd.Wait(30s);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

// How many runs per second the ledger records, with and without group commit.
//
// Every write is durable (WAL, synchronous=FULL), so one transaction per write
// costs one fsync per write and its rate is 1 / fsync latency however many
// threads call. Group commit shares an fsync among every write waiting for
// it, so its rate grows with the number of writers in flight. Each benchmark
// runs its writer threads for a fixed wall-clock time, which keeps the whole
// binary under half a minute on any disk.
//
// Arguments: /group_commit (0|1)/threads/ops per run (1: insert a finished
// run; 2: BeginRun then FinishRun, as the daemon does).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "host/ledger/ledger.h"

namespace kiln {
namespace {

constexpr auto kDuration = std::chrono::milliseconds(1500);

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/kiln-ledger-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

RunRecord Template(int thread) {
  RunRecord r;
  r.processor = "proc" + std::to_string(thread % 16);
  r.plugin_name = "orders_csv";
  r.plugin_version = "1.4.0";
  r.plugin_hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.partition = "2024-03-01";
  r.start_ms = 1700000000000;
  r.status = RunStatus::kRunning;
  return r;
}

struct Result {
  double runs_per_s = 0;
  double seconds = 0;
  int64_t runs = 0;
  double mean_batch = 0;
  std::string error;
};

// Records runs from `threads` threads for kDuration into a fresh ledger.
Result Measure(bool group_commit, int threads, int ops_per_run) {
  Result result;
  TempDir dir;
  if (dir.path().empty()) {
    result.error = "mkdtemp failed";
    return result;
  }
  LedgerOptions options;
  options.group_commit = group_commit;
  std::unique_ptr<Ledger> ledger;
  Status s = Ledger::Open(dir.path() + "/ledger.db", options, &ledger);
  if (!s.ok()) {
    result.error = s.ToString();
    return result;
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> runs{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      RunRecord tmpl = Template(t);
      int64_t mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        RunRecord run = tmpl;
        if (ops_per_run == 1) {
          run.status = RunStatus::kSucceeded;
          run.end_ms = run.start_ms + 10;
          run.records = 100;
          if (!ledger->BeginRun(&run).ok()) break;
        } else {
          if (!ledger->BeginRun(&run).ok()) break;
          run.status = RunStatus::kSucceeded;
          run.end_ms = run.start_ms + 10;
          run.records = 100;
          if (!ledger->FinishRun(run).ok()) break;
        }
        ++mine;
      }
      if (!stop.load()) failed = true;
      runs += mine;
    });
  }
  std::this_thread::sleep_for(kDuration);
  stop = true;
  for (std::thread& th : pool) th.join();
  auto end = std::chrono::steady_clock::now();
  if (failed) result.error = "a write failed";

  result.seconds = std::chrono::duration<double>(end - start).count();
  result.runs = runs.load();
  result.runs_per_s = static_cast<double>(result.runs) / result.seconds;
  WriteStats stats = ledger->write_stats();
  result.mean_batch = stats.transactions == 0 ? 0 : static_cast<double>(stats.writes) / stats.transactions;
  return result;
}

void Report(benchmark::State& state, const Result& r, const char* prefix) {
  std::string p(prefix);
  state.counters[p + "runs_per_s"] = r.runs_per_s;
  state.counters[p + "mean_batch"] = r.mean_batch;
}

void BM_RecordRuns(benchmark::State& state) {
  const bool group_commit = state.range(0) != 0;
  const int threads = static_cast<int>(state.range(1));
  const int ops_per_run = static_cast<int>(state.range(2));
  Result r;
  for (auto _ : state) {
    r = Measure(group_commit, threads, ops_per_run);
    if (!r.error.empty()) {
      state.SkipWithError(r.error.c_str());
      return;
    }
    state.SetIterationTime(r.seconds);
  }
  state.SetItemsProcessed(r.runs);
  Report(state, r, "");
}

// Both modes on the same workload in the same iteration, so the ratio is not
// skewed by the disk getting busier or quieter between two benchmarks.
void BM_GroupCommitSpeedup(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int ops_per_run = static_cast<int>(state.range(1));
  Result single, group;
  for (auto _ : state) {
    single = Measure(false, threads, ops_per_run);
    group = Measure(true, threads, ops_per_run);
    if (!single.error.empty() || !group.error.empty()) {
      state.SkipWithError((single.error + group.error).c_str());
      return;
    }
    state.SetIterationTime(single.seconds + group.seconds);
  }
  Report(state, single, "single_");
  Report(state, group, "group_");
  state.counters["speedup"] = single.runs_per_s > 0 ? group.runs_per_s / single.runs_per_s : 0;
}

// One transaction per write: the thread count hardly matters, one is enough
// beside the comparison below.
BENCHMARK(BM_RecordRuns)
    ->ArgNames({"group_commit", "threads", "ops_per_run"})
    ->Args({0, 16, 1})  // the baseline: thread count hardly matters
    ->Args({1, 1, 1})   // group commit with nothing to group
    ->Args({1, 16, 1})
    ->Args({1, 64, 1})
    ->Args({1, 256, 1})
    ->Args({1, 256, 2})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_GroupCommitSpeedup)
    ->ArgNames({"threads", "ops_per_run"})
    ->Args({64, 2})
    ->Args({256, 1})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();

// Issue 5's figures: what process isolation costs per run.
//   - a warm isolated run (WorkerInstance::Run, a no-op plugin) against the
//     same run in-process (Instance::Run): the difference is the isolation
//     overhead per run (goal <= 50 us);
//   - a cold worker (posix_spawn of kiln-worker, load and verify the plugin,
//     configure, init, then shutdown) against posix_spawn of /bin/true (goal
//     <= 1.5x).
#include <spawn.h>
#include <sys/wait.h>

#include "bench/ratio.h"
#include "host/config/config.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"
#include "host/worker/worker_instance.h"

extern char** environ;

namespace {

struct Fixture {
  kiln::Loader loader;
  kiln::ProcessorConfig config;
  kiln::WorkerLimits limits;
  Fixture() {
    loader.Load(KILN_BENCH_PLUGIN, &config.loaded);
    config.name = "bench";
    config.plugin = config.loaded->name();
    config.plugin_path = KILN_BENCH_PLUGIN;
    kiln::BoundOptions::Bind(config.plugin, config.loaded->info().options, {}, &config.options);
    limits.worker_path = KILN_WORKER;
  }
  kiln::RunRequest Request() const {
    kiln::RunRequest req;
    req.run_id = "bench";
    kiln::Day d;
    kiln::ParseDay("2025-01-20", &d);
    req.partition = d;
    return req;
  }
};

Fixture& F() {
  static Fixture f;
  return f;
}

void BM_InProcessRun(benchmark::State& state) {
  std::unique_ptr<kiln::Instance> instance;
  kiln::Instance::Open(F().config.loaded, "bench", F().config.options, &instance);
  const kiln::RunRequest req = F().Request();
  kiln::RunResult r;
  for (auto _ : state) instance->Run(req, &r);
}
BENCHMARK(BM_InProcessRun)->Unit(benchmark::kMicrosecond);

void BM_WarmWorkerRun(benchmark::State& state) {
  std::unique_ptr<kiln::WorkerInstance> worker;
  kiln::Status s = kiln::WorkerInstance::Spawn(F().config, F().limits, &worker, nullptr);
  if (!s.ok()) state.SkipWithError(s.message().c_str());
  const kiln::RunRequest req = F().Request();
  kiln::RunResult r;
  for (auto _ : state) {
    worker->Run(req, &r);
    if (!r.status.ok()) state.SkipWithError(r.status.message().c_str());
  }
}
BENCHMARK(BM_WarmWorkerRun)->Unit(benchmark::kMicrosecond);

void BM_SpawnTrue(benchmark::State& state) {
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  for (auto _ : state) {
    pid_t pid;
    posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ);
    int status;
    waitpid(pid, &status, 0);
  }
}
BENCHMARK(BM_SpawnTrue)->Unit(benchmark::kMicrosecond);

void BM_ColdWorker(benchmark::State& state) {
  for (auto _ : state) {
    std::unique_ptr<kiln::WorkerInstance> worker;
    kiln::Status s = kiln::WorkerInstance::Spawn(F().config, F().limits, &worker, nullptr);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    worker.reset();  // shutdown, teardown, reap
  }
}
BENCHMARK(BM_ColdWorker)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  return kiln::bench::RunWithRatios(
      argc, argv,
      {{"warm isolated run / in-process run", "BM_WarmWorkerRun", "BM_InProcessRun", "difference <= 50 us"},
       {"cold worker / posix_spawn of /bin/true", "BM_ColdWorker", "BM_SpawnTrue", "<= 1.5x"}});
}

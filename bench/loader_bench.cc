// Issue 2's figures: what verification adds to loading a plugin, and what
// the host's run path adds to calling the lifecycle directly.
//
//   tools/bench loader
#include <dlfcn.h>

#include <cstring>

#include "bench/ratio.h"
#include "host/base/date.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"

namespace {

const char* kPlugin = KILN_BENCH_PLUGIN;  // the gallery's well-formed C plugin

// dlopen + dlsym + dlclose: the least any loader does.
void BM_BareDlopen(benchmark::State& state) {
  for (auto _ : state) {
    void* h = dlopen(kPlugin, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) state.SkipWithError(dlerror());
    benchmark::DoNotOptimize(dlsym(h, KILN_ENTRY_SYMBOL));
    dlclose(h);
  }
}
BENCHMARK(BM_BareDlopen)->Unit(benchmark::kMicrosecond);

// The verifying loader on the same file: ELF pre-check, dlopen through
// Boost.DLL, every descriptor check, then unload.
void BM_LoadAndVerify(benchmark::State& state) {
  kiln::Loader loader;
  for (auto _ : state) {
    std::shared_ptr<const kiln::Plugin> plugin;
    kiln::Status s = loader.Load(kPlugin, &plugin);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(plugin.get());
  }
}
BENCHMARK(BM_LoadAndVerify)->Unit(benchmark::kMicrosecond);

// The same without step 2a, the trust check of the file and the directories
// above it: the difference is what that check costs per load.
void BM_LoadAndVerifyUntrusted(benchmark::State& state) {
  kiln::Loader loader;
  for (auto _ : state) {
    std::shared_ptr<const kiln::Plugin> plugin;
    kiln::Status s = loader.Load(kPlugin, &plugin, nullptr, {.check_trust = false});
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(plugin.get());
  }
}
BENCHMARK(BM_LoadAndVerifyUntrusted)->Unit(benchmark::kMicrosecond);

struct Loaded {
  kiln::Loader loader;
  std::shared_ptr<const kiln::Plugin> plugin;
  std::unique_ptr<kiln::Instance> instance;
  Loaded() {
    loader.Load(kPlugin, &plugin);
    kiln::BoundOptions options;
    kiln::BoundOptions::Bind(plugin->name(), plugin->info().options, {}, &options);
    kiln::Instance::Open(plugin, "bench", options, &instance);
  }
};

// One run (extract..post_process) through Instance::Run: host services,
// timings, record counting, status translation.
void BM_RunThroughHost(benchmark::State& state) {
  Loaded l;
  kiln::RunRequest req;
  req.run_id = "bench-run";
  kiln::Day day;
  kiln::ParseDay("2025-01-20", &day);
  req.partition = day;
  kiln::RunResult result;
  for (auto _ : state) {
    l.instance->Run(req, &result);
    benchmark::DoNotOptimize(result.records);
  }
}
BENCHMARK(BM_RunThroughHost)->Unit(benchmark::kNanosecond);

void NoLog(void*, int32_t, const char*) {}
void NoProgress(void*, uint64_t, uint64_t) {}
void CountRecords(void* ctx, uint64_t n) { *static_cast<uint64_t*>(ctx) += n; }
int32_t NotCancelled(void*) { return 0; }

// The same five calls made directly through the descriptor's pointers.
void BM_RunDirect(benchmark::State& state) {
  Loaded l;
  const kiln_plugin_descriptor_t& d = l.plugin->descriptor();
  void* handle = nullptr;
  kiln::BoundOptions options;
  kiln::BoundOptions::Bind(l.plugin->name(), l.plugin->info().options, {}, &options);
  uint64_t records = 0;
  kiln_host_t host{sizeof(kiln_host_t), 0, &records, NoLog, NoProgress, CountRecords, NotCancelled};
  kiln_message_t msg;
  d.configure(&host, options.data(), options.size(), &handle, &msg);
  kiln_run_t run{sizeof(kiln_run_t), KILN_TRIGGER_MANUAL, "bench-run", "bench", "2025-01-20", 0, 0, &host};
  for (auto _ : state) {
    d.extract(handle, &run, &msg);
    d.validate(handle, &run, &msg);
    d.transform(handle, &run, &msg);
    d.save(handle, &run, &msg);
    d.post_process(handle, &run, &msg);
    benchmark::DoNotOptimize(records);
  }
  d.teardown(handle, &host);
}
BENCHMARK(BM_RunDirect)->Unit(benchmark::kNanosecond);

}  // namespace

int main(int argc, char** argv) {
  return kiln::bench::RunWithRatios(
      argc, argv,
      {{"load+verify / bare dlopen+dlsym", "BM_LoadAndVerify", "BM_BareDlopen", "<= 1.20"},
       {"load+verify / load+verify without the trust check", "BM_LoadAndVerify", "BM_LoadAndVerifyUntrusted", "none: it measures the trust check"},
       {"run through host / direct calls", "BM_RunThroughHost", "BM_RunDirect", "host dispatch <= 2 us per run"}});
}

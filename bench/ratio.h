// Benchmarks report ratios measured in one run, never single timings: these
// machines are shared and noisy, and a ratio of two things measured side by
// side survives that. RatioReporter prints Google Benchmark's usual table,
// then the ratios the benchmark binary asked for.
#ifndef KILN_BENCH_RATIO_H_
#define KILN_BENCH_RATIO_H_

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

namespace kiln::bench {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  struct Ratio {
    std::string label, numerator, denominator, goal;
  };
  explicit RatioReporter(std::vector<Ratio> ratios) : ratios_(std::move(ratios)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      ns_[r.benchmark_name()] = r.GetAdjustedRealTime();
      unit_[r.benchmark_name()] = benchmark::GetTimeUnitString(r.time_unit);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n");
    for (const Ratio& q : ratios_) {
      auto n = ns_.find(q.numerator), d = ns_.find(q.denominator);
      if (n == ns_.end() || d == ns_.end() || d->second <= 0) continue;
      std::printf("ratio  %-40s %8.3f  difference %.3f %s per iteration  (%s / %s; goal %s)\n",
                  q.label.c_str(), n->second / d->second, n->second - d->second, unit_[q.numerator].c_str(),
                  q.numerator.c_str(), q.denominator.c_str(), q.goal.c_str());
    }
  }

 private:
  std::vector<Ratio> ratios_;
  std::map<std::string, double> ns_;  // per-iteration real time, in the benchmark's unit
  std::map<std::string, std::string> unit_;
};

// main() for a benchmark binary with ratios.
inline int RunWithRatios(int argc, char** argv, std::vector<RatioReporter::Ratio> ratios) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter(std::move(ratios));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace kiln::bench

#endif  // KILN_BENCH_RATIO_H_

// Issue 3's scheduling figures, on the real clock:
//
//   scheduler_bench [--schedules N] [--seconds S]   (defaults 10000 and 60)
//
// N processors fire every second for S seconds through the real Scheduler
// and an Asio system_timer loop built as kilnd's is. Each due run is handed
// on at once and reported finished (a no-op run), so what is measured is the
// scheduler and the loop: lateness = dispatch time - slot time, and the CPU
// the process used. Then an idle kilnd-style loop (one daily schedule)
// sleeps for 10 s to show that nothing polls.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>

#include "host/scheduler/scheduler.h"

namespace {

using namespace std::chrono_literals;

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Loop {
  kiln::Scheduler* scheduler;
  boost::asio::io_context io;
  boost::asio::system_timer timer{io};
  std::chrono::system_clock::time_point end;
  std::vector<double> lateness_ms;
  size_t wakeups = 0;

  void Arm() {
    auto next = scheduler->NextWakeup();
    if (!next || std::chrono::system_clock::time_point(*next) > end) {
      timer.expires_at(end);
      timer.async_wait([this](const boost::system::error_code&) { io.stop(); });
      return;
    }
    timer.expires_at(std::chrono::system_clock::time_point(*next));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      ++wakeups;
      const auto now = std::chrono::system_clock::now();
      kiln::Actions a;
      scheduler->Tick(std::chrono::floor<std::chrono::milliseconds>(now), &a);
      // As kilnd's loop does: hand every due run on, and only later hear
      // that each finished.
      for (const kiln::RunIntent& i : a.start) {
        const auto dispatched = std::chrono::system_clock::now();
        lateness_ms.push_back(std::chrono::duration<double, std::milli>(dispatched - *i.scheduled).count());
      }
      const auto finished = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
      for (const kiln::RunIntent& i : a.start) {
        kiln::Actions done;
        scheduler->Finished(i, kiln::RunStatus::kSucceeded, finished, &done);
      }
      Arm();
    });
  }
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  int schedules = 10000, seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--schedules")) schedules = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atoi(argv[i + 1]);
  }
  char tmpl[] = "/tmp/kiln-schedbench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::unique_ptr<kiln::Ledger> ledger;
  if (!kiln::Ledger::Open(dir + "/ledger.db", kiln::LedgerOptions(), &ledger).ok()) return 1;

  kiln::Config config;
  for (int i = 0; i < schedules; ++i) {
    kiln::ProcessorConfig p;
    p.name = "p" + std::to_string(i);
    p.every = 1s;
    kiln::FindTimeZone("UTC", &p.zone);
    config.processors.push_back(std::move(p));
  }
  kiln::Scheduler scheduler(ledger.get(), 1);
  scheduler.Configure(config, std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()));

  Loop loop;
  loop.scheduler = &scheduler;
  loop.end = std::chrono::system_clock::now() + std::chrono::seconds(seconds);
  const double cpu0 = CpuSeconds();
  loop.Arm();
  loop.io.run();
  const double cpu = CpuSeconds() - cpu0;
  const size_t runs = loop.lateness_ms.size();
  std::vector<double> l = loop.lateness_ms;
  const double p50 = Percentile(l, 0.50), p99 = Percentile(l, 0.99);
  const double max = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  std::printf("schedules %d, every 1s, %d s: %zu runs dispatched in %zu wakeups\n", schedules, seconds, runs,
              loop.wakeups);
  std::printf("lateness  p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", p50, p99, max);
  std::printf("cpu       %.2f s over %d s = %.1f %% of one core; %.2f us per dispatched run\n", cpu, seconds,
              100.0 * cpu / seconds, runs ? 1e6 * cpu / static_cast<double>(runs) : 0.0);
  std::printf("ratio     p99 lateness / 5 ms goal = %.3f\n", p99 / 5.0);

  // Idle: one daily schedule, nothing due for hours.
  kiln::Config idle;
  kiln::ProcessorConfig daily;
  daily.name = "daily";
  kiln::CronSchedule cron;
  kiln::CronSchedule::Parse("0 3 * * *", &cron);
  daily.schedule = cron;
  kiln::FindTimeZone("UTC", &daily.zone);
  idle.processors.push_back(daily);
  kiln::Scheduler idle_scheduler(ledger.get(), 1);
  idle_scheduler.Configure(idle, std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  Loop idle_loop;
  idle_loop.scheduler = &idle_scheduler;
  idle_loop.end = std::chrono::system_clock::now() + 10s;
  const double idle0 = CpuSeconds();
  idle_loop.Arm();
  idle_loop.io.run();
  const double idle_cpu = CpuSeconds() - idle0;
  std::printf("idle      %.4f s CPU over 10 s (%zu wakeups): %.4f %% of one core\n", idle_cpu, idle_loop.wakeups,
              100.0 * idle_cpu / 10.0);
  ledger.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

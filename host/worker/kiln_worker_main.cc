// kiln-worker: runs one processor's plugin in its own process, for kilnd.
//
//   kiln-worker --fd N --state-fd M --parent PID [--memory-limit BYTES] [--user U] [--group G]
//
// kilnd starts it with posix_spawn, in its own process group, with a
// scrubbed environment and only fd N (a socketpair), stdout and stderr open.
// It loads the plugin through the same verifying loader and runs it through
// the same Instance as an in-process run. Protocol (frames, see frame.h):
//   kilnd -> worker: open {plugin_path, processor, options}, run {run_id,
//                    partition, trigger, dry_run}, cancel, shutdown
//   worker -> kilnd: opened {ok, error, phases}, log {level, message},
//                    heartbeat {}, result {ok, code, message, records, phases}
// The run's phase and progress are not framed: the worker writes them into a
// page of shared memory (fd M) that kilnd reads when it wants to, so a run
// costs two frames, not one per phase, and a crash can still be named by the
// phase it hit.
// When kilnd goes away the channel reaches EOF and the worker exits at once.
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "host/base/date.h"
#include "host/base/log.h"
#include "host/loader/loader.h"
#include "host/run/instance.h"
#include "host/worker/frame.h"

namespace kiln {
namespace {

int g_fd = -1;
std::mutex g_write_mu;

void Send(const nlohmann::json& j) {
  std::lock_guard<std::mutex> lock(g_write_mu);
  if (!WriteFrame(g_fd, j).ok()) _exit(1);  // kilnd is gone
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "kiln-worker: %s\n", why.c_str());
  _exit(2);
}

nlohmann::json PhasesJson(const std::vector<PhaseResult>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const PhaseResult& p : phases) {
    out.push_back({{"name", p.name}, {"ms", p.millis}, {"records", p.records}, {"ok", p.ok}});
  }
  return out;
}

// Options travel as JSON values; the worker binds them to the schema again,
// so the plugin sees exactly what it would see in-process.
std::vector<OptionInput> OptionsFromJson(const nlohmann::json& j) {
  std::vector<OptionInput> inputs;
  for (const auto& [name, value] : j.items()) {
    OptionInput in;
    in.name = name;
    if (value.is_boolean()) in.value = value.get<bool>();
    else if (value.is_number_integer()) in.value = value.get<int64_t>();
    else if (value.is_number_float()) in.value = value.get<double>();
    else in.value = value.get<std::string>();
    inputs.push_back(std::move(in));
  }
  return inputs;
}

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<nlohmann::json> runs;
  bool shutdown = false;
  std::atomic<bool> cancel{false};
  RunProgress* progress = nullptr;  // in the page shared with kilnd
  std::atomic<bool> running{false};
};

// Reads kilnd's frames while the main thread is inside the plugin, so a
// cancel reaches a run in progress.
void ReadLoop(Shared* shared) {
  FrameReader reader;
  for (;;) {
    bool eof = false;
    if (!reader.Fill(g_fd, &eof).ok() || eof) _exit(0);  // kilnd died or closed: nobody to report to
    for (;;) {
      nlohmann::json frame;
      bool got = false;
      if (!reader.Next(&frame, &got).ok()) _exit(3);
      if (!got) break;
      const std::string type = frame["type"];
      std::lock_guard<std::mutex> lock(shared->mu);
      if (type == "run") {
        shared->cancel = false;
        shared->runs.push_back(std::move(frame));
      } else if (type == "cancel") {
        shared->cancel = true;
      } else if (type == "shutdown") {
        shared->shutdown = true;
        shared->cancel = true;
      }
      shared->cv.notify_all();
    }
  }
}

// Proof of life, and progress, four times a second while a run is on.
void HeartbeatLoop(Shared* shared) {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!shared->running.load()) continue;
    Send({{"type", "heartbeat"}});
  }
}

void Harden(const std::string& user, const std::string& group, long long memory_limit, pid_t parent) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die(std::string("PR_SET_NO_NEW_PRIVS: ") + std::strerror(errno));
  // Belt and braces beside the channel's EOF. PDEATHSIG follows the thread
  // that spawned us, which may end before kilnd does; EOF does not.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() != parent) _exit(0);  // kilnd died before the prctl
  if (memory_limit > 0) {
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(memory_limit);
    if (setrlimit(RLIMIT_AS, &rl) != 0) Die(std::string("setrlimit(RLIMIT_AS): ") + std::strerror(errno));
  }
  if (!group.empty()) {
    struct group* g = getgrnam(group.c_str());
    if (g == nullptr) Die("unknown group '" + group + "'");
    if (setgroups(0, nullptr) != 0 || setgid(g->gr_gid) != 0) Die("cannot run as group '" + group + "': " + std::strerror(errno));
  }
  if (!user.empty()) {
    struct passwd* p = getpwnam(user.c_str());
    if (p == nullptr) Die("unknown user '" + user + "'");
    if (group.empty() && (setgroups(0, nullptr) != 0 || setgid(p->pw_gid) != 0)) {
      Die("cannot run as user '" + user + "': " + std::strerror(errno));
    }
    if (setuid(p->pw_uid) != 0) Die("cannot run as user '" + user + "': " + std::strerror(errno));
  }
}

int Main(int argc, char** argv) {
  std::string user, group;
  long long memory_limit = 0;
  pid_t parent = 0;
  int state_fd = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--fd") g_fd = std::atoi(argv[i + 1]);
    else if (flag == "--state-fd") state_fd = std::atoi(argv[i + 1]);
    else if (flag == "--parent") parent = static_cast<pid_t>(std::atoll(argv[i + 1]));
    else if (flag == "--memory-limit") memory_limit = std::atoll(argv[i + 1]);
    else if (flag == "--user") user = argv[i + 1];
    else if (flag == "--group") group = argv[i + 1];
    else Die("unknown argument " + flag);
  }
  if (g_fd < 0 || state_fd < 0 || parent <= 0) {
    Die("usage: kiln-worker --fd N --state-fd M --parent PID [--memory-limit BYTES] [--user U] [--group G]");
  }
  void* page = mmap(nullptr, sizeof(RunProgress), PROT_READ | PROT_WRITE, MAP_SHARED, state_fd, 0);
  if (page == MAP_FAILED) Die(std::string("cannot map the state page: ") + std::strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  Harden(user, group, memory_limit, parent);
  LogOptions quiet;
  quiet.level = "off";  // plugin lines travel as frames; kilnd logs them
  InitLogging(quiet);

  // open
  FrameReader reader;
  nlohmann::json open;
  for (bool got = false; !got;) {
    bool eof = false;
    if (!reader.Fill(g_fd, &eof).ok() || eof) return 0;
    if (!reader.Next(&open, &got).ok()) return 3;
  }
  if (open["type"] != "open") Die("expected an open frame");
  Loader loader;
  std::shared_ptr<const Plugin> plugin;
  std::unique_ptr<Instance> instance;
  std::vector<PhaseResult> phases;
  const std::string processor = open.value("processor", "");
  Status s = loader.Load(open.value("plugin_path", ""), &plugin);
  if (s.ok()) {
    BoundOptions options;
    s = BoundOptions::Bind(plugin->name(), plugin->info().options, OptionsFromJson(open["options"]), &options);
    if (s.ok()) s = Instance::Open(plugin, processor, options, &instance, &phases);
  }
  Send({{"type", "opened"}, {"ok", s.ok()}, {"error", s.message()}, {"phases", PhasesJson(phases)}});
  if (!s.ok()) return 0;

  Shared shared;
  shared.progress = static_cast<RunProgress*>(page);  // constructed by kilnd before the spawn
  std::thread(ReadLoop, &shared).detach();
  std::thread(HeartbeatLoop, &shared).detach();
  const RunLogSink sink = [](spdlog::level::level_enum level, std::string_view message) {
    Send({{"type", "log"}, {"level", static_cast<int>(level)}, {"message", message}});
  };

  for (;;) {
    nlohmann::json run;
    {
      std::unique_lock<std::mutex> lock(shared.mu);
      shared.cv.wait(lock, [&] { return shared.shutdown || !shared.runs.empty(); });
      if (shared.shutdown) break;
      run = std::move(shared.runs.front());
      shared.runs.pop_front();
    }
    RunRequest req;
    req.run_id = run.value("run_id", "");
    if (run.contains("partition") && run["partition"].is_string()) {
      Day d;
      if (ParseDay(run["partition"].get<std::string>(), &d).ok()) req.partition = d;
    }
    req.trigger = run.value("trigger", KILN_TRIGGER_MANUAL);
    req.dry_run = run.value("dry_run", false);
    req.cancel = &shared.cancel;
    req.progress = shared.progress;
    req.log_sink = &sink;
    shared.progress->records = 0;
    shared.progress->done = 0;
    shared.progress->total = 0;
    shared.progress->phase = -1;
    shared.running = true;
    RunResult result;
    instance->Run(req, &result);
    shared.running = false;
    Send({{"type", "result"},
          {"ok", result.status.ok()},
          {"code", Status::CodeName(result.status.code())},
          {"message", result.status.message()},
          {"records", result.records},
          {"phases", PhasesJson(result.phases)}});
  }
  instance.reset();  // teardown
  return 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) { return kiln::Main(argc, argv); }

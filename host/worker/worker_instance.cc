#include "host/worker/worker_instance.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "host/base/log.h"

extern char** environ;

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{} ({})", abbrev, strsignal(sig)) : fmt::format("signal {}", sig);
}

// The worker's environment: nothing of kilnd's but what a program needs to
// run, and the sanitizer settings when kilnd itself runs under them.
std::vector<std::string> WorkerEnvironment() {
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "KILN_WORKER=1"};
  for (char** e = environ; e && *e; ++e) {
    const std::string var = *e;
    for (const char* keep : {"TZ=", "ASAN_OPTIONS=", "UBSAN_OPTIONS=", "LSAN_OPTIONS=", "TSAN_OPTIONS="}) {
      if (var.rfind(keep, 0) == 0) env.push_back(var);
    }
  }
  return env;
}

nlohmann::json OptionsJson(const BoundOptions& options) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& option : options.values()) {
    std::visit([&](const auto& v) { j[option.first] = v; }, option.second);
  }
  return j;
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream statm(fmt::format("/proc/{}/statm", pid));
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::vector<PhaseResult> PhasesFromJson(const nlohmann::json& j) {
  std::vector<PhaseResult> out;
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    out.push_back({p.value("name", ""), p.value("ms", 0.0), p.value("records", uint64_t{0}), p.value("ok", false)});
  }
  return out;
}

}  // namespace

std::string DefaultWorkerPath() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "kiln-worker";
}

WorkerInstance::WorkerInstance(const ProcessorConfig& config, const WorkerLimits& limits)
    : config_(config), limits_(limits), max_runs_(config.max_runs_per_worker) {}

WorkerInstance::~WorkerInstance() {
  if (alive_) {
    // teardown gets a moment: the worker closes the channel when it exits.
    // One that lingers past the grace is killed.
    bool exiting = false;
    if (WriteFrame(channel_, {{"type", "shutdown"}}).ok()) {
      const auto deadline = Clock::now() + limits_.kill_grace;
      while (!exiting) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        pollfd fd = {channel_, POLLIN, 0};
        if (poll(&fd, 1, static_cast<int>(left)) <= 0) break;
        char buf[4096];
        exiting = read(channel_, buf, sizeof buf) <= 0;  // EOF: its last fd closed as it exits
      }
    }
    if (!exiting) Kill(SIGKILL);
    Reap();
  }
  if (channel_ >= 0) close(channel_);
  if (output_ >= 0) close(output_);
  if (state_ != nullptr) munmap(state_, sizeof(RunProgress));
}

Status WorkerInstance::Spawn(const ProcessorConfig& config, const WorkerLimits& limits,
                             std::unique_ptr<WorkerInstance>* out, std::vector<PhaseResult>* opened) {
  std::unique_ptr<WorkerInstance> w(new WorkerInstance(config, limits));
  Status s = w->Start();
  if (!s.ok()) return s;

  nlohmann::json open = {{"type", "open"},
                         {"plugin_path", config.plugin_path},
                         {"processor", config.name},
                         {"options", OptionsJson(config.options)}};
  s = WriteFrame(w->channel_, open);
  if (!s.ok()) return Status::Failed(fmt::format("processor '{}': worker did not start: {}", config.name, w->DescribeExit()));
  // configure and init run now; wait for them as long as a run may take.
  const auto deadline = Clock::now() + std::max<std::chrono::milliseconds>(
                                           limits.heartbeat_timeout, config.timeout.value_or(std::chrono::minutes(5)));
  for (;;) {
    nlohmann::json frame;
    bool got = false;
    s = w->reader_.Next(&frame, &got);
    if (!s.ok()) return Status::Failed(fmt::format("processor '{}': {}", config.name, s.message()));
    if (got && frame["type"] == "opened") {
      if (opened) *opened = PhasesFromJson(frame["phases"]);
      if (!frame.value("ok", false)) return Status::Failed(frame.value("error", std::string("open failed")));
      *out = std::move(w);
      return Status::OK();
    }
    if (got) continue;  // a stray heartbeat or log line
    if (Clock::now() > deadline) {
      w->Kill(SIGKILL);
      w->Reap();
      return Status::Failed(fmt::format("processor '{}': worker did not open the plugin in time", config.name));
    }
    pollfd fds[2] = {{w->channel_, POLLIN, 0}, {w->output_, POLLIN, 0}};
    poll(fds, 2, 100);
    if (fds[1].revents) w->DrainOutput(nullptr);
    if (fds[0].revents) {
      bool eof = false;
      w->reader_.Fill(w->channel_, &eof);
      if (eof) {
        w->DrainOutput(nullptr);
        w->Reap();
        return Status::Failed(fmt::format("processor '{}': worker failed while opening the plugin: {}{}", config.name,
                                          w->DescribeExit(),
                                          w->partial_output_.empty() ? "" : ": " + w->partial_output_));
      }
    }
  }
}

Status WorkerInstance::Start() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::IOError(fmt::format("socketpair: {}", std::strerror(errno)));
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    close(sv[0]);
    close(sv[1]);
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  channel_ = sv[0];
  output_ = pipefd[0];
  const int memfd = memfd_create("kiln-worker-state", MFD_CLOEXEC);
  void* page = MAP_FAILED;
  if (memfd >= 0 && ftruncate(memfd, sizeof(RunProgress)) == 0) {
    page = mmap(nullptr, sizeof(RunProgress), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  }
  if (page == MAP_FAILED) {
    if (memfd >= 0) close(memfd);
    return Status::IOError(fmt::format("worker state page: {}", std::strerror(errno)));
  }
  state_ = new (page) RunProgress();  // lock-free atomics: safe to share between processes
  fcntl(output_, F_SETFL, O_NONBLOCK | fcntl(output_, F_GETFL));
  // Keep the child's ends away from fds 0-3, so every dup2 below really
  // duplicates (and so drops close-on-exec).
  const int child_channel = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  const int child_output = fcntl(pipefd[1], F_DUPFD_CLOEXEC, 10);
  const int child_state = fcntl(memfd, F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  close(pipefd[1]);
  close(memfd);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, child_output, 1);
  posix_spawn_file_actions_adddup2(&fa, child_output, 2);
  posix_spawn_file_actions_adddup2(&fa, child_channel, 3);
  posix_spawn_file_actions_adddup2(&fa, child_state, 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);  // nothing else of kilnd's leaks in
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, killed as one
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> args = {limits_.worker_path, "--fd", "3", "--state-fd", "4", "--parent",
                                   std::to_string(getpid())};
  if (config_.memory_limit) {
    args.insert(args.end(), {"--memory-limit", std::to_string(*config_.memory_limit)});
  }
  if (!config_.user.empty()) args.insert(args.end(), {"--user", config_.user});
  if (!config_.group.empty()) args.insert(args.end(), {"--group", config_.group});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = WorkerEnvironment();
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int rc = posix_spawn(&pid_, limits_.worker_path.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(child_channel);
  close(child_output);
  close(child_state);
  if (rc != 0) {
    return Status::IOError(fmt::format("cannot start {}: {}", limits_.worker_path, std::strerror(rc)));
  }
  alive_ = true;
  return Status::OK();
}

void WorkerInstance::DrainOutput(const RunRequest* request) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(output_, buf, sizeof buf);
    if (n <= 0) break;
    partial_output_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = partial_output_.find('\n')) != std::string::npos) {
      if (request && request->log_sink && *request->log_sink) {
        (*request->log_sink)(spdlog::level::info, "[output] " + partial_output_.substr(0, nl));
      }
      partial_output_.erase(0, nl + 1);
    }
    // A line without an end, kept only up to the cap (an output flood).
    if (partial_output_.size() > limits_.output_cap) partial_output_.resize(limits_.output_cap);
  }
}

void WorkerInstance::Kill(int sig) {
  if (pid_ > 0 && alive_) kill(-pid_, sig);  // the whole group: children of the plugin too
}

void WorkerInstance::Reap() {
  if (!alive_) return;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = status;
  alive_ = false;
  kill(-pid_, SIGKILL);  // anything the plugin left behind in the group
}

std::string WorkerInstance::DescribeExit() {
  if (alive_) Reap();
  if (WIFSIGNALED(exit_status_)) return "worker killed by " + SignalName(WTERMSIG(exit_status_));
  if (WIFEXITED(exit_status_)) return fmt::format("worker exited with status {}", WEXITSTATUS(exit_status_));
  return "worker ended";
}

void WorkerInstance::Run(const RunRequest& request, RunResult* result) {
  *result = RunResult();
  ++runs_;
  crashed_ = false;
  nlohmann::json run = {{"type", "run"},
                        {"run_id", request.run_id},
                        {"partition", request.partition ? nlohmann::json(FormatDay(*request.partition)) : nlohmann::json(nullptr)},
                        {"trigger", request.trigger},
                        {"dry_run", request.dry_run}};
  const std::string who = fmt::format("processor '{}'", config_.name);
  auto fail_dead = [&](const std::string& why) {
    crashed_ = true;
    DrainOutput(&request);
    std::string cause = DescribeExit();
    const bool memory = config_.memory_limit && (WIFSIGNALED(exit_status_) &&
                                                 (WTERMSIG(exit_status_) == SIGSEGV || WTERMSIG(exit_status_) == SIGABRT ||
                                                  WTERMSIG(exit_status_) == SIGBUS));
    if (memory) cause = fmt::format("memory limit exceeded (memory_limit = {} bytes): {}", *config_.memory_limit, cause);
    result->status = Status::Failed(fmt::format("{}: {}{}", who, cause, why));
  };
  if (!alive_ || !WriteFrame(channel_, run).ok()) {
    fail_dead(" before the run started");
    return;
  }

  auto last_frame = Clock::now();
  std::optional<Clock::time_point> cancel_sent, term_sent, kill_sent;
  for (;;) {
    // Whole frames first: a result may already be buffered.
    nlohmann::json frame;
    bool got = false;
    Status s = reader_.Next(&frame, &got);
    if (!s.ok()) {
      Kill(SIGKILL);
      fail_dead(": " + s.message());
      return;
    }
    if (got) {
      last_frame = Clock::now();
      const std::string type = frame["type"];
      if (type == "log") {
        if (request.log_sink && *request.log_sink) {
          (*request.log_sink)(static_cast<spdlog::level::level_enum>(frame.value("level", 2)),
                              frame.value("message", std::string()));
        }
        LogFields fields{config_.loaded->name(), config_.name, request.run_id,
                         request.partition ? FormatDay(*request.partition) : ""};
        LogLine(static_cast<spdlog::level::level_enum>(frame.value("level", 2)), fields,
                frame.value("message", std::string()));
      } else if (type == "heartbeat") {
        if (request.progress) {
          request.progress->phase = state_->phase.load();
          request.progress->done = state_->done.load();
          request.progress->total = state_->total.load();
          request.progress->records = state_->records.load();
        }
      } else if (type == "result") {
        DrainOutput(&request);
        result->phases = PhasesFromJson(frame["phases"]);
        result->records = frame.value("records", uint64_t{0});
        if (frame.value("ok", false)) {
          result->status = Status::OK();
        } else {
          std::string message = frame.value("message", std::string("failed"));
          if (config_.memory_limit && message.find("bad_alloc") != std::string::npos) {
            message += fmt::format(" (memory limit exceeded: memory_limit = {} bytes)", *config_.memory_limit);
          }
          result->status = frame.value("code", std::string()) == "cancelled" ? Status::Cancelled(message)
                                                                            : Status::Failed(message);
        }
        if (config_.memory_limit && ResidentBytes(pid_) > *config_.memory_limit * 8 / 10) over_memory_ = true;
        if (!config_.memory_limit && ResidentBytes(pid_) > (int64_t{1} << 30)) over_memory_ = true;
        return;
      }
      continue;
    }

    const auto now = Clock::now();
    if (request.cancel && request.cancel->load() && !cancel_sent) {
      cancel_sent = now;
      WriteFrame(channel_, {{"type", "cancel"}});
    }
    if (cancel_sent && !term_sent && now - *cancel_sent > limits_.kill_grace) {
      term_sent = now;
      Kill(SIGTERM);
    }
    if (term_sent && !kill_sent && now - *term_sent > limits_.kill_grace) {
      kill_sent = now;
      Kill(SIGKILL);
    }
    if (!cancel_sent && now - last_frame > limits_.heartbeat_timeout) {
      Kill(SIGKILL);
      Reap();
      crashed_ = true;
      result->status = Status::Failed(fmt::format("{}: worker stopped responding: no heartbeat for {} ms", who,
                                                  limits_.heartbeat_timeout.count()));
      return;
    }

    pollfd fds[2] = {{channel_, POLLIN, 0}, {output_, POLLIN, 0}};
    poll(fds, 2, 50);
    if (fds[1].revents) DrainOutput(&request);
    if (fds[0].revents) {
      bool eof = false;
      reader_.Fill(channel_, &eof);
      if (eof) {
        const int phase = state_->phase.load();
        const std::string during =
            phase >= 0 && static_cast<size_t>(phase) < kRequiredMethodCount ? fmt::format(" during {}", kRequiredMethods[phase]) : "";
        if (cancel_sent) {
          DrainOutput(&request);
          DescribeExit();
          crashed_ = true;
          result->status = Status::Cancelled(fmt::format("{}: cancelled; the worker did not stop by itself and was killed", who));
          return;
        }
        fail_dead(during);
        return;
      }
    }
  }
}

}  // namespace kiln

// misbehave: a plugin that does, in extract, whatever its `mode` option says
// a third-party plugin might do: segfault, abort, hang, allocate forever,
// throw, exit(3), fork children then abort, flood its output. "environ"
// writes the environment it was given to pid_file. "badframe" writes a frame
// with a mistyped field on the worker's channel to kilnd (fd 3). "ok" behaves.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kiln/processor.hpp"

extern char** environ;

namespace {

class Misbehave final : public kiln::Processor {
 public:
  void configure(const kiln::Options& o, const kiln::Host&) override {
    mode_ = std::string(o.string("mode"));
    pid_file_ = std::string(o.string("pid_file"));
  }
  void init(const kiln::Host&) override {}
  void extract(kiln::Run& run) override {
    if (mode_ == "segfault") {
      volatile int* p = nullptr;
      *p = 1;
    } else if (mode_ == "abort") {
      std::abort();
    } else if (mode_ == "hang") {
      for (;;) pause();  // ignores cancellation on purpose
    } else if (mode_ == "alloc") {
      std::vector<std::unique_ptr<char[]>> hoard;
      for (;;) hoard.emplace_back(new char[16 << 20]);
    } else if (mode_ == "throw") {
      throw std::runtime_error("thrown on purpose");
    } else if (mode_ == "exit") {
      std::exit(3);
    } else if (mode_ == "forkbomb") {
      std::ofstream pids(pid_file_, std::ios::app);
      for (int i = 0; i < 20; ++i) {  // bounded: 20 children, each asleep
        pid_t child = fork();
        if (child == 0) {
          sleep(60);
          _exit(0);
        }
        pids << child << "\n";
      }
      pids.flush();
      std::abort();
    } else if (mode_ == "environ") {
      std::ofstream out(pid_file_);
      for (char** e = environ; *e; ++e) out << *e << "\n";
    } else if (mode_ == "badframe") {
      const std::string body = R"({"type":"log","level":"loud","message":"x"})";
      const unsigned char n[4] = {static_cast<unsigned char>(body.size()), 0, 0, 0};
      if (write(3, n, 4) != 4 || write(3, body.data(), body.size()) != static_cast<ssize_t>(body.size())) std::abort();
      sleep(5);  // kilnd ends the worker on reading it
    } else if (mode_ == "flood") {
      std::string line(1000, 'x');
      for (int i = 0; i < 20000; ++i) std::printf("%s %d\n", line.c_str(), i);  // 20 MB
      std::fflush(stdout);
    }
    run.host().add_records(1);
  }
  void validate(kiln::Run&) override {}
  void transform(kiln::Run&) override {}
  void save(kiln::Run&) override {}
  void post_process(kiln::Run&) override {}
  void teardown(const kiln::Host&) override {}

 private:
  std::string mode_;
  std::string pid_file_;
};

const kiln_option_spec_t kOptions[] = {
    {"mode", KILN_OPTION_STRING, 1, nullptr, "what to do in extract"},
    {"pid_file", KILN_OPTION_STRING, 0, "/dev/null", "where forkbomb writes its children's pids"},
};

}  // namespace

KILN_PLUGIN(Misbehave, "misbehave", "1.0.0", 0, kOptions)

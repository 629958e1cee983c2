// Runs a command line for a test and captures its exit code and output.
#ifndef KILN_TESTS_SUPPORT_SUBPROCESS_H_
#define KILN_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace kiln::testing {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `command` goes to /bin/sh; quote arguments yourself.
inline CommandResult RunCommand(const std::string& command) {
  char tmpl[] = "/tmp/kiln-cmd-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string out = dir + "/out", err = dir + "/err";
  const int status = std::system((command + " >" + out + " 2>" + err + " </dev/null").c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::system(("rm -rf " + dir).c_str());
  return r;
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_SUPPORT_SUBPROCESS_H_

// The client side of kilnd's control socket (docs/control.md): one Unix
// stream connection, newline-delimited JSON, one response line per request.
//
// Plain POSIX sockets keep kilnctl light. Every failure becomes one line fit
// for a user ("cannot reach kilnd at PATH: ..."), and an exit code.
#ifndef KILN_TOOLS_KILNCTL_CONTROL_CLIENT_H_
#define KILN_TOOLS_KILNCTL_CONTROL_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace kiln::ctl {

// Responses keep the daemon's key order (phases run in order).
using Json = nlohmann::ordered_json;

inline constexpr int kProtocolVersion = 1;
// config/kiln.toml's default, relative to the current directory.
inline constexpr const char* kDefaultSocket = "state/run/kilnd.sock";
inline constexpr size_t kMaxResponseBytes = size_t{16} << 20;
// Exit code when Ctrl-C stops a watch (128 + SIGINT, as shells report it).
inline constexpr int kExitInterrupted = 130;

// The options every command that talks to kilnd takes.
struct ClientOptions {
  std::string socket;  // --socket; empty: $KILN_SOCKET, else kDefaultSocket
  double timeout_seconds = 10;
  bool json = false;
};

// Adds --socket, --timeout and --json to `cmd`, bound to `o`. Several
// subcommands may bind the same ClientOptions.
void AddClientOptions(CLI::App* cmd, ClientOptions* o);

// --socket, else $KILN_SOCKET, else kDefaultSocket.
std::string ResolveSocketPath(const std::string& flag);

// Why a call did not produce a result.
struct CallError {
  enum class Kind {
    kNone,
    kUsage,        // bad input before anything was sent (exit 2)
    kTransport,    // could not connect, timeout, EOF, malformed response (exit 1)
    kResponse,     // kilnd answered ok:false (exit 2 for invalid_argument, else 1)
    kInterrupted,  // the interrupt flag was raised while waiting
  };
  Kind kind = Kind::kNone;
  std::string code;     // kResponse: the error code ("not_found")
  std::string message;  // the line printed after "kilnctl: "
  std::vector<std::string> details;
};

class ControlClient {
 public:
  ControlClient(std::string path, std::chrono::milliseconds timeout);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Connects now; Call connects on first use anyway.
  bool Connect(CallError* err);

  // Sends {"v":1,"method":...,"params":...} and reads one response line
  // within the timeout. true and *result on "ok": true.
  bool Call(const std::string& method, const Json& params, Json* result, CallError* err);

  // While waiting, a raised flag (set from a signal handler installed
  // without SA_RESTART) ends the call with kInterrupted.
  void set_interrupt(const std::atomic<bool>* flag) { interrupt_ = flag; }

  const std::string& path() const { return path_; }

 private:
  bool Fail(CallError* err, CallError::Kind kind, std::string message);
  void Close();

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the last response line
  const std::atomic<bool>* interrupt_ = nullptr;
};

// Prints `err` to stderr ("kilnctl: message", then each detail indented)
// and returns the exit code it calls for.
int Report(const CallError& err);

// Connects, calls and reports a failure. kExitOk with *result on success.
int CallOnce(const ClientOptions& o, const std::string& method, const Json& params, Json* result);

// The connection timeout of `o` as milliseconds.
std::chrono::milliseconds Timeout(const ClientOptions& o);

// `j` indented by 2, on stdout.
void PrintJson(const Json& j);

}  // namespace kiln::ctl

#endif  // KILN_TOOLS_KILNCTL_CONTROL_CLIENT_H_

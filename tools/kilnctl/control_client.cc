#include "tools/kilnctl/control_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "tools/kilnctl/commands.h"

namespace kiln::ctl {

void AddClientOptions(CLI::App* cmd, ClientOptions* o) {
  cmd->add_option("--socket", o->socket,
                  fmt::format("kilnd's control socket (default: $KILN_SOCKET, else {})", kDefaultSocket));
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for each answer from kilnd")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the result as JSON");
}

std::string ResolveSocketPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("KILN_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultSocket;
}

std::chrono::milliseconds Timeout(const ClientOptions& o) {
  return std::chrono::milliseconds(static_cast<long long>(std::llround(o.timeout_seconds * 1000)));
}

ControlClient::ControlClient(std::string path, std::chrono::milliseconds timeout)
    : path_(std::move(path)), timeout_(timeout) {}

ControlClient::~ControlClient() { Close(); }

void ControlClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool ControlClient::Fail(CallError* err, CallError::Kind kind, std::string message) {
  err->kind = kind;
  err->code.clear();
  err->message = std::move(message);
  err->details.clear();
  if (kind != CallError::Kind::kResponse) Close();
  return false;
}

bool ControlClient::Connect(CallError* err) {
  if (fd_ >= 0) return true;
  const std::string reach = fmt::format("cannot reach kilnd at {}: ", path_);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
    return Fail(err, CallError::Kind::kUsage,
                fmt::format("{}socket path is {} bytes long; a Unix socket path has at most {}", reach,
                            path_.size(), sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(err, CallError::Kind::kTransport, reach + std::strerror(errno));
  // A full accept backlog blocks connect(); bound that by the timeout.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc;
  do {
    rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR && (interrupt_ == nullptr || !interrupt_->load()));
  if (rc == 0) return true;
  const int e = errno;
  switch (e) {
    case ENOENT:
      return Fail(err, CallError::Kind::kTransport, reach + "no such socket (is kilnd running?)");
    case ECONNREFUSED:
      return Fail(err, CallError::Kind::kTransport,
                  reach + "connection refused (kilnd is not running; stale socket)");
    case EACCES:
    case EPERM:
      return Fail(err, CallError::Kind::kTransport, reach + "permission denied");
    case ENOTDIR:
      return Fail(err, CallError::Kind::kTransport, reach + "a component of the path is not a directory");
    case EAGAIN:
    case EINPROGRESS:
      return Fail(err, CallError::Kind::kTransport,
                  reach + fmt::format("kilnd did not accept the connection within {:g} s",
                                      static_cast<double>(timeout_.count()) / 1000));
    case EINTR:
      return Fail(err, CallError::Kind::kInterrupted, "interrupted");
    default:
      return Fail(err, CallError::Kind::kTransport, reach + std::strerror(e));
  }
}

bool ControlClient::Call(const std::string& method, const Json& params, Json* result, CallError* err) {
  if (!Connect(err)) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  const std::string timed_out =
      fmt::format("kilnd at {} did not answer within {:g} s", path_, static_cast<double>(timeout_.count()) / 1000);
  auto wait = [&](short events, bool* interrupted) -> bool {  // false: timed out
    *interrupted = false;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) return true;
      if (n < 0 && errno == EINTR && interrupt_ != nullptr && interrupt_->load()) {
        *interrupted = true;
        return true;
      }
    }
  };

  Json request;
  request["v"] = kProtocolVersion;
  request["method"] = method;
  request["params"] = params.is_null() ? Json::object() : params;
  const std::string line = request.dump() + "\n";
  size_t sent = 0;
  bool interrupted = false;
  while (sent < line.size()) {
    if (!wait(POLLOUT, &interrupted)) return Fail(err, CallError::Kind::kTransport, timed_out);
    if (interrupted) return Fail(err, CallError::Kind::kInterrupted, "interrupted");
    const ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Fail(err, CallError::Kind::kTransport,
                  fmt::format("lost the connection to kilnd at {}: {}", path_, std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }

  size_t newline;
  size_t scanned = 0;
  while ((newline = buffer_.find('\n', scanned)) == std::string::npos) {
    scanned = buffer_.size();
    if (buffer_.size() > kMaxResponseBytes) {
      return Fail(err, CallError::Kind::kTransport,
                  fmt::format("response from kilnd at {} is larger than 16 MiB", path_));
    }
    if (!wait(POLLIN, &interrupted)) return Fail(err, CallError::Kind::kTransport, timed_out);
    if (interrupted) return Fail(err, CallError::Kind::kInterrupted, "interrupted");
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Fail(err, CallError::Kind::kTransport,
                  fmt::format("lost the connection to kilnd at {}: {}", path_, std::strerror(errno)));
    }
    if (n == 0) {
      return Fail(err, CallError::Kind::kTransport,
                  fmt::format("kilnd at {} closed the connection without answering", path_));
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  if (newline > kMaxResponseBytes) {
    return Fail(err, CallError::Kind::kTransport,
                fmt::format("response from kilnd at {} is larger than 16 MiB", path_));
  }
  const std::string response = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);

  const std::string malformed = fmt::format("malformed response from kilnd at {}: ", path_);
  Json j = Json::parse(response, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(err, CallError::Kind::kTransport, malformed + "not JSON");
  if (!j.is_object()) return Fail(err, CallError::Kind::kTransport, malformed + "not a JSON object");
  if (j.contains("v") && j["v"] != kProtocolVersion) {
    return Fail(err, CallError::Kind::kTransport,
                fmt::format("kilnd at {} answered in protocol version {}; kilnctl speaks {}", path_, j["v"].dump(),
                            kProtocolVersion));
  }
  if (!j.contains("ok") || !j["ok"].is_boolean()) {
    return Fail(err, CallError::Kind::kTransport, malformed + "no boolean \"ok\"");
  }
  if (j["ok"].get<bool>()) {
    if (!j.contains("result") || !j["result"].is_object()) {
      return Fail(err, CallError::Kind::kTransport, malformed + "no \"result\" object");
    }
    *result = std::move(j["result"]);
    return true;
  }
  const Json& e = j.contains("error") && j["error"].is_object() ? j["error"] : Json::object();
  err->kind = CallError::Kind::kResponse;
  err->code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "internal";
  err->message = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                    : fmt::format("kilnd refused: {}", err->code);
  err->details.clear();
  if (e.contains("details") && e["details"].is_array()) {
    for (const Json& d : e["details"]) err->details.push_back(d.is_string() ? d.get<std::string>() : d.dump());
  }
  return false;
}

int Report(const CallError& err) {
  switch (err.kind) {
    case CallError::Kind::kNone:
      return kExitOk;
    case CallError::Kind::kInterrupted:
      return kExitInterrupted;
    default:
      break;
  }
  std::fprintf(stderr, "kilnctl: %s\n", err.message.c_str());
  for (const std::string& d : err.details) std::fprintf(stderr, "  %s\n", d.c_str());
  if (err.kind == CallError::Kind::kUsage) return kExitUsage;
  if (err.kind == CallError::Kind::kResponse && err.code == "invalid_argument") return kExitUsage;
  return kExitFailed;
}

int CallOnce(const ClientOptions& o, const std::string& method, const Json& params, Json* result) {
  ControlClient client(ResolveSocketPath(o.socket), Timeout(o));
  CallError err;
  if (!client.Call(method, params, result, &err)) return Report(err);
  return kExitOk;
}

void PrintJson(const Json& j) { std::printf("%s\n", j.dump(2).c_str()); }

}  // namespace kiln::ctl

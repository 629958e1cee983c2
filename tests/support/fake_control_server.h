// A stand-in for kilnd's control socket (docs/control.md) in tests of its
// clients: a thread listens on a Unix socket, reads request lines, records
// them, and answers with canned JSON per method.
//
//   FakeControlServer server(dir + "/kilnd.sock");
//   server.On("status", {{"version", "1.0.0"}});             // ok, this result
//   server.OnError("show", "not_found", "run 42 not found");  // ok: false
//   server.OnSequence("backfill.status", {Ok(running), Ok(succeeded)});
//   ... run the client ...
//   EXPECT_EQ(server.requests()[0], R"({"v":1,"method":"status","params":{}})");
//
// Connections are served one at a time, in the order they arrive, each until
// the client closes it. A method without an answer gets unknown_method.
#ifndef KILN_TESTS_SUPPORT_FAKE_CONTROL_SERVER_H_
#define KILN_TESTS_SUPPORT_FAKE_CONTROL_SERVER_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::testing {

class FakeControlServer {
 public:
  using Json = nlohmann::ordered_json;

  // What the server does with one request.
  struct Reply {
    enum class Kind { kLine, kClose, kSilence } kind = Kind::kLine;
    std::string line;  // kLine: sent as is, followed by '\n'
  };
  static Reply Line(std::string line) { return {Reply::Kind::kLine, std::move(line)}; }
  static Reply Ok(const Json& result) {
    return Line(Json{{"v", 1}, {"ok", true}, {"result", result}}.dump());
  }
  static Reply Error(const std::string& code, const std::string& message, std::vector<std::string> details = {}) {
    Json error{{"code", code}, {"message", message}};
    if (!details.empty()) error["details"] = details;
    return Line(Json{{"v", 1}, {"ok", false}, {"error", error}}.dump());
  }
  static Reply Close() { return {Reply::Kind::kClose, ""}; }      // hang up without answering
  static Reply Silence() { return {Reply::Kind::kSilence, ""}; }  // never answer

  explicit FakeControlServer(std::string path) : path_(std::move(path)) {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ok_ = listen_fd_ >= 0 && ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          ::listen(listen_fd_, 16) == 0 && ::pipe2(stop_, O_CLOEXEC) == 0;
    if (ok_) thread_ = std::thread([this] { Serve(); });
  }
  ~FakeControlServer() {
    if (thread_.joinable()) {
      char c = 'x';
      (void)!::write(stop_[1], &c, 1);
      thread_.join();
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    for (int fd : stop_) {
      if (fd >= 0) ::close(fd);
    }
    ::unlink(path_.c_str());
  }
  FakeControlServer(const FakeControlServer&) = delete;
  FakeControlServer& operator=(const FakeControlServer&) = delete;

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

  // Every call of `method` gets this reply.
  void On(const std::string& method, const Json& result) { OnSequence(method, {Ok(result)}); }
  void OnError(const std::string& method, const std::string& code, const std::string& message,
               std::vector<std::string> details = {}) {
    OnSequence(method, {Error(code, message, std::move(details))});
  }
  void OnReply(const std::string& method, Reply reply) { OnSequence(method, {std::move(reply)}); }
  // The nth call gets the nth reply; calls past the end get the last one.
  void OnSequence(const std::string& method, std::vector<Reply> replies) {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[method] = std::move(replies);
    calls_[method] = 0;
  }

  // The request lines received so far, without their '\n'.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // The parsed requests received so far (null for a line that is not JSON).
  std::vector<Json> parsed_requests() const {
    std::vector<Json> out;
    for (const std::string& line : requests()) out.push_back(Json::parse(line, nullptr, false));
    return out;
  }
  int connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

 private:
  // Waits for `fd` to be readable; false when stopping.
  bool WaitReadable(int fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    for (;;) {
      if (::poll(p, 2, -1) < 0) continue;
      if (p[1].revents != 0) return false;
      if (p[0].revents != 0) return true;
    }
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      const int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++connections_;
      }
      const bool stop = !Converse(conn);
      ::close(conn);
      if (stop) return;
    }
  }

  // Serves one connection until the client closes it; false when stopping.
  bool Converse(int conn) {
    std::string buffer;
    bool silent = false;
    for (;;) {
      if (!WaitReadable(conn)) return false;
      char chunk[4096];
      const ssize_t n = ::recv(conn, chunk, sizeof(chunk), 0);
      if (n <= 0) return true;
      if (silent) continue;
      buffer.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buffer.find('\n')) != std::string::npos) {
        const std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        const Reply reply = Answer(line);
        if (reply.kind == Reply::Kind::kClose) return true;
        if (reply.kind == Reply::Kind::kSilence) {
          silent = true;
          break;
        }
        const std::string out = reply.line + "\n";
        size_t sent = 0;
        while (sent < out.size()) {
          const ssize_t w = ::send(conn, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
          if (w <= 0) return true;
          sent += static_cast<size_t>(w);
        }
      }
    }
  }

  Reply Answer(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(line);
    const Json request = Json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("method") ||
        !request["method"].is_string()) {
      return Error("malformed", "request is not a JSON object with v and method");
    }
    const std::string method = request["method"].get<std::string>();
    auto it = replies_.find(method);
    if (it == replies_.end() || it->second.empty()) return Error("unknown_method", "unknown method '" + method + "'");
    size_t& n = calls_[method];
    const Reply& reply = it->second[std::min(n, it->second.size() - 1)];
    ++n;
    return reply;
  }

  std::string path_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  bool ok_ = false;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Reply>> replies_;
  std::map<std::string, size_t> calls_;
  std::vector<std::string> requests_;
  int connections_ = 0;
};

}  // namespace kiln::testing

#endif  // KILN_TESTS_SUPPORT_FAKE_CONTROL_SERVER_H_

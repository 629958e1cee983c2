// A minimal control-socket client for tests: one JSON request line, one
// reply line.
#ifndef KILN_TESTS_SUPPORT_CONTROL_CLIENT_H_
#define KILN_TESTS_SUPPORT_CONTROL_CLIENT_H_

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::testing {

// Sends `raw` (a newline is added) and returns the reply line, or "" when
// the connection failed or closed first.
inline std::string RawRequest(const std::string& socket_path, const std::string& raw) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  std::string out = raw + "\n";
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') reply += c;
  close(fd);
  return reply;
}

inline nlohmann::json Request(const std::string& socket_path, const std::string& method,
                              const nlohmann::json& params = nlohmann::json::object()) {
  const std::string reply =
      RawRequest(socket_path, nlohmann::json{{"v", 1}, {"method", method}, {"params", params}}.dump());
  if (reply.empty()) return nlohmann::json();
  return nlohmann::json::parse(reply, nullptr, false);
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_SUPPORT_CONTROL_CLIENT_H_

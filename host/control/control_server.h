// The control server: kilnd's Unix socket (Boost.Asio), its permissions and
// its peer check. It frames requests and replies; what a request does is the
// handler's business, called on the event loop's thread.
//
// Security: the socket's directory is created with mode 0700 (an existing
// one must be a directory with no group or other access), the socket itself
// is 0600, and every connection's peer uid (SO_PEERCRED) must be in the
// allowlist (kilnd's own uid and root by default).
#ifndef KILN_HOST_CONTROL_CONTROL_SERVER_H_
#define KILN_HOST_CONTROL_CONTROL_SERVER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "host/base/status.h"
#include "host/control/protocol.h"

namespace kiln {

class ControlServer {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;

  ControlServer(boost::asio::io_context& io, std::string path, std::set<uid_t> allowed, Handler handler);
  ~ControlServer();

  // Creates the directory, refuses a socket another kilnd is serving,
  // removes a stale one, binds and listens.
  Status Start();
  // Stops accepting, closes every connection and removes the socket file.
  void Stop();

  const std::string& path() const { return path_; }

 private:
  class Connection;
  void Accept();

  boost::asio::io_context& io_;
  const std::string path_;
  const std::set<uid_t> allowed_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // connections check it after Stop
  std::optional<std::pair<dev_t, ino_t>> bound_;  // the socket file this server created
};

}  // namespace kiln

#endif  // KILN_HOST_CONTROL_CONTROL_SERVER_H_

#include "host/control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "host/base/log.h"

namespace kiln {

using boost::asio::local::stream_protocol;

class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(stream_protocol::socket socket, const Handler& handler, std::shared_ptr<bool> alive)
      : socket_(std::move(socket)), buffer_(kMaxRequestBytes + 1), handler_(handler), alive_(std::move(alive)) {}

  void Start(const std::set<uid_t>& allowed) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        allowed.count(cred.uid) == 0) {
      const std::string who = len == sizeof cred ? std::to_string(cred.uid) : "unknown";
      LogLine(spdlog::level::warn, LogFields{}, "control: refused a connection from uid " + who);
      Send(ControlReply::Error("permission_denied", "uid " + who + " may not control this kilnd"), true);
      return;
    }
    Read();
  }

 private:
  void Read() {
    auto self = shared_from_this();
    boost::asio::async_read_until(socket_, buffer_, '\n', [self](const boost::system::error_code& ec, size_t n) {
      if (!*self->alive_) return;
      if (ec == boost::asio::error::not_found) {
        self->Send(ControlReply::Error("too_large", fmt::format("request exceeds {} bytes", kMaxRequestBytes)), true);
        return;
      }
      if (ec) return;  // EOF or reset: the client is gone
      std::string line(boost::asio::buffers_begin(self->buffer_.data()),
                       boost::asio::buffers_begin(self->buffer_.data()) + static_cast<std::ptrdiff_t>(n - 1));
      self->buffer_.consume(n);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ControlRequest request;
      ControlReply reply;
      if (ParseControlRequest(line, &request, &reply)) {
        try {
          reply = self->handler_(request);
        } catch (const std::exception& e) {
          reply = ControlReply::Error("internal", std::string("internal error: ") + e.what());
        }
      }
      self->Send(reply, false);
    });
  }

  void Send(const ControlReply& reply, bool then_close) {
    auto self = shared_from_this();
    auto out = std::make_shared<std::string>(FormatControlReply(reply));
    boost::asio::async_write(socket_, boost::asio::buffer(*out),
                             [self, out, then_close](const boost::system::error_code& ec, size_t) {
                               if (ec || then_close || !*self->alive_) {
                                 boost::system::error_code ignored;
                                 self->socket_.close(ignored);
                                 return;
                               }
                               self->Read();
                             });
  }

  stream_protocol::socket socket_;
  boost::asio::streambuf buffer_;
  Handler handler_;  // a copy: a connection may outlive nothing, but owes nothing either
  std::shared_ptr<bool> alive_;
};

ControlServer::ControlServer(boost::asio::io_context& io, std::string path, std::set<uid_t> allowed,
                             Handler handler)
    : io_(io), path_(std::move(path)), allowed_(std::move(allowed)), handler_(std::move(handler)), acceptor_(io) {}

ControlServer::~ControlServer() { Stop(); }

namespace {

// The directory is made 0700 by mkdir itself, never chmod-ed into shape: a
// directory that already exists must already be private.
Status PrepareDirectory(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IOError(fmt::format("control_socket directory {}: cannot create: {}", dir, std::strerror(errno)));
    }
    if (stat(dir.c_str(), &st) != 0) {
      return Status::IOError(fmt::format("control_socket directory {}: {}", dir, std::strerror(errno)));
    }
  }
  if (!S_ISDIR(st.st_mode)) return Status::IOError(fmt::format("control_socket directory {}: not a directory", dir));
  if (st.st_uid != geteuid()) {
    return Status::IOError(fmt::format("control_socket directory {}: owned by uid {}, expected {}", dir, st.st_uid,
                                       geteuid()));
  }
  if (st.st_mode & 077) {
    return Status::IOError(fmt::format("control_socket directory {}: mode {:04o} lets others in, expected 0700", dir,
                                       st.st_mode & 07777));
  }
  return Status::OK();
}

}  // namespace

Status ControlServer::Start() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::InvalidArgument(
        fmt::format("control_socket {}: path longer than {} bytes", path_, sizeof(sockaddr_un::sun_path) - 1));
  }
  Status s = PrepareDirectory(std::filesystem::path(path_).parent_path().string());
  if (!s.ok()) return s;

  struct stat st;
  if (lstat(path_.c_str(), &st) == 0) {
    // Never removed: only a socket can be kilnd's own leftover.
    if (!S_ISSOCK(st.st_mode)) {
      const char* kind = S_ISDIR(st.st_mode)   ? "a directory"
                         : S_ISREG(st.st_mode) ? "a regular file"
                         : S_ISLNK(st.st_mode) ? "a symbolic link"
                                               : "a special file";
      return Status::IOError(fmt::format("control_socket {}: exists and is {}, not a socket", path_, kind));
    }
    // A socket someone answers on belongs to a live kilnd; one nobody
    // answers on is left over from a crash.
    stream_protocol::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(stream_protocol::endpoint(path_), ec);
    if (!ec) return Status::IOError(fmt::format("control_socket {}: in use by another kilnd", path_));
    if (ec != boost::asio::error::connection_refused) {
      // Only ECONNREFUSED proves nobody listens (a kill -9 leaves exactly
      // that); anything else (EACCES, EAGAIN from a full backlog) is not
      // proof, and the socket may be a live kilnd's.
      return Status::IOError(fmt::format("control_socket {}: exists and cannot be probed: {}", path_, ec.message()));
    }
    LogLine(spdlog::level::info, LogFields{},
            fmt::format("control_socket {}: removing a stale socket nobody listens on (left by a kilnd that died)", path_));
    if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(fmt::format("control_socket {}: cannot remove the stale socket: {}", path_, std::strerror(errno)));
    }
  }

  boost::system::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec) acceptor_.bind(stream_protocol::endpoint(path_), ec);
  if (ec) return Status::IOError(fmt::format("control_socket {}: cannot bind: {}", path_, ec.message()));
  struct stat bound;
  if (stat(path_.c_str(), &bound) == 0) bound_ = {bound.st_dev, bound.st_ino};
  if (chmod(path_.c_str(), 0600) != 0) {
    return Status::IOError(fmt::format("control_socket {}: cannot set mode 0600: {}", path_, std::strerror(errno)));
  }
  acceptor_.listen(64, ec);
  if (ec) return Status::IOError(fmt::format("control_socket {}: cannot listen: {}", path_, ec.message()));
  Accept();
  return Status::OK();
}

void ControlServer::Accept() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec, stream_protocol::socket socket) {
    if (!*alive) return;
    if (!ec) std::make_shared<Connection>(std::move(socket), handler_, alive_)->Start(allowed_);
    if (acceptor_.is_open()) Accept();
  });
}

void ControlServer::Stop() {
  if (!*alive_) return;
  *alive_ = false;
  boost::system::error_code ignored;
  if (acceptor_.is_open()) acceptor_.close(ignored);
  // Only the socket this server bound: after a failed bind, or if another
  // kilnd has since taken the path, the file there is not ours to remove.
  struct stat st;
  if (bound_ && stat(path_.c_str(), &st) == 0 && std::pair(st.st_dev, st.st_ino) == *bound_) {
    unlink(path_.c_str());
  }
}

}  // namespace kiln

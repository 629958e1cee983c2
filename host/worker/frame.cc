#include "host/worker/frame.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kiln {

Status WriteFrame(int fd, const nlohmann::json& message) {
  const std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (body.size() > kMaxFrameBytes) return Status::InvalidArgument("frame too large");
  std::string out(4, '\0');
  const uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += body;
  size_t sent = 0;
  while (sent < out.size()) {
    // send(MSG_NOSIGNAL): a peer that died is an error here, not a SIGPIPE.
    ssize_t w = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError(fmt::format("write to worker channel: {}", std::strerror(errno)));
    sent += static_cast<size_t>(w);
  }
  return Status::OK();
}

Status FrameReader::Fill(int fd, bool* eof) {
  char buf[65536];
  *eof = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Status::OK();
    if (n < 0) return Status::IOError(fmt::format("read from worker channel: {}", std::strerror(errno)));
    if (n == 0) *eof = true;
    else buffer_.append(buf, static_cast<size_t>(n));
    return Status::OK();
  }
}

namespace {

Status BadField(const std::string& key, const char* expected) {
  return Status::Corruption(fmt::format("worker frame field '{}': expected {}", key, expected));
}

// The fields either side reads, by type. A frame can come from a process
// running third-party code, which can write anything to its channel: after
// this check a reader may take any of these fields as typed (nlohmann's
// value() and get() throw on a type mismatch, which would end kilnd).
Status CheckFields(const nlohmann::json& frame) {
  for (const auto& [key, value] : frame.items()) {
    if (key == "level") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 6) {
        return BadField(key, "an integer 0..6");
      }
    } else if (key == "message" || key == "error" || key == "code" || key == "plugin_path") {
      if (!value.is_string()) return BadField(key, "a string");
    } else if (key == "records") {
      if (!value.is_number_unsigned()) return BadField(key, "an unsigned integer");
    } else if (key == "ok") {
      if (!value.is_boolean()) return BadField(key, "true or false");
    } else if (key == "options") {
      if (!value.is_object()) return BadField(key, "an object");
    } else if (key == "phases") {
      if (!value.is_array()) return BadField(key, "an array");
      for (const nlohmann::json& phase : value) {
        if (!phase.is_object() || !phase.value("name", nlohmann::json()).is_string() ||
            !phase.value("ms", nlohmann::json()).is_number() ||
            !phase.value("records", nlohmann::json()).is_number_unsigned() ||
            !phase.value("ok", nlohmann::json()).is_boolean()) {
          return BadField(key, "objects of name, ms, records and ok");
        }
      }
    }
  }
  return Status::OK();
}

}  // namespace

Status FrameReader::Next(nlohmann::json* out, bool* got) {
  *got = false;
  if (buffer_.size() < 4) return Status::OK();
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(buffer_[i])) << (8 * i);
  if (n > kMaxFrameBytes) return Status::Corruption(fmt::format("worker frame of {} bytes exceeds {}", n, kMaxFrameBytes));
  if (buffer_.size() < 4 + static_cast<size_t>(n)) return Status::OK();
  nlohmann::json j = nlohmann::json::parse(buffer_.begin() + 4, buffer_.begin() + 4 + n, nullptr, false);
  buffer_.erase(0, 4 + static_cast<size_t>(n));
  if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Status::Corruption("worker frame is not a JSON object with a \"type\"");
  }
  if (Status s = CheckFields(j); !s.ok()) return s;
  *out = std::move(j);
  *got = true;
  return Status::OK();
}

}  // namespace kiln

// Framing between kilnd and kiln-worker: each message is a 4-byte
// little-endian length followed by that many bytes of JSON. Used over a
// SOCK_STREAM socketpair; the reader copes with partial reads and refuses a
// frame larger than kMaxFrameBytes (a corrupt or hostile length).
#ifndef KILN_HOST_WORKER_FRAME_H_
#define KILN_HOST_WORKER_FRAME_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "host/base/status.h"

namespace kiln {

inline constexpr uint32_t kMaxFrameBytes = 4u << 20;

// Writes one frame, retrying short writes and EINTR. Not thread-safe: one
// writer per fd at a time.
Status WriteFrame(int fd, const nlohmann::json& message);

// Accumulates bytes read from an fd and yields whole frames.
class FrameReader {
 public:
  // Reads what is available (one read() call). OK with *eof = true at end
  // of stream; IOError on a read error.
  Status Fill(int fd, bool* eof);
  // The next whole frame, if one is buffered. Corruption for a frame that
  // is too large, not a JSON object with a "type" string, or has a field
  // either side reads (level, message, error, code, records, ok, phases,
  // options, plugin_path) of the wrong type.
  Status Next(nlohmann::json* out, bool* got);

 private:
  std::string buffer_;
};

}  // namespace kiln

#endif  // KILN_HOST_WORKER_FRAME_H_

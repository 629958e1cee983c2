// Fuzz target: the worker channel's frame decoder (host/worker/frame.h).
//
// The input is what arrives on the socket: the first byte picks how the bytes
// are cut into writes (partial frames, headers split across reads), the rest
// is the stream. Frames are decoded the way WorkerInstance and kiln-worker do
// it: Fill, then Next until nothing is buffered, stopping at the first error
// (the channel is then dead). Every frame decoded is written back with
// WriteFrame and decoded again, and must come back equal.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/worker/frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

struct Pair {
  int fd[2] = {-1, -1};
  Pair() {
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0);
    FUZZ_CHECK(fcntl(fd[0], F_SETFL, O_NONBLOCK) == 0);
  }
  ~Pair() {
    if (fd[0] >= 0) close(fd[0]);
    if (fd[1] >= 0) close(fd[1]);
  }
};

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t w = write(fd, bytes.data(), bytes.size());
    FUZZ_CHECK(w > 0);
    bytes.remove_prefix(static_cast<size_t>(w));
  }
}

// Decodes what is buffered; false after an error.
bool Drain(kiln::FrameReader* reader, std::vector<nlohmann::json>* frames) {
  for (;;) {
    nlohmann::json j;
    bool got = false;
    kiln::Status s = reader->Next(&j, &got);
    if (!s.ok()) {
      FUZZ_CHECK(s.code() == kiln::Status::Code::kCorruption, s.ToString());
      FUZZ_CHECK(kiln_fuzz::OneLine(s.message()), s.message());
      return false;
    }
    if (!got) return true;
    FUZZ_CHECK(j.is_object() && j["type"].is_string(), j.dump());
    frames->push_back(std::move(j));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1 << 16)) return 0;  // the socket buffer holds what we write
  static const size_t kChunks[] = {1, 2, 3, 4, 5, 7, 64, 4096};
  const size_t chunk = kChunks[data[0] % std::size(kChunks)];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Pair channel;
  kiln::FrameReader reader;
  std::vector<nlohmann::json> frames;
  bool alive = true;
  while (alive && !stream.empty()) {
    std::string_view piece = stream.substr(0, chunk);
    stream.remove_prefix(piece.size());
    WriteAll(channel.fd[1], piece);
    bool eof = true;
    kiln::Status s = reader.Fill(channel.fd[0], &eof);
    FUZZ_CHECK(s.ok() && !eof, s.ToString());
    alive = Drain(&reader, &frames);
  }
  if (alive) {
    close(channel.fd[1]);
    channel.fd[1] = -1;
    bool eof = false;
    kiln::Status s = reader.Fill(channel.fd[0], &eof);
    FUZZ_CHECK(s.ok() && eof, s.ToString());
  }

  // Round trip: what was decoded, written again, reads back the same.
  if (frames.empty()) return 0;
  Pair back;
  kiln::FrameReader again;
  std::vector<nlohmann::json> decoded;
  for (const nlohmann::json& f : frames) {
    FUZZ_CHECK(kiln::WriteFrame(back.fd[1], f).ok());
    bool eof = true;
    // One frame at a time: the socket buffer need not hold them all.
    while (decoded.size() < frames.size() && decoded.size() < static_cast<size_t>(&f - &frames[0]) + 1) {
      FUZZ_CHECK(again.Fill(back.fd[0], &eof).ok() && !eof);
      FUZZ_CHECK(Drain(&again, &decoded));
    }
  }
  FUZZ_CHECK(decoded == frames);
  return 0;
}

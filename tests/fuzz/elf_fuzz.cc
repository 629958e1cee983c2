// Fuzz target: the ELF pre-check (host/loader/elf_file.h) on a file holding
// the input bytes. Checks: a refusal is one line starting with the path;
// nothing is read outside the file (the sanitizers watch the buffers).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "host/loader/elf_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// One scratch file per process, rewritten for each input.
struct Scratch {
  std::string path;
  int fd = -1;
  Scratch() {
    // Memory-backed when there is /dev/shm: this file is rewritten per input.
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    path = dir + "/kiln_elf_fuzz_XXXXXX";
    fd = mkstemp(path.data());
    FUZZ_CHECK(fd >= 0, path);
  }
  ~Scratch() {
    close(fd);
    unlink(path.c_str());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Scratch scratch;
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(scratch.fd, data + done, size - done, static_cast<off_t>(done));
    FUZZ_CHECK(w > 0);
    done += static_cast<size_t>(w);
  }
  FUZZ_CHECK(ftruncate(scratch.fd, static_cast<off_t>(size)) == 0);
  kiln::ElfReport report;
  kiln::Status s = kiln::InspectElfFile(scratch.path, &report);
  if (!s.ok()) {
    FUZZ_CHECK(s.message().rfind(scratch.path + ": ", 0) == 0, s.message());
    FUZZ_CHECK(kiln_fuzz::OneLine(s.message()), s.message());
  }
  return 0;
}

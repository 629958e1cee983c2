// The fuzz targets' main() in the normal build (g++, with or without
// ASan+UBSan), where libFuzzer is not available. It runs a target on
//   1. every file of the directories given (the seed corpus and the inputs
//      that once failed, tests/fuzz/regressions/<target>/), then
//   2. a fixed number of inputs mutated from those files by a seeded PRNG
//      (bit flips, byte inserts and deletes, interesting values, numbers,
//      splices between files): the same inputs on every run and machine.
//      Under ASan/UBSan a tenth as many; KILN_FUZZ_MUTATIONS overrides.
// Before each input runs it is written to <work>/<target>.current, so when
// the target crashes, aborts (a FUZZ_CHECK, a sanitizer) or hangs, the
// failing input is on disk; the fatal-signal and sanitizer-death handlers
// print its path and bytes in hex. A clean run removes the file.
//
//   fuzz_<target> [--name N] [--mutations N] [--seed S] [--max-len N]
//                 [--timeout SECONDS] [--work DIR] DIR_OR_FILE...
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" __attribute__((weak)) void __sanitizer_set_death_callback(void (*callback)(void));

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// What the handlers print: set before each input runs.
char g_current_path[4096];
const uint8_t* g_current_data = nullptr;
size_t g_current_size = 0;
char g_current_label[256];

void WriteStr(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Async-signal-safe: write(2) only.
void ReportCurrent(const char* why) {
  static const char kHex[] = "0123456789abcdef";
  WriteStr("\n*** fuzz target ");
  WriteStr(why);
  WriteStr(" on input ");
  WriteStr(g_current_label);
  WriteStr("\n*** saved as ");
  WriteStr(g_current_path);
  WriteStr("\n*** hex (");
  char num[32];
  int k = 0;
  size_t n = g_current_size;
  char rev[32];
  do {
    rev[k++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  for (int i = 0; i < k; ++i) num[i] = rev[k - 1 - i];
  num[k] = '\0';
  WriteStr(num);
  WriteStr(" bytes):\n");
  char line[72];
  const size_t shown = g_current_size < 8192 ? g_current_size : 8192;
  for (size_t i = 0; i < shown; i += 32) {
    size_t p = 0;
    for (size_t j = i; j < shown && j < i + 32; ++j) {
      line[p++] = kHex[g_current_data[j] >> 4];
      line[p++] = kHex[g_current_data[j] & 15];
    }
    line[p++] = '\n';
    line[p] = '\0';
    WriteStr(line);
  }
  if (shown < g_current_size) WriteStr("... (truncated; the file has it all)\n");
}

void OnFatalSignal(int sig) {
  ReportCurrent(sig == SIGALRM ? "timed out" : "crashed");
  signal(sig, SIG_DFL);
  if (sig == SIGALRM) _exit(70);
  raise(sig);
}

void OnSanitizerDeath() { ReportCurrent("failed a sanitizer check"); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

const uint8_t kInterestingBytes[] = {0,   1,   0x7f, 0x80, 0xff, '0', '1', '9', ' ',  '\t', '\n', '\r', '"',
                                     '\'', '\\', '[', ']',  '{',  '}', ',', '=', ':', '#',  '*',  '/',  '-',
                                     '.', 'L',  '@', 'x',  0xc3, 0xa9, 0xe2, 0x80, 0x8f, '+', 0xfe, 'u'};
const uint64_t kInterestingInts[] = {0,          1,          0x7f,       0x80,       0xff,       0x100,
                                     0x7fff,     0x8000,     0xffff,     0x7fffffff, 0x80000000, 0xffffffff,
                                     0x100000000, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
                                     64,         256,        257,        4u << 20,   (4u << 20) + 1, 112};
const char* const kInterestingNumbers[] = {"0",  "-1",        "1",          "7",           "31",
                                           "60", "2147483647", "2147483648", "4294967296", "9223372036854775808",
                                           "99999999999999999999", "1e308", "-0", "00", "1.5"};

// One mutation of `in`, drawing from the whole pool for splices.
void MutateOnce(Bytes* in, const std::vector<Bytes>& pool, Rng& rng, size_t max_len) {
  Bytes& b = *in;
  switch (rng.Below(11)) {
    case 0:  // flip a bit
      if (!b.empty()) b[rng.Below(b.size())] ^= static_cast<uint8_t>(1u << rng.Below(8));
      break;
    case 1:  // an interesting byte
      if (!b.empty()) b[rng.Below(b.size())] = kInterestingBytes[rng.Below(std::size(kInterestingBytes))];
      break;
    case 2:  // a random byte
      if (!b.empty()) b[rng.Below(b.size())] = static_cast<uint8_t>(rng.Next());
      break;
    case 3: {  // insert bytes
      size_t n = 1 + rng.Below(4);
      size_t at = rng.Below(b.size() + 1);
      for (size_t i = 0; i < n; ++i) {
        uint8_t v = rng.Below(2) ? kInterestingBytes[rng.Below(std::size(kInterestingBytes))]
                                 : static_cast<uint8_t>(rng.Next());
        b.insert(b.begin() + static_cast<ptrdiff_t>(at), v);
      }
      break;
    }
    case 4: {  // delete a range
      if (b.empty()) break;
      size_t at = rng.Below(b.size());
      size_t n = std::min(b.size() - at, 1 + rng.Below(16));
      b.erase(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(at + n));
      break;
    }
    case 5: {  // duplicate a range of itself somewhere else
      if (b.empty()) break;
      size_t from = rng.Below(b.size());
      size_t n = std::min(b.size() - from, 1 + rng.Below(32));
      Bytes chunk(b.begin() + static_cast<ptrdiff_t>(from), b.begin() + static_cast<ptrdiff_t>(from + n));
      b.insert(b.begin() + static_cast<ptrdiff_t>(rng.Below(b.size() + 1)), chunk.begin(), chunk.end());
      break;
    }
    case 6: {  // splice: a prefix of this, a suffix of another
      const Bytes& o = pool[rng.Below(pool.size())];
      size_t cut = rng.Below(b.size() + 1);
      size_t from = rng.Below(o.size() + 1);
      b.resize(cut);
      b.insert(b.end(), o.begin() + static_cast<ptrdiff_t>(from), o.end());
      break;
    }
    case 7: {  // insert a piece of another
      const Bytes& o = pool[rng.Below(pool.size())];
      if (o.empty()) break;
      size_t from = rng.Below(o.size());
      size_t n = std::min(o.size() - from, 1 + rng.Below(64));
      b.insert(b.begin() + static_cast<ptrdiff_t>(rng.Below(b.size() + 1)), o.begin() + static_cast<ptrdiff_t>(from),
               o.begin() + static_cast<ptrdiff_t>(from + n));
      break;
    }
    case 8: {  // an interesting little-endian integer over 1, 2, 4 or 8 bytes
      size_t width = size_t{1} << rng.Below(4);
      if (b.size() < width) break;
      uint64_t v = kInterestingInts[rng.Below(std::size(kInterestingInts))];
      if (rng.Below(4) == 0) v = ~v + 1;  // negated
      size_t at = rng.Below(b.size() - width + 1);
      for (size_t i = 0; i < width; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
      break;
    }
    case 9: {  // replace a decimal number with an interesting one
      std::vector<size_t> starts;
      for (size_t i = 0; i < b.size(); ++i) {
        if (b[i] >= '0' && b[i] <= '9' && (i == 0 || b[i - 1] < '0' || b[i - 1] > '9')) starts.push_back(i);
      }
      if (starts.empty()) break;
      size_t at = starts[rng.Below(starts.size())];
      size_t end = at;
      while (end < b.size() && b[end] >= '0' && b[end] <= '9') ++end;
      const char* num = kInterestingNumbers[rng.Below(std::size(kInterestingNumbers))];
      b.erase(b.begin() + static_cast<ptrdiff_t>(at), b.begin() + static_cast<ptrdiff_t>(end));
      b.insert(b.begin() + static_cast<ptrdiff_t>(at), num, num + std::strlen(num));
      break;
    }
    default: {  // truncate
      if (!b.empty()) b.resize(rng.Below(b.size()));
      break;
    }
  }
  if (b.size() > max_len) b.resize(max_len);
}

struct Options {
  std::string name = "target";
  uint64_t mutations = 0;
  uint64_t seed = 1;
  size_t max_len = 16384;
  unsigned timeout = 20;
  std::string work = ".";
  std::vector<std::string> inputs;
};

[[noreturn]] void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--name N] [--mutations N] [--seed S] [--max-len N] [--timeout S] [--work DIR] "
               "DIR_OR_FILE...\n",
               argv0);
  std::exit(2);
}

class Runner {
 public:
  explicit Runner(const Options& o) : o_(o) {
    const std::string path = (fs::path(o.work) / (o.name + ".current")).string();
    std::snprintf(g_current_path, sizeof g_current_path, "%s", path.c_str());
    fd_ = open(g_current_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      std::perror(g_current_path);
      std::exit(2);
    }
  }
  ~Runner() {
    close(fd_);
    unlink(g_current_path);
  }

  void Run(const Bytes& input, const std::string& label) {
    std::snprintf(g_current_label, sizeof g_current_label, "%s", label.c_str());
    g_current_data = input.data();
    g_current_size = input.size();
    if ((!input.empty() && pwrite(fd_, input.data(), input.size(), 0) != static_cast<ssize_t>(input.size())) ||
        ftruncate(fd_, static_cast<off_t>(input.size())) != 0) {
      std::perror(g_current_path);
      std::exit(2);
    }
    alarm(o_.timeout);
    // A copy of exactly the input's size, so a read past its end is caught.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[input.size()]);
    if (!input.empty()) std::memcpy(copy.get(), input.data(), input.size());
    LLVMFuzzerTestOneInput(copy.get(), input.size());
    alarm(0);
  }

 private:
  const Options& o_;
  int fd_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0]);
      return argv[++i];
    };
    if (a == "--name") o.name = value();
    else if (a == "--mutations") o.mutations = std::stoull(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--max-len") o.max_len = std::stoull(value());
    else if (a == "--timeout") o.timeout = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--work") o.work = value();
    else if (a.rfind("--", 0) == 0) Usage(argv[0]);
    else o.inputs.push_back(a);
  }
  // Sanitized (Debug) builds run ten to twenty times slower: a tenth of the
  // mutations keeps their test time near the plain build's.
  const bool sanitized = __sanitizer_set_death_callback != nullptr;
  if (sanitized) o.mutations /= 10;
  if (const char* m = std::getenv("KILN_FUZZ_MUTATIONS")) o.mutations = std::stoull(m);

  // On an alternate stack, so a stack overflow is reported too.
  static char alt_stack[1 << 16];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = OnFatalSignal;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM}) sigaction(sig, &sa, nullptr);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(OnSanitizerDeath);
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);

  // The files, in name order: a missing directory is an empty one (git keeps
  // no empty regressions/<target>/).
  std::vector<std::pair<std::string, Bytes>> files;
  for (const std::string& in : o.inputs) {
    std::vector<fs::path> paths;
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      for (const auto& e : fs::directory_iterator(in, ec)) {
        if (e.is_regular_file()) paths.push_back(e.path());
      }
      std::sort(paths.begin(), paths.end());
    } else if (fs::is_regular_file(in, ec)) {
      paths.push_back(in);
    }
    for (const fs::path& p : paths) {
      std::ifstream f(p, std::ios::binary);
      files.emplace_back(p.string(), Bytes(std::istreambuf_iterator<char>(f), {}));
    }
  }

  const auto started = std::chrono::steady_clock::now();
  Runner runner(o);
  for (const auto& [path, bytes] : files) runner.Run(bytes, path);

  std::vector<Bytes> pool;
  for (const auto& f : files) pool.push_back(f.second);
  if (pool.empty()) pool.emplace_back();
  Rng rng(o.seed);
  for (uint64_t i = 0; i < o.mutations; ++i) {
    Bytes b = pool[rng.Below(pool.size())];
    const size_t n = 1 + rng.Below(rng.Below(4) == 0 ? 16 : 4);
    for (size_t k = 0; k < n; ++k) MutateOnce(&b, pool, rng, o.max_len);
    runner.Run(b, "mutation " + std::to_string(i) + " (--seed " + std::to_string(o.seed) + ")");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fuzz.%s: %zu files and %llu mutations (seed %llu) passed in %.2f s\n", o.name.c_str(), files.size(),
              static_cast<unsigned long long>(o.mutations), static_cast<unsigned long long>(o.seed), secs);
  return 0;
}

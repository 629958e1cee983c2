// Shared by the fuzz targets: a check that aborts (so libFuzzer, the
// sanitizers and replay_main all report the input), and a small reader
// that turns fuzz bytes into typed values.
#ifndef KILN_TESTS_FUZZ_FUZZ_CHECK_H_
#define KILN_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

// An invariant of the code under test. On failure: a message, then abort().
#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      kiln_fuzz::Detail(__VA_ARGS__);                                               \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace kiln_fuzz {

inline void Detail() {}
inline void Detail(std::string_view what) {
  std::fprintf(stderr, "  %.*s\n", static_cast<int>(what.size()), what.data());
}

// One line: no newline, no carriage return.
inline bool OneLine(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// Reads fixed-size values and short strings from the front of the input;
// past the end everything reads as zero or empty.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T Raw() {
    T v{};
    size_t n = sizeof(T) < size_ - pos_ ? sizeof(T) : size_ - pos_;
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  uint8_t Byte() { return Raw<uint8_t>(); }
  // A length byte, then that many bytes. `null` is set for length 0xff.
  std::string String(bool* null = nullptr) {
    uint8_t n = Byte();
    if (null) *null = n == 0xff;
    if (n == 0xff) return std::string();
    size_t take = n < size_ - pos_ ? n : size_ - pos_;
    std::string s(reinterpret_cast<const char*>(data_ + pos_), take);
    pos_ += take;
    return s;
  }
  std::string_view Rest() {
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return s;
  }
  bool empty() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace kiln_fuzz

#endif  // KILN_TESTS_FUZZ_FUZZ_CHECK_H_

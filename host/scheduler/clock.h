// Time as the scheduler sees it: an injectable clock, so tests drive the
// scheduler through days of schedules without sleeping.
#ifndef KILN_HOST_SCHEDULER_CLOCK_H_
#define KILN_HOST_SCHEDULER_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace kiln {

using SysMillis = std::chrono::sys_time<std::chrono::milliseconds>;

inline int64_t ToUnixMillis(SysMillis t) { return t.time_since_epoch().count(); }
inline SysMillis FromUnixMillis(int64_t ms) { return SysMillis(std::chrono::milliseconds(ms)); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SysMillis Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SysMillis Now() const override {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
};

}  // namespace kiln

#endif  // KILN_HOST_SCHEDULER_CLOCK_H_

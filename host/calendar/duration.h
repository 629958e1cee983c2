// Durations as users write them in configuration and on the command line.
#ifndef KILN_HOST_CALENDAR_DURATION_H_
#define KILN_HOST_CALENDAR_DURATION_H_

#include <chrono>
#include <string_view>

#include "host/base/status.h"

namespace kiln {

// Reads a positive duration: one or more <digits><unit> parts with units
// ms, s, m, h and d (1d = 24h, whatever the calendar does), summed:
//   "90s", "15m", "2h", "1d", "1h30m", "500ms"  ->  milliseconds
// No blanks inside, no signs, no fractions. Errors are InvalidArgument:
//   bad duration '15x': expected a number followed by ms, s, m, h or d
//   bad duration '0s': must be greater than zero        (also for "-5m")
//   bad duration '99999999999d': too large
Status ParseDuration(std::string_view text, std::chrono::milliseconds* out);

}  // namespace kiln

#endif  // KILN_HOST_CALENDAR_DURATION_H_

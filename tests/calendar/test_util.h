// Helpers shared by the calendar tests: everything goes through strings so
// that expectations read as the times a user would see.
#ifndef KILN_TESTS_CALENDAR_TEST_UTIL_H_
#define KILN_TESTS_CALENDAR_TEST_UTIL_H_

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "host/calendar/cron.h"

namespace kiln::testing {

// The zone, or nullptr for "" (UTC). Aborts the test on an unknown name.
inline const date::time_zone* Zone(std::string_view name) {
  if (name.empty()) return nullptr;
  const date::time_zone* zone = nullptr;
  Status s = FindTimeZone(name, &zone);
  if (!s.ok()) std::abort();
  return zone;
}

// An instant from an ISO 8601 text; wall times are read in `zone`.
inline SysSeconds At(std::string_view text, std::string_view zone = "") {
  SysSeconds t;
  Status s = ParseTime(text, Zone(zone), &t);
  if (!s.ok()) std::abort();
  return t;
}

// The parse error for `expr`, or "OK".
inline std::string ParseError(std::string_view expr) {
  CronSchedule c;
  return CronSchedule::Parse(expr, &c).ToString();
}

// The next `n` fire times of `expr` after `after`, formatted in `zone`, or
// the first error message.
inline std::vector<std::string> Fires(std::string_view expr, std::string_view zone, std::string_view after,
                                      int n = 1) {
  CronSchedule c;
  Status s = CronSchedule::Parse(expr, &c);
  if (!s.ok()) return {s.ToString()};
  const date::time_zone* z = Zone(zone);
  SysSeconds t = At(after, zone);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    s = c.Next(t, z, &t);
    if (!s.ok()) {
      out.push_back(s.ToString());
      break;
    }
    out.push_back(FormatIso8601(t, z));
  }
  return out;
}

// The first fire time, as a single string.
inline std::string Fire(std::string_view expr, std::string_view zone, std::string_view after) {
  return Fires(expr, zone, after, 1).front();
}

}  // namespace kiln::testing

#endif  // KILN_TESTS_CALENDAR_TEST_UTIL_H_

// Time zones and instants as users write them.
//
// Kiln keeps every instant as SysSeconds (seconds since the Unix epoch, UTC)
// and meets users in their own zone: schedules are wall-clock patterns, and
// times on the command line and in output are ISO 8601 with an offset.
//
// Zones come from the system tz database (/usr/share/zoneinfo) through
// Howard Hinnant's date library. A `const date::time_zone*` stays valid for
// the life of the process. Wherever a zone is taken, nullptr means UTC.
#ifndef KILN_HOST_CALENDAR_ZONE_H_
#define KILN_HOST_CALENDAR_ZONE_H_

#include <chrono>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "host/base/status.h"

namespace kiln {

using SysSeconds = std::chrono::sys_seconds;

// Looks up an IANA zone name ("America/New_York", "UTC"). On failure returns
// InvalidArgument "unknown time zone 'Mars/Base'" (a zone name is user input),
// or IOError if the tz database
// itself cannot be read.
Status FindTimeZone(std::string_view name, const date::time_zone** out);

// "2012-03-11T03:30:00-04:00": the wall time of `t` in `zone` and the offset
// in force there. With zone == nullptr the suffix is "Z". Offsets with a
// seconds part (old local mean times) are written "-04:56:02".
std::string FormatIso8601(SysSeconds t, const date::time_zone* zone);

// Reads an instant. Accepted forms:
//   2012-03-11T01:00:00-05:00   with an offset (also -0500, -05, Z or z):
//                               the instant is exact and `zone` is not used
//   2012-03-11T01:00:00         without an offset: a wall time in `zone`
//   2012-03-11T01:00            seconds may be left out
//   2012-03-11 01:00            a space may stand for the 'T'
//   2012-03-11                  midnight, wall time in `zone`
// Wall times are resolved by ResolveWallTime below. Errors are
// InvalidArgument, e.g. "bad time '2025-02-30': no such date".
Status ParseTime(std::string_view text, const date::time_zone* zone, SysSeconds* out);

// The instant a wall time stands for, resolved as RFC 5545 does: a wall time
// that does not exist (skipped by a spring-forward gap) is read with the
// offset in force before the gap, so 02:30 on a New York spring-forward night
// is 03:30 EDT; an ambiguous wall time (repeated by a fall-back) is its first
// occurrence. Every wall time therefore names exactly one instant.
SysSeconds ResolveWallTime(date::local_seconds wall, const date::time_zone* zone);

}  // namespace kiln

#endif  // KILN_HOST_CALENDAR_ZONE_H_

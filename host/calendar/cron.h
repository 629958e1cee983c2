// CronSchedule: when a processor runs, written as a cron expression.
//
// Syntax. Five fields, as in Vixie cron:
//     minute hour day-of-month month day-of-week
// or six, with seconds first, as in Quartz and robfig/cron:
//     second minute hour day-of-month month day-of-week
// With five fields the second is 0. Fields are separated by blanks. Each is
// a comma-separated list of items:
//     *        every value          a-b      a range        a-b/s  a range in steps
//     */s      every s-th value     n        one value      n/s    n to the field's end in steps
// Ranges are  second 0-59, minute 0-59, hour 0-23, day-of-month 1-31,
// month 1-12 (or jan..dec), day-of-week 0-7 (or sun..sat; 0 and 7 are both
// Sunday; the end used by n/s and */s is 6). Names are case-insensitive and
// may be used in ranges (mon-fri). Day-of-month also takes L, the last day of
// the month; day-of-week also takes D#N, the N-th (1..5) weekday D of the
// month (5#3 is the third Friday). Both may appear in lists (1,15,L).
// Macros: @hourly, @daily = @midnight, @weekly, @monthly, @yearly = @annually.
//
// Days. As in Vixie cron, when day-of-month and day-of-week are both
// restricted a day matches if EITHER matches ("0 0 13 * 5": the 13th and
// every Friday). A field whose text begins with '*' counts as unrestricted,
// and then a day must match BOTH ("0 0 */2 * 5": Fridays that fall on an odd
// day of the month). An expression that can never fire, such as "0 0 30 2 *",
// is a parse error; "0 0 29 2 *" is fine (leap years).
//
// Daylight saving time. Expressions are read in a time zone's wall time.
//   - Periodic schedules, whose hour field contains '*' or '/' ("*/30 * * * *",
//     "0 */2 * * *"), fire at every real instant whose wall time matches. Wall
//     times skipped by a spring-forward gap do not fire; wall times repeated by
//     a fall-back fire on both passes. The schedule keeps its rhythm in real
//     time, as an hourly job should.
//   - Other schedules name fixed wall-clock slots ("30 2 * * *"), resolved as
//     RFC 5545 does (see ResolveWallTime in zone.h): a slot that does not
//     exist runs at the same offset from the gap's start, i.e. read with the
//     offset before the gap (02:30 on 2025-03-09 in America/New_York runs at
//     03:30 EDT = 07:30 UTC); a repeated slot runs once, at its first
//     occurrence (01:30 EDT on 2025-11-02). A daily job runs every day,
//     exactly once. Should two slots resolve to the same instant (02:30 and
//     03:30 on a spring-forward night) it runs once.
//
// A CronSchedule is a small value; copying it is cheap and it is safe to call
// Next() from many threads at once.
#ifndef KILN_HOST_CALENDAR_CRON_H_
#define KILN_HOST_CALENDAR_CRON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "host/base/status.h"
#include "host/calendar/zone.h"  // SysSeconds, FindTimeZone, ParseTime, FormatIso8601

namespace kiln {

class CronSchedule {
 public:
  // How far ahead Next() looks. The rarest expression that Parse accepts
  // recurs within the 400-year Gregorian cycle, so a search this long finds
  // every fire time that exists.
  static constexpr int kSearchYears = 400;

  CronSchedule() = default;  // never fires until assigned from Parse

  // Parses a cron expression. On error returns InvalidArgument with a
  // one-line message that quotes the expression and names the field:
  //   cron '61 * * * *': minute: value 61 out of range 0-59
  //   cron '0 0 30 2 *': never fires: day-of-month 30 never occurs in month 2
  // `*out` is left unchanged on error.
  static Status Parse(std::string_view expr, CronSchedule* out);

  // The first fire time strictly after `after`, reading the expression in
  // `zone` (nullptr: UTC). Returns NotFound only if there is none within
  // kSearchYears, which for a parsed schedule means only at the end of the
  // calendar (or for a periodic schedule whose every slot falls in DST gaps).
  Status Next(SysSeconds after, const date::time_zone* zone, SysSeconds* out) const;

  // True if the hour field contains '*' or '/' (see the DST policy above).
  bool periodic() const { return periodic_; }

  // The expression as given, without surrounding blanks.
  const std::string& text() const { return text_; }

 private:
  friend class CronParser;

  // Whether the day with day-of-month `dom` in a month of `month_days` days,
  // falling on weekday `weekday` (0 = Sunday), matches the day fields.
  bool DayMatches(unsigned dom, unsigned month_days, unsigned weekday) const;

  // The first wall time >= `from` and < `limit` that matches, ignoring time
  // zones entirely. False if there is none.
  bool NextWallTime(date::local_seconds from, date::local_seconds limit, date::local_seconds* out) const;

  std::string text_;
  bool periodic_ = false;
  // One bit per allowed value; bit n is value n.
  uint64_t seconds_ = 0;
  uint64_t minutes_ = 0;
  uint32_t hours_ = 0;
  uint32_t days_ = 0;      // day-of-month 1..31
  uint16_t months_ = 0;    // 1..12
  uint8_t weekdays_ = 0;   // 0..6, Sunday = 0
  bool last_day_ = false;  // L in day-of-month
  uint8_t nth_[7] = {};    // D#N: bit N of nth_[D]
  bool days_star_ = false;      // day-of-month text begins with '*'
  bool weekdays_star_ = false;  // day-of-week text begins with '*'
};

}  // namespace kiln

#endif  // KILN_HOST_CALENDAR_CRON_H_

// Finding a cron schedule's next fire time.
//
// The search runs on wall time first, with no time zone in sight: walk the
// calendar a day at a time (a month at a time through months the schedule
// skips) and, on the first matching day, pick the first allowed hour, minute
// and second with bit arithmetic. The time zone enters only to turn wall
// times into instants, which is where the DST policy of cron.h is applied.
#include <bit>
#include <exception>

#include "host/calendar/cron.h"
#include "host/calendar/quote.h"

namespace kiln {

using calendar_internal::Quote;

namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 400 Gregorian years, exactly.
constexpr hours kSearchSpan{24 * 146097};
static_assert(CronSchedule::kSearchYears == 400);

// The smallest value >= from whose bit is set in `bits`, or -1.
int NextBit(uint64_t bits, int from) {
  if (from >= 64) return -1;
  uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

}  // namespace

bool CronSchedule::DayMatches(unsigned dom, unsigned month_days, unsigned weekday) const {
  bool dom_ok = (days_ >> dom & 1) || (last_day_ && dom == month_days);
  bool dow_ok = (weekdays_ >> weekday & 1) || (nth_[weekday] >> ((dom - 1) / 7 + 1) & 1);
  // Vixie cron: a field starting with '*' does not widen the other one.
  if (days_star_ || weekdays_star_) return dom_ok && dow_ok;
  return dom_ok || dow_ok;
}

bool CronSchedule::NextWallTime(date::local_seconds from, date::local_seconds limit, date::local_seconds* out) const {
  date::local_days day = date::floor<date::days>(from);
  const date::local_days last_day = date::floor<date::days>(limit);
  // The earliest time of day still allowed on `day`; 0:00:00 after the first.
  seconds tod = from - day;
  int h0 = static_cast<int>(tod.count() / 3600);
  int m0 = static_cast<int>(tod.count() / 60 % 60);
  int s0 = static_cast<int>(tod.count() % 60);

  while (day <= last_day) {
    date::year_month_day ymd{day};
    unsigned month = static_cast<unsigned>(ymd.month());
    if (!(months_ >> month & 1)) {
      date::year_month next = date::year_month{ymd.year(), ymd.month()} + date::months{1};
      day = date::local_days{next / 1};
      h0 = m0 = s0 = 0;
      continue;
    }
    unsigned dom = static_cast<unsigned>(ymd.day());
    unsigned month_days = static_cast<unsigned>((ymd.year() / ymd.month() / date::last).day());
    unsigned weekday = date::weekday{day}.c_encoding();
    if (DayMatches(dom, month_days, weekday)) {
      // Only the first allowed hour, and in it the first allowed minute, can
      // be cut short by the starting time, so these loops run at most twice.
      for (int h = NextBit(hours_, h0); h >= 0; h = NextBit(hours_, h + 1)) {
        for (int m = NextBit(minutes_, h == h0 ? m0 : 0); m >= 0; m = NextBit(minutes_, m + 1)) {
          int s = NextBit(seconds_, h == h0 && m == m0 ? s0 : 0);
          if (s < 0) continue;
          date::local_seconds t = day + hours(h) + minutes(m) + seconds(s);
          if (t >= limit) return false;
          *out = t;
          return true;
        }
      }
    }
    day += date::days{1};
    h0 = m0 = s0 = 0;
  }
  return false;
}

Status CronSchedule::Next(SysSeconds after, const date::time_zone* zone, SysSeconds* out) const {
  if (text_.empty()) return Status::NotFound("cron schedule is empty");
  try {
    date::local_seconds wall;
    if (zone == nullptr) {
      date::local_seconds from{after.time_since_epoch() + seconds(1)};
      if (NextWallTime(from, from + kSearchSpan, &wall)) {
        *out = SysSeconds{wall.time_since_epoch()};
        return Status::OK();
      }
    } else if (periodic_) {
      // Walk the zone's periods of constant offset. Inside one, wall time
      // and real time advance together, so the first matching wall time is
      // the first matching instant; gaps and repeats live at the seams.
      const SysSeconds end = after + kSearchSpan;
      SysSeconds t = after + seconds(1);
      while (t < end) {
        date::sys_info info = zone->get_info(t);
        SysSeconds stop = info.end < end ? info.end : end;
        date::local_seconds from{(t + info.offset).time_since_epoch()};
        date::local_seconds limit{(stop + info.offset).time_since_epoch()};
        if (NextWallTime(from, limit, &wall)) {
          *out = SysSeconds{wall.time_since_epoch()} - info.offset;
          return Status::OK();
        }
        if (info.end <= t) break;  // a malformed database; do not spin
        t = info.end;
      }
    } else {
      // Fixed slots: each wall time resolves to one instant (ResolveWallTime),
      // and wall order is real order except near the zone's transitions.
      // Walk wall time from that of `after` to the first slot that resolves
      // past it, minding the two places where the orders disagree: repeated
      // hours (below) and slots in a gap, which resolve forward (further
      // below, and the scan after a hit).
      date::sys_info info = zone->get_info(after);
      date::local_seconds now{(after + info.offset).time_since_epoch()};
      date::local_seconds from = now + seconds(1);
      date::local_info here = zone->get_info(now);
      if (here.result == date::local_info::ambiguous && after >= here.second.begin) {
        // `after` is in the second pass of a repeated hour. Repeated slots
        // ran on the first pass, so skip to the end of the repeat.
        date::local_seconds repeat_end{(here.first.end + here.first.offset).time_since_epoch()};
        if (repeat_end > from) from = repeat_end;
      } else {
        // Shortly after a spring-forward, slots in the gap resolve to instants
        // that are still ahead (02:30 runs at 03:30), though their wall time
        // is behind `after`'s. Start from the gap then.
        date::sys_info before = zone->get_info(info.begin - seconds(1));
        seconds shift = info.offset - before.offset;
        if (shift > seconds(0) && after < info.begin + shift) {
          date::local_seconds gap_start{(info.begin + before.offset).time_since_epoch()};
          if (gap_start < from) from = gap_start;
        }
      }
      const date::local_seconds limit = now + kSearchSpan;
      while (NextWallTime(from, limit, &wall)) {
        SysSeconds t = ResolveWallTime(wall, zone);
        if (t <= after) {
          from = wall + seconds(1);
          continue;
        }
        // If `wall` fell in a gap, t's clock reading is later than `wall`,
        // and a later slot up to that reading may resolve earlier (in Lord
        // Howe's half-hour gap, 02:20 runs at 02:50 but 02:40 at 02:40).
        // Past that reading, slots resolve after t. Usually reading == wall.
        date::local_seconds reading = zone->to_local(t);
        date::local_seconds later = wall;
        while (later < reading && NextWallTime(later + seconds(1), reading + seconds(1), &later)) {
          SysSeconds u = ResolveWallTime(later, zone);
          if (u > after && u < t) t = u;
        }
        *out = t;
        return Status::OK();
      }
    }
  } catch (const std::exception& e) {
    return Status::Internal("cron " + Quote(text_) + ": time zone lookup failed: " + e.what());
  } catch (...) {
    return Status::Internal("cron " + Quote(text_) + ": time zone lookup failed");
  }
  return Status::NotFound("cron " + Quote(text_) + ": does not fire in the " + std::to_string(kSearchYears) +
                          " years after " + FormatIso8601(after, zone));
}

}  // namespace kiln

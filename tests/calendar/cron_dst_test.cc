// The DST policy of cron.h, in America/New_York and Europe/Berlin, plus a
// brute-force cross-check of Next() around the 2025 transitions.
//
// New York 2025: 02:00 EST -> 03:00 EDT on Mar 9; 02:00 EDT -> 01:00 EST on Nov 2.
// Berlin 2025:   02:00 CET -> 03:00 CEST on Mar 30; 03:00 CEST -> 02:00 CET on Oct 26.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host/calendar/cron.h"
#include "tests/calendar/test_util.h"

namespace kiln {
namespace {

using testing::At;
using testing::Fire;
using testing::Fires;
using testing::Zone;
using V = std::vector<std::string>;

const char kNY[] = "America/New_York";
const char kBerlin[] = "Europe/Berlin";

TEST(CronDstTest, NewYorkSpringForwardFixedSlot) {
  // 02:30 does not exist on Mar 9: read with the EST offset, it is 07:30 UTC.
  EXPECT_EQ(Fires("30 2 * * *", kNY, "2025-03-08T00:00:00", 3),
            (V{"2025-03-08T02:30:00-05:00", "2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00"}));
  EXPECT_EQ(At("2025-03-09T03:30:00-04:00"), At("2025-03-09T07:30:00Z"));
  EXPECT_EQ(Fire("0 2 * * *", kNY, "2025-03-08T12:00:00"), "2025-03-09T03:00:00-04:00");
  // 02:30 and 03:30 resolve to the same instant: it fires once.
  EXPECT_EQ(Fires("30 2,3 * * *", kNY, "2025-03-09T00:00:00", 3),
            (V{"2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00", "2025-03-10T03:30:00-04:00"}));
  // Asked from inside the gap's shadow (03:10 EDT), the 02:30 slot is still ahead.
  EXPECT_EQ(Fire("30 2 * * *", kNY, "2025-03-09T03:10:00-04:00"), "2025-03-09T03:30:00-04:00");
  EXPECT_EQ(Fire("30 2 * * *", kNY, "2025-03-09T03:30:00-04:00"), "2025-03-10T02:30:00-04:00");
}

TEST(CronDstTest, NewYorkSpringForwardPeriodic) {
  EXPECT_EQ(Fires("*/30 * * * *", kNY, "2025-03-09T01:00:00", 4),
            (V{"2025-03-09T01:30:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T03:30:00-04:00",
               "2025-03-09T04:00:00-04:00"}));
  EXPECT_EQ(Fires("@hourly", kNY, "2025-03-09T00:30:00", 3),
            (V{"2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"}));
  // Hours 0 and 2 on Mar 9: after 00:30 only 02:15 is left, and it does
  // not exist; a year later Mar 9 is already in EDT.
  EXPECT_EQ(Fire("15 */24,2 9 3 *", kNY, "2025-03-09T00:30:00"), "2026-03-09T00:15:00-04:00");
}

TEST(CronDstTest, NewYorkFallBackFixedSlot) {
  // 01:30 happens twice on Nov 2; the job runs once, on the first (EDT) pass.
  EXPECT_EQ(Fires("30 1 * * *", kNY, "2025-11-01T12:00:00", 3),
            (V{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00", "2025-11-04T01:30:00-05:00"}));
  // Asked during the second pass, the repeated slot is behind us.
  EXPECT_EQ(Fire("30 1 * * *", kNY, "2025-11-02T01:10:00-05:00"), "2025-11-03T01:30:00-05:00");
  EXPECT_EQ(Fire("30 1 * * *", kNY, "2025-11-02T01:10:00-04:00"), "2025-11-02T01:30:00-04:00");
  EXPECT_EQ(Fire("0 1,2 * * *", kNY, "2025-11-02T01:00:00-04:00"), "2025-11-02T02:00:00-05:00");
  EXPECT_EQ(Fire("0 1,2 * * *", kNY, "2025-11-02T01:30:00-05:00"), "2025-11-02T02:00:00-05:00");
}

TEST(CronDstTest, NewYorkFallBackPeriodic) {
  // Both passes of 01:30 fire.
  EXPECT_EQ(Fires("30 * * * *", kNY, "2025-11-02T00:00:00", 4),
            (V{"2025-11-02T00:30:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00",
               "2025-11-02T02:30:00-05:00"}));
  EXPECT_EQ(Fires("*/30 * * * *", kNY, "2025-11-02T01:00:00-04:00", 4),
            (V{"2025-11-02T01:30:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T01:30:00-05:00",
               "2025-11-02T02:00:00-05:00"}));
  // Six fields, hour '*': also periodic.
  EXPECT_EQ(Fires("0 0 * * * *", kNY, "2025-11-02T00:30:00", 3),
            (V{"2025-11-02T01:00:00-04:00", "2025-11-02T01:00:00-05:00", "2025-11-02T02:00:00-05:00"}));
  // Asked during the second pass.
  EXPECT_EQ(Fire("30 * * * *", kNY, "2025-11-02T01:10:00-05:00"), "2025-11-02T01:30:00-05:00");
}

TEST(CronDstTest, BerlinSpringForward) {
  EXPECT_EQ(Fires("30 2 * * *", kBerlin, "2025-03-29T12:00:00", 3),
            (V{"2025-03-30T03:30:00+02:00", "2025-03-31T02:30:00+02:00", "2025-04-01T02:30:00+02:00"}));
  EXPECT_EQ(At("2025-03-30T03:30:00+02:00"), At("2025-03-30T01:30:00Z"));
  EXPECT_EQ(Fires("*/30 * * * *", kBerlin, "2025-03-30T01:00:00", 3),
            (V{"2025-03-30T01:30:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-30T03:30:00+02:00"}));
}

TEST(CronDstTest, BerlinFallBack) {
  EXPECT_EQ(Fires("30 2 * * *", kBerlin, "2025-10-25T12:00:00", 3),
            (V{"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00", "2025-10-28T02:30:00+01:00"}));
  EXPECT_EQ(Fires("30 * * * *", kBerlin, "2025-10-26T01:00:00", 4),
            (V{"2025-10-26T01:30:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-26T02:30:00+01:00",
               "2025-10-26T03:30:00+01:00"}));
  EXPECT_EQ(Fires("*/30 * * * *", kBerlin, "2025-10-26T02:00:00+02:00", 4),
            (V{"2025-10-26T02:30:00+02:00", "2025-10-26T02:00:00+01:00", "2025-10-26T02:30:00+01:00",
               "2025-10-26T03:00:00+01:00"}));
}

TEST(CronDstTest, DailyJobsRunOncePerDayThroughTheYear) {
  const date::time_zone* ny = Zone(kNY);
  for (const char* expr : {"30 2 * * *", "30 1 * * *", "0 0 * * *"}) {
    CronSchedule c;
    ASSERT_TRUE(CronSchedule::Parse(expr, &c).ok());
    SysSeconds t = At("2025-01-01T00:00:00Z");
    int fires = 0;
    while (true) {
      ASSERT_TRUE(c.Next(t, ny, &t).ok());
      if (t >= At("2026-01-01T05:00:00Z")) break;
      ++fires;
    }
    EXPECT_EQ(fires, 365) << expr;
  }
}

// ---- Brute force --------------------------------------------------------

// Every matching wall time (whole minutes) in [from, to), found with the
// zone-free search, which the UTC tests above pin down.
std::vector<date::local_seconds> WallMatches(const CronSchedule& c, date::local_seconds from, date::local_seconds to) {
  std::vector<date::local_seconds> out;
  SysSeconds t{from.time_since_epoch() - std::chrono::seconds(1)};
  while (c.Next(t, nullptr, &t).ok() && t.time_since_epoch() < to.time_since_epoch()) {
    out.push_back(date::local_seconds{t.time_since_epoch()});
  }
  return out;
}

// RFC 5545 reading of a wall time, spelled differently from the library: a
// time in a gap is moved forward by the gap's length.
SysSeconds Rfc5545(date::local_seconds wall, const date::time_zone* zone) {
  date::local_info li = zone->get_info(wall);
  if (li.result == date::local_info::nonexistent) {
    return zone->to_sys(wall + (li.second.offset - li.first.offset));
  }
  return zone->to_sys(wall, date::choose::earliest);
}

void CrossCheck(const char* expr, const char* zone_name, const char* start, const char* stop) {
  const date::time_zone* zone = Zone(zone_name);
  CronSchedule c;
  ASSERT_TRUE(CronSchedule::Parse(expr, &c).ok());
  SysSeconds begin = At(start), end = At(stop);
  using std::chrono::hours;
  date::local_seconds wall_begin{begin.time_since_epoch() - hours(30)};
  date::local_seconds wall_end{end.time_since_epoch() + hours(60)};
  std::vector<date::local_seconds> walls = WallMatches(c, wall_begin, wall_end);

  // Every instant the schedule should fire at, in order.
  std::vector<SysSeconds> fires;
  if (c.periodic()) {
    for (SysSeconds t = begin - hours(30); t < end + hours(40); t += std::chrono::minutes(1)) {
      date::local_seconds wall = zone->to_local(t);
      if (std::binary_search(walls.begin(), walls.end(), wall)) fires.push_back(t);
    }
  } else {
    for (date::local_seconds w : walls) fires.push_back(Rfc5545(w, zone));
    std::sort(fires.begin(), fires.end());
    fires.erase(std::unique(fires.begin(), fires.end()), fires.end());
  }

  for (SysSeconds after = begin; after < end; after += std::chrono::seconds(97)) {
    auto want = std::upper_bound(fires.begin(), fires.end(), after);
    ASSERT_NE(want, fires.end());
    SysSeconds got;
    ASSERT_TRUE(c.Next(after, zone, &got).ok());
    ASSERT_EQ(FormatIso8601(got, zone), FormatIso8601(*want, zone))
        << expr << " in " << zone_name << " after " << FormatIso8601(after, zone);
  }
}

TEST(CronDstTest, BruteForceAroundTransitions) {
  const char* exprs[] = {"*/30 * * * *", "30 * * * *", "17 */2 * * *", "30 2 * * *",  "30 1 * * *",
                         "0 2,3 * * *",  "45 1-3 * * *", "*/20 1,2 * * *", "0 0 * * *", "59 * * * *"};
  for (const char* expr : exprs) {
    CrossCheck(expr, kNY, "2025-03-08T12:00:00Z", "2025-03-10T06:00:00Z");
    CrossCheck(expr, kNY, "2025-11-01T12:00:00Z", "2025-11-03T06:00:00Z");
    CrossCheck(expr, kBerlin, "2025-03-29T12:00:00Z", "2025-03-31T06:00:00Z");
    CrossCheck(expr, kBerlin, "2025-10-25T12:00:00Z", "2025-10-27T06:00:00Z");
    // Half-hour DST: 02:00 -> 02:30 on Oct 5, 02:00 -> 01:30 on Apr 6.
    CrossCheck(expr, "Australia/Lord_Howe", "2025-10-04T00:00:00Z", "2025-10-05T12:00:00Z");
    CrossCheck(expr, "Australia/Lord_Howe", "2025-04-05T00:00:00Z", "2025-04-06T12:00:00Z");
    // Transitions at midnight: 24:00 -> 01:00 on Sep 7, 2025.
    CrossCheck(expr, "America/Santiago", "2025-09-06T00:00:00Z", "2025-09-08T00:00:00Z");
    // Samoa skipped all of 2011-12-30.
    CrossCheck(expr, "Pacific/Apia", "2011-12-29T00:00:00Z", "2011-12-31T00:00:00Z");
  }
}

TEST(CronDstTest, SkippedDay) {
  // In Pacific/Apia 2011-12-29 was followed by 2011-12-31. The fixed noon
  // slot of the missing day resolves to noon of the next, and runs once.
  EXPECT_EQ(Fires("0 12 * * *", "Pacific/Apia", "2011-12-29T00:00:00", 3),
            (V{"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00", "2012-01-01T12:00:00+14:00"}));
  EXPECT_EQ(Fires("0 12 30 12 *", "Pacific/Apia", "2011-12-29T00:00:00", 2),
            (V{"2011-12-31T12:00:00+14:00", "2012-12-30T12:00:00+14:00"}));
  // A periodic schedule simply has no wall times that day.
  EXPECT_EQ(Fires("0 */12 * * *", "Pacific/Apia", "2011-12-29T13:00:00", 2),
            (V{"2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}));
}

}  // namespace
}  // namespace kiln

// CronSchedule::Next in UTC: each syntax form fires when it should.
// 2025-01-01 is a Wednesday.
#include <gtest/gtest.h>

#include <chrono>
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

TEST(CronNextTest, Steps) {
  EXPECT_EQ(Fires("*/15 * * * *", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-01T00:15:00Z", "2025-01-01T00:30:00Z", "2025-01-01T00:45:00Z", "2025-01-01T01:00:00Z"}));
  EXPECT_EQ(Fires("10/20 * * * *", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-01T00:10:00Z", "2025-01-01T00:30:00Z", "2025-01-01T00:50:00Z", "2025-01-01T01:10:00Z"}));
  EXPECT_EQ(Fires("0 8-18/4 * * *", "", "2025-01-01T08:00:00Z", 4),
            (V{"2025-01-01T12:00:00Z", "2025-01-01T16:00:00Z", "2025-01-02T08:00:00Z", "2025-01-02T12:00:00Z"}));
  EXPECT_EQ(Fires("0 22/3 * * *", "", "2025-01-01T00:00:00Z", 2), (V{"2025-01-01T22:00:00Z", "2025-01-02T22:00:00Z"}));
  EXPECT_EQ(Fires("0,30 9,17 * * *", "", "2025-01-01T09:00:00Z", 4),
            (V{"2025-01-01T09:30:00Z", "2025-01-01T17:00:00Z", "2025-01-01T17:30:00Z", "2025-01-02T09:00:00Z"}));
  // Steps as large as an int: only the start of the range (found by
  // tests/fuzz/cron; stepping past the end overflowed).
  EXPECT_EQ(Fires("5/2147483647 23-23/2147483647 * * *", "", "2025-01-01T00:00:00Z", 2),
            (V{"2025-01-01T23:05:00Z", "2025-01-02T23:05:00Z"}));
  EXPECT_EQ(Fires("0 0 31/2147483647 * sat/2147483647", "", "2025-01-01T00:00:00Z", 2),
            (V{"2025-01-04T00:00:00Z", "2025-01-11T00:00:00Z"}));
}

TEST(CronNextTest, IsStrictlyAfter) {
  EXPECT_EQ(Fire("0 0 * * *", "", "2025-01-02T00:00:00Z"), "2025-01-03T00:00:00Z");
  EXPECT_EQ(Fire("0 0 * * *", "", "2025-01-01T23:59:59Z"), "2025-01-02T00:00:00Z");
  EXPECT_EQ(Fire("* * * * *", "", "2025-01-01T10:20:00Z"), "2025-01-01T10:21:00Z");
  EXPECT_EQ(Fire("* * * * *", "", "2025-01-01T10:20:30Z"), "2025-01-01T10:21:00Z");
  EXPECT_EQ(Fire("59 23 31 12 *", "", "2025-12-31T23:59:00Z"), "2026-12-31T23:59:00Z");
}

TEST(CronNextTest, NamesAndSunday) {
  // Friday 10:00 -> Monday 09:00.
  EXPECT_EQ(Fire("0 9 * * mon-fri", "", "2025-01-03T10:00:00Z"), "2025-01-06T09:00:00Z");
  EXPECT_EQ(Fire("0 9 * * MON-FRI", "", "2025-01-03T10:00:00Z"), "2025-01-06T09:00:00Z");
  EXPECT_EQ(Fire("5 4 * * sun", "", "2025-01-01T00:00:00Z"), "2025-01-05T04:05:00Z");
  EXPECT_EQ(Fire("0 0 * * 0", "", "2025-01-01T00:00:00Z"), "2025-01-05T00:00:00Z");
  EXPECT_EQ(Fire("0 0 * * 7", "", "2025-01-01T00:00:00Z"), "2025-01-05T00:00:00Z");
  EXPECT_EQ(Fires("0 0 * * 5-7", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z", "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z"}));
  // n/s in day-of-week runs to Saturday: Mon, Wed, Fri.
  EXPECT_EQ(Fires("0 0 * * 1/2", "", "2025-01-01T00:00:00Z", 3),
            (V{"2025-01-03T00:00:00Z", "2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z"}));
  EXPECT_EQ(Fires("0 12 1 jan,JUL *", "", "2025-01-01T12:00:00Z", 2),
            (V{"2025-07-01T12:00:00Z", "2026-01-01T12:00:00Z"}));
  EXPECT_EQ(Fires("0 0 1 mar-may *", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", "2025-05-01T00:00:00Z", "2026-03-01T00:00:00Z"}));
}

TEST(CronNextTest, VixieDayRule) {
  // Both restricted: the 13th OR any Friday (Jan 2025 Fridays: 3, 10, 17).
  EXPECT_EQ(Fires("0 0 13 * 5", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z", "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z"}));
  // Day-of-month starts with '*': it does not widen, so odd days AND Fridays.
  EXPECT_EQ(Fires("0 0 */2 * 5", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-03T00:00:00Z", "2025-01-17T00:00:00Z", "2025-01-31T00:00:00Z", "2025-02-07T00:00:00Z"}));
  // Day-of-week starts with '*': the 13th only when it falls on Sun, Tue,
  // Thu or Sat. Jan 13 2025 is a Monday; Feb 13 and Mar 13 are Thursdays.
  EXPECT_EQ(Fires("0 0 13 * */2", "", "2025-01-01T00:00:00Z", 3),
            (V{"2025-02-13T00:00:00Z", "2025-03-13T00:00:00Z", "2025-04-13T00:00:00Z"}));
  // Unrestricted day-of-week: only day-of-month counts.
  EXPECT_EQ(Fire("0 0 13 * *", "", "2025-01-01T00:00:00Z"), "2025-01-13T00:00:00Z");
  // OR rule with February 30: Fridays in February only.
  EXPECT_EQ(Fires("0 0 30 2 5", "", "2025-01-01T00:00:00Z", 2),
            (V{"2025-02-07T00:00:00Z", "2025-02-14T00:00:00Z"}));
}

TEST(CronNextTest, LeapDay) {
  EXPECT_EQ(Fire("0 0 29 2 *", "", "2025-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  // 2100 is not a leap year: eight years between leap days.
  EXPECT_EQ(Fire("0 0 29 2 *", "", "2096-03-01T00:00:00Z"), "2104-02-29T00:00:00Z");
  // Feb 29 on a Sunday (day-of-week starts with '*', so AND): 2032, then 2060.
  EXPECT_EQ(Fires("0 0 29 2 */7", "", "2025-01-01T00:00:00Z", 2),
            (V{"2032-02-29T00:00:00Z", "2060-02-29T00:00:00Z"}));
}

TEST(CronNextTest, LastDayOfMonth) {
  EXPECT_EQ(Fires("0 0 L * *", "", "2025-01-01T00:00:00Z", 4),
            (V{"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z"}));
  EXPECT_EQ(Fire("0 0 L * *", "", "2024-02-01T00:00:00Z"), "2024-02-29T00:00:00Z");
  EXPECT_EQ(Fires("0 0 1,15,L * *", "", "2025-02-01T00:00:00Z", 3),
            (V{"2025-02-15T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-01T00:00:00Z"}));
  EXPECT_EQ(Fires("0 0 l 2 *", "", "2025-01-01T00:00:00Z", 2),
            (V{"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z"}));
}

TEST(CronNextTest, NthWeekday) {
  // Third Friday: Jan 17, Feb 21, Mar 21 (2025).
  EXPECT_EQ(Fires("0 0 * * 5#3", "", "2025-01-01T00:00:00Z", 3),
            (V{"2025-01-17T00:00:00Z", "2025-02-21T00:00:00Z", "2025-03-21T00:00:00Z"}));
  EXPECT_EQ(Fire("0 0 * * fri#3", "", "2025-01-01T00:00:00Z"), "2025-01-17T00:00:00Z");
  EXPECT_EQ(Fire("0 0 * * 7#1", "", "2025-01-01T00:00:00Z"), "2025-01-05T00:00:00Z");
  // First Monday or fifth Friday; no fifth Friday in Feb or Mar 2025.
  EXPECT_EQ(Fires("0 0 * * 1#1,5#5", "", "2025-01-01T00:00:00Z", 5),
            (V{"2025-01-06T00:00:00Z", "2025-01-31T00:00:00Z", "2025-02-03T00:00:00Z", "2025-03-03T00:00:00Z",
               "2025-04-07T00:00:00Z"}));
  // With day-of-month (both restricted, OR): the 1st or the second Monday.
  EXPECT_EQ(Fires("0 0 1 * 1#2", "", "2025-01-01T00:00:00Z", 3),
            (V{"2025-01-13T00:00:00Z", "2025-02-01T00:00:00Z", "2025-02-10T00:00:00Z"}));
  // A fifth Sunday in February needs a leap year starting on a Sunday.
  EXPECT_EQ(Fire("0 0 * 2 0#5", "", "2025-01-01T00:00:00Z"), "2032-02-29T00:00:00Z");
}

TEST(CronNextTest, SixFieldsHaveSecondsFirst) {
  EXPECT_EQ(Fires("*/20 * * * * *", "", "2025-01-01T00:00:00Z", 3),
            (V{"2025-01-01T00:00:20Z", "2025-01-01T00:00:40Z", "2025-01-01T00:01:00Z"}));
  EXPECT_EQ(Fire("30 0 12 * * *", "", "2025-01-01T00:00:00Z"), "2025-01-01T12:00:30Z");
  EXPECT_EQ(Fire("0 0 0 1 1 *", "", "2025-01-01T00:00:00Z"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Fires("15,45 * * * * *", "", "2025-01-01T00:00:15Z", 3),
            (V{"2025-01-01T00:00:45Z", "2025-01-01T00:01:15Z", "2025-01-01T00:01:45Z"}));
  EXPECT_EQ(Fire("* * * * * *", "", "2025-12-31T23:59:59Z"), "2026-01-01T00:00:00Z");
}

TEST(CronNextTest, Macros) {
  const char* after = "2025-01-01T00:00:00Z";
  EXPECT_EQ(Fire("@hourly", "", after), "2025-01-01T01:00:00Z");
  EXPECT_EQ(Fire("@daily", "", after), "2025-01-02T00:00:00Z");
  EXPECT_EQ(Fire("@midnight", "", after), "2025-01-02T00:00:00Z");
  EXPECT_EQ(Fire("@weekly", "", after), "2025-01-05T00:00:00Z");
  EXPECT_EQ(Fire("@monthly", "", after), "2025-02-01T00:00:00Z");
  EXPECT_EQ(Fire("@yearly", "", after), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Fire("@annually", "", after), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Fire("@Weekly", "", after), "2025-01-05T00:00:00Z");
}

TEST(CronNextTest, ZoneWithoutDst) {
  EXPECT_EQ(Fire("0 0 * * *", "UTC", "2025-01-01T00:00:00Z"), "2025-01-02T00:00:00+00:00");
  EXPECT_EQ(Fire("0 0 * * *", "Asia/Kolkata", "2025-01-01T00:00:00Z"), "2025-01-02T00:00:00+05:30");
  EXPECT_EQ(Fire("*/45 * * * *", "Asia/Kolkata", "2025-01-01T00:00:00Z"), "2025-01-01T05:45:00+05:30");
}

TEST(CronNextTest, DefaultScheduleNeverFires) {
  CronSchedule c;
  SysSeconds t;
  Status s = c.Next(At("2025-01-01T00:00:00Z"), nullptr, &t);
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.message(), "cron schedule is empty");
}

// 10,000 schedules, each asked for its next 3 fire times: fast, in order.
TEST(CronNextTest, ManySchedules) {
  const char* exprs[] = {"*/5 * * * *",   "0 9 * * mon-fri", "30 2 * * *",  "0 0 L * *",      "0 0 * * 5#3",
                         "0 0 29 2 *",    "*/10 * * * * *",  "@hourly",     "0 0 13 * 5",      "15 3 1 1 *"};
  const date::time_zone* ny = Zone("America/New_York");
  std::vector<CronSchedule> schedules(10000);
  for (size_t i = 0; i < schedules.size(); ++i) {
    ASSERT_TRUE(CronSchedule::Parse(exprs[i % 10], &schedules[i]).ok());
  }
  auto start = std::chrono::steady_clock::now();
  SysSeconds after = At("2025-03-08T12:00:00Z");
  for (const CronSchedule& c : schedules) {
    SysSeconds t = after;
    for (int k = 0; k < 3; ++k) {
      SysSeconds next;
      ASSERT_TRUE(c.Next(t, ny, &next).ok()) << c.text();
      ASSERT_GT(next, t) << c.text();
      t = next;
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

}  // namespace
}  // namespace kiln

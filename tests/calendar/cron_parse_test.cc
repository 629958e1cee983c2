// CronSchedule::Parse: what is accepted, and the exact words of each refusal.
#include <gtest/gtest.h>

#include "host/calendar/cron.h"
#include "tests/calendar/test_util.h"

namespace kiln {
namespace {

using testing::ParseError;

TEST(CronParseTest, AcceptsEverySyntaxForm) {
  const char* good[] = {
      "* * * * *",       "0 0 * * *",         "*/15 * * * *",      "0 8-18/2 * * *",     "10/20 * * * *",
      "0,30 9,17 * * *", "0 9 * * mon-fri",   "0 9 * * MON-Fri",   "0 0 1 jan,jul *",    "0 0 1 Mar-May *",
      "0 0 * * 7",       "0 0 * * 0-7",       "0 0 * * 5-7",       "0 0 L * *",          "0 0 1,15,L * *",
      "0 0 * * 5#3",     "0 0 * * 1#1,fri#5", "0 0 1 * 1#2",       "*/20 * * * * *",     "30 0 12 * * *",
      "@hourly",         "@daily",            "@midnight",         "@weekly",            "@monthly",
      "@yearly",         "@annually",         "@DAILY",            "0 0 29 2 *",         "0 0 l 2 *",
      "  0 0 * * *  ",   "0\t0 * *\t*",       "0 0 31 1-12 *",     "0 0 30,31 2,3 *",    "0 0 */2 * 5",
  };
  for (const char* expr : good) EXPECT_EQ(ParseError(expr), "OK") << expr;
}

TEST(CronParseTest, KeepsTextAndTellsPeriodic) {
  CronSchedule c;
  ASSERT_TRUE(CronSchedule::Parse("  */5 * * * *\t", &c).ok());
  EXPECT_EQ(c.text(), "*/5 * * * *");
  EXPECT_TRUE(c.periodic());

  struct Case {
    const char* expr;
    bool periodic;
  } cases[] = {
      {"0 * * * *", true},   {"0 */2 * * *", true}, {"0 3/6 * * *", true},  {"30 2 * * *", false},
      {"0 1-5 * * *", false}, {"0 1,13 * * *", false}, {"0 0 * * * *", true}, {"0 0 2 * * *", false},
      {"@hourly", true},      {"@daily", false},      {"@weekly", false},     {"@yearly", false},
  };
  for (const Case& k : cases) {
    ASSERT_TRUE(CronSchedule::Parse(k.expr, &c).ok()) << k.expr;
    EXPECT_EQ(c.periodic(), k.periodic) << k.expr;
    EXPECT_EQ(c.text(), k.expr);
  }
}

TEST(CronParseTest, LeavesOutputAloneOnError) {
  CronSchedule c;
  ASSERT_TRUE(CronSchedule::Parse("5 4 * * *", &c).ok());
  Status s = CronSchedule::Parse("61 * * * *", &c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.text(), "5 4 * * *");
}

TEST(CronParseTest, ErrorCorpus) {
  struct Case {
    const char* expr;
    const char* message;
  } cases[] = {
      // Field count and macros.
      {"", "cron '': expected 5 or 6 fields, got 0"},
      {"0 0 *", "cron '0 0 *': expected 5 or 6 fields, got 3"},
      {"0 0 * * * * *", "cron '0 0 * * * * *': expected 5 or 6 fields, got 7"},
      {"@often",
       "cron '@often': unknown macro; expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"},
      {"@reboot",
       "cron '@reboot': unknown macro; expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually"},
      {"@daily 0", "cron '@daily 0': unknown macro; expected @hourly, @daily, @midnight, @weekly, @monthly, @yearly "
                   "or @annually"},
      // Out of range, in each field.
      {"61 * * * *", "cron '61 * * * *': minute: value 61 out of range 0-59"},
      {"60 * * * * *", "cron '60 * * * * *': second: value 60 out of range 0-59"},
      {"0 60 * * * *", "cron '0 60 * * * *': minute: value 60 out of range 0-59"},
      {"0 24 * * *", "cron '0 24 * * *': hour: value 24 out of range 0-23"},
      {"0 0 0 * *", "cron '0 0 0 * *': day-of-month: value 0 out of range 1-31"},
      {"0 0 32 * *", "cron '0 0 32 * *': day-of-month: value 32 out of range 1-31"},
      {"0 0 * 0 *", "cron '0 0 * 0 *': month: value 0 out of range 1-12"},
      {"0 0 * 13 *", "cron '0 0 * 13 *': month: value 13 out of range 1-12"},
      {"0 0 * * 8", "cron '0 0 * * 8': day-of-week: value 8 out of range 0-7"},
      {"0 0-24 * * *", "cron '0 0-24 * * *': hour: value 24 out of range 0-23"},
      {"99999999999 * * * *", "cron '99999999999 * * * *': minute: value 99999999999 out of range 0-59"},
      // Reversed ranges, steps, empty items.
      {"0 5-1 * * *", "cron '0 5-1 * * *': hour: range 5-1 is reversed"},
      {"0 0 * * fri-mon", "cron '0 0 * * fri-mon': day-of-week: range fri-mon is reversed"},
      {"0 0 1 dec-jan *", "cron '0 0 1 dec-jan *': month: range dec-jan is reversed"},
      {"*/0 * * * *", "cron '*/0 * * * *': minute: step must be at least 1 in '*/0'"},
      {"0 1-5/0 * * *", "cron '0 1-5/0 * * *': hour: step must be at least 1 in '1-5/0'"},
      {"*/x * * * *", "cron '*/x * * * *': minute: bad step in '*/x'"},
      {"*/ * * * *", "cron '*/ * * * *': minute: bad step in '*/'"},
      {"1,,2 * * * *", "cron '1,,2 * * * *': minute: empty item in '1,,2'"},
      {"1, * * * *", "cron '1, * * * *': minute: empty item in '1,'"},
      {",1 * * * *", "cron ',1 * * * *': minute: empty item in ',1'"},
      // Garbage and names in the wrong place.
      {"x * * * *", "cron 'x * * * *': minute: bad value 'x'"},
      {"-5 * * * *", "cron '-5 * * * *': minute: bad value '-5'"},
      {"1- * * * *", "cron '1- * * * *': minute: bad value '1-'"},
      {"** * * * *", "cron '** * * * *': minute: bad value '**'"},
      {"0 0 * * jan", "cron '0 0 * * jan': day-of-week: bad value 'jan'"},
      {"0 0 * mon *", "cron '0 0 * mon *': month: bad value 'mon'"},
      {"0 0 * * monday", "cron '0 0 * * monday': day-of-week: bad value 'monday'"},
      {"L * * * *", "cron 'L * * * *': minute: bad value 'L'"},
      {"0 0 L/2 * *", "cron '0 0 L/2 * *': day-of-month: bad value 'L'"},
      {"0 0 * * L", "cron '0 0 * * L': day-of-week: bad value 'L'"},
      {"0 0 5#2 * *", "cron '0 0 5#2 * *': day-of-month: bad value '5#2'"},
      {"0 0 * * 5#6", "cron '0 0 * * 5#6': day-of-week: occurrence 6 in '5#6' out of range 1-5"},
      {"0 0 * * 5#0", "cron '0 0 * * 5#0': day-of-week: occurrence 0 in '5#0' out of range 1-5"},
      {"0 0 * * 5#x", "cron '0 0 * * 5#x': day-of-week: bad occurrence in '5#x'"},
      {"0 0 * * 8#1", "cron '0 0 * * 8#1': day-of-week: value 8 out of range 0-7"},
      {"0 0 * * #1", "cron '0 0 * * #1': day-of-week: bad value '#1'"},
      {"0\x01 0 * * *", "cron '0? 0 * * *': minute: bad value '0?'"},
      // The first bad field is the one reported.
      {"99 99 * * *", "cron '99 99 * * *': minute: value 99 out of range 0-59"},
      // Never fires.
      {"0 0 30 2 *", "cron '0 0 30 2 *': never fires: day-of-month 30 never occurs in month 2"},
      {"0 0 30 feb *", "cron '0 0 30 feb *': never fires: day-of-month 30 never occurs in month feb"},
      {"0 0 30,31 2 *", "cron '0 0 30,31 2 *': never fires: day-of-month 30,31 never occurs in month 2"},
      {"0 0 31 4,6,9,11 *", "cron '0 0 31 4,6,9,11 *': never fires: day-of-month 31 never occurs in months 4,6,9,11"},
      {"0 0 31 2 */1", "cron '0 0 31 2 */1': never fires: day-of-month 31 never occurs in month 2"},
      {"0 0 31 2 *", "cron '0 0 31 2 *': never fires: day-of-month 31 never occurs in month 2"},
      {"0 0 31 2 * *", "cron '0 0 31 2 * *': hour: value 31 out of range 0-23"},
      {"0 0 */30 * 5#2",
       "cron '0 0 */30 * 5#2': never fires: day-of-month */30 and day-of-week 5#2 never fall on the same day in any "
       "month"},
      {"0 0 30 2 */2",
       "cron '0 0 30 2 */2': never fires: day-of-month 30 and day-of-week */2 never fall on the same day in month 2"},
  };
  for (const Case& k : cases) EXPECT_EQ(ParseError(k.expr), k.message) << k.expr;
}

TEST(CronParseTest, VixieOrRuleMakesRestrictedDaysPossible) {
  // Both day fields restricted: either may match, so Feb 30 on any Friday
  // still fires on Fridays in February.
  EXPECT_EQ(ParseError("0 0 30 2 5"), "OK");
  EXPECT_EQ(ParseError("0 0 31 4 1#1"), "OK");
  // L always exists; a 5th weekday exists in some February (leap years).
  EXPECT_EQ(ParseError("0 0 L 2 *"), "OK");
  EXPECT_EQ(ParseError("0 0 * 2 0#5"), "OK");
  EXPECT_EQ(ParseError("0 0 29 2 */7"), "OK");
}

}  // namespace
}  // namespace kiln

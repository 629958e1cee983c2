// FindTimeZone, FormatIso8601, ParseTime, ResolveWallTime.
#include <gtest/gtest.h>

#include <chrono>

#include "host/calendar/zone.h"
#include "tests/calendar/test_util.h"

namespace kiln {
namespace {

using testing::Zone;

SysSeconds Epoch(long long s) { return SysSeconds{std::chrono::seconds(s)}; }

TEST(ZoneTest, FindsZonesFromTheSystemDatabase) {
  const date::time_zone* z = nullptr;
  ASSERT_TRUE(FindTimeZone("America/New_York", &z).ok());
  EXPECT_EQ(z->name(), "America/New_York");
  ASSERT_TRUE(FindTimeZone("Europe/Berlin", &z).ok());
  EXPECT_EQ(z->name(), "Europe/Berlin");
  ASSERT_TRUE(FindTimeZone("UTC", &z).ok());
  // The database in use is the system one.
  EXPECT_EQ(date::get_tzdb().version, date::get_tzdb_list().front().version);
}

TEST(ZoneTest, UnknownZones) {
  const date::time_zone* z = nullptr;
  Status s = FindTimeZone("Mars/Base", &z);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown time zone 'Mars/Base'");
  EXPECT_EQ(z, nullptr);
  EXPECT_EQ(FindTimeZone("", &z).message(), "unknown time zone ''");
  EXPECT_EQ(FindTimeZone("../../etc/passwd", &z).message(), "unknown time zone '../../etc/passwd'");
  EXPECT_EQ(FindTimeZone("america/new_york", &z).message(), "unknown time zone 'america/new_york'");
  EXPECT_EQ(FindTimeZone("Bad\nZone", &z).message(), "unknown time zone 'Bad?Zone'");
}

TEST(ZoneTest, FormatIso8601) {
  SysSeconds t = Epoch(1331451000);  // 2012-03-11 07:30:00 UTC
  EXPECT_EQ(FormatIso8601(t, Zone("America/New_York")), "2012-03-11T03:30:00-04:00");
  EXPECT_EQ(FormatIso8601(t - std::chrono::hours(1), Zone("America/New_York")), "2012-03-11T01:30:00-05:00");
  EXPECT_EQ(FormatIso8601(t, nullptr), "2012-03-11T07:30:00Z");
  EXPECT_EQ(FormatIso8601(t, Zone("UTC")), "2012-03-11T07:30:00+00:00");
  EXPECT_EQ(FormatIso8601(t, Zone("Asia/Kolkata")), "2012-03-11T13:00:00+05:30");
  EXPECT_EQ(FormatIso8601(t, Zone("Europe/Berlin")), "2012-03-11T08:30:00+01:00");
  EXPECT_EQ(FormatIso8601(Epoch(0), nullptr), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(Epoch(-1), nullptr), "1969-12-31T23:59:59Z");
  // Local mean time before 1883 has a seconds part.
  EXPECT_EQ(FormatIso8601(Epoch(-3000000000LL), Zone("America/New_York")), "1874-12-07T13:43:58-04:56:02");
}

TEST(ZoneTest, ParseTimeWithOffset) {
  const date::time_zone* ny = Zone("America/New_York");
  const date::time_zone* berlin = Zone("Europe/Berlin");
  SysSeconds t;
  struct Case {
    const char* text;
    long long epoch;
  } cases[] = {
      {"2012-03-11T01:00:00-05:00", 1331445600}, {"2012-03-11T06:00:00Z", 1331445600},
      {"2012-03-11T06:00:00z", 1331445600},      {"2012-03-11t01:00:00-0500", 1331445600},
      {"2012-03-11T01:00:00-05", 1331445600},    {"2012-03-11T11:30+05:30", 1331445600},
      {"2012-03-11 06:00Z", 1331445600},         {"  2012-03-11T06:00:00Z  ", 1331445600},
  };
  for (const Case& k : cases) {
    // An explicit offset makes the zone irrelevant.
    for (const date::time_zone* z : {ny, berlin, static_cast<const date::time_zone*>(nullptr)}) {
      ASSERT_TRUE(ParseTime(k.text, z, &t).ok()) << k.text;
      EXPECT_EQ(t, Epoch(k.epoch)) << k.text;
    }
  }
}

TEST(ZoneTest, ParseTimeWallClock) {
  const date::time_zone* ny = Zone("America/New_York");
  SysSeconds t;
  ASSERT_TRUE(ParseTime("2012-03-11T01:00:00", ny, &t).ok());
  EXPECT_EQ(t, Epoch(1331445600));
  ASSERT_TRUE(ParseTime("2012-03-11 01:00", ny, &t).ok());
  EXPECT_EQ(t, Epoch(1331445600));
  ASSERT_TRUE(ParseTime("2012-03-11", ny, &t).ok());
  EXPECT_EQ(t, Epoch(1331445600 - 3600));  // midnight EST
  ASSERT_TRUE(ParseTime("2012-03-11", nullptr, &t).ok());
  EXPECT_EQ(t, Epoch(1331424000));  // midnight UTC
  ASSERT_TRUE(ParseTime("2012-03-11T06:00:00", Zone("UTC"), &t).ok());
  EXPECT_EQ(t, Epoch(1331445600));
  // In the spring-forward gap: read with EST, i.e. 03:30 EDT.
  ASSERT_TRUE(ParseTime("2012-03-11T02:30:00", ny, &t).ok());
  EXPECT_EQ(t, Epoch(1331451000));
  EXPECT_EQ(FormatIso8601(t, ny), "2012-03-11T03:30:00-04:00");
  // In the repeated hour: the first (EDT) pass.
  ASSERT_TRUE(ParseTime("2012-11-04T01:30:00", ny, &t).ok());
  EXPECT_EQ(t, Epoch(1352007000));
  EXPECT_EQ(FormatIso8601(t, ny), "2012-11-04T01:30:00-04:00");
  // Leap day.
  ASSERT_TRUE(ParseTime("2024-02-29T12:00:00Z", nullptr, &t).ok());
  EXPECT_EQ(FormatIso8601(t, nullptr), "2024-02-29T12:00:00Z");
}

TEST(ZoneTest, ResolveWallTime) {
  const date::time_zone* berlin = Zone("Europe/Berlin");
  auto wall = [](int y, unsigned m, unsigned d, int h, int min) {
    return date::local_days{date::year{y} / m / d} + std::chrono::hours(h) + std::chrono::minutes(min);
  };
  EXPECT_EQ(FormatIso8601(ResolveWallTime(wall(2025, 3, 30, 2, 30), berlin), berlin), "2025-03-30T03:30:00+02:00");
  EXPECT_EQ(FormatIso8601(ResolveWallTime(wall(2025, 10, 26, 2, 30), berlin), berlin), "2025-10-26T02:30:00+02:00");
  EXPECT_EQ(FormatIso8601(ResolveWallTime(wall(2025, 7, 1, 12, 0), berlin), berlin), "2025-07-01T12:00:00+02:00");
  EXPECT_EQ(FormatIso8601(ResolveWallTime(wall(2025, 7, 1, 12, 0), nullptr), nullptr), "2025-07-01T12:00:00Z");
}

TEST(ZoneTest, ParseTimeErrors) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"", "bad time '': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"yesterday", "bad time 'yesterday': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-3-11", "bad time '2012-3-11': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11T01", "bad time '2012-03-11T01': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11T01:00:", "bad time '2012-03-11T01:00:': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11T01:00:00.5Z", "bad time '2012-03-11T01:00:00.5Z': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11Z", "bad time '2012-03-11Z': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11T01:00:00+5", "bad time '2012-03-11T01:00:00+5': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-03-11T01:00:00Zjunk", "bad time '2012-03-11T01:00:00Zjunk': expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"},
      {"2012-13-01", "bad time '2012-13-01': no such date"},
      {"2012-00-10", "bad time '2012-00-10': no such date"},
      {"2025-02-29", "bad time '2025-02-29': no such date"},
      {"2025-02-30T00:00:00Z", "bad time '2025-02-30T00:00:00Z': no such date"},
      {"2025-04-31", "bad time '2025-04-31': no such date"},
      {"2012-03-11T24:00", "bad time '2012-03-11T24:00': no such time of day"},
      {"2012-03-11T23:60", "bad time '2012-03-11T23:60': no such time of day"},
      {"2012-03-11T23:59:60", "bad time '2012-03-11T23:59:60': no such time of day"},
      {"2012-03-11T01:00:00+24:00", "bad time '2012-03-11T01:00:00+24:00': offset out of range"},
      {"2012-03-11T01:00:00-05:60", "bad time '2012-03-11T01:00:00-05:60': offset out of range"},
  };
  SysSeconds t = Epoch(42);
  for (const Case& k : cases) {
    Status s = ParseTime(k.text, Zone("America/New_York"), &t);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << k.text;
    EXPECT_EQ(s.message(), k.message);
  }
  EXPECT_EQ(t, Epoch(42));
}

}  // namespace
}  // namespace kiln

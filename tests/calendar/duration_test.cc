// ParseDuration.
#include <gtest/gtest.h>

#include <chrono>

#include "host/calendar/duration.h"

namespace kiln {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, Accepts) {
  struct Case {
    const char* text;
    long long ms;
  } cases[] = {
      {"90s", 90000},      {"15m", 900000},     {"2h", 7200000},         {"1d", 86400000},
      {"1h30m", 5400000},  {"500ms", 500},      {"1m30s", 90000},        {"1d2h3m4s5ms", 93784005},
      {"1ms", 1},          {"0h5m", 300000},    {" 10s ", 10000},        {"007s", 7000},
      {"30m1h", 5400000},  {"100000d", 8640000000000},
  };
  for (const Case& k : cases) {
    milliseconds d{-1};
    Status s = ParseDuration(k.text, &d);
    ASSERT_TRUE(s.ok()) << k.text << ": " << s.ToString();
    EXPECT_EQ(d.count(), k.ms) << k.text;
  }
}

TEST(DurationTest, Rejects) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"15x", "bad duration '15x': expected a number followed by ms, s, m, h or d"},
      {"", "bad duration '': expected a number followed by ms, s, m, h or d"},
      {"15", "bad duration '15': expected a number followed by ms, s, m, h or d"},
      {"m", "bad duration 'm': expected a number followed by ms, s, m, h or d"},
      {"1.5h", "bad duration '1.5h': expected a number followed by ms, s, m, h or d"},
      {"1h 30m", "bad duration '1h 30m': expected a number followed by ms, s, m, h or d"},
      {"1H", "bad duration '1H': expected a number followed by ms, s, m, h or d"},
      {"+5m", "bad duration '+5m': expected a number followed by ms, s, m, h or d"},
      {"5mm", "bad duration '5mm': expected a number followed by ms, s, m, h or d"},
      {"0s", "bad duration '0s': must be greater than zero"},
      {"0ms0s", "bad duration '0ms0s': must be greater than zero"},
      {"-5m", "bad duration '-5m': must be greater than zero"},
      {"-x", "bad duration '-x': expected a number followed by ms, s, m, h or d"},
      {"99999999999999999999s", "bad duration '99999999999999999999s': too large"},
      {"200000000000d", "bad duration '200000000000d': too large"},
  };
  for (const Case& k : cases) {
    milliseconds d{42};
    Status s = ParseDuration(k.text, &d);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << k.text;
    EXPECT_EQ(s.message(), k.message);
    EXPECT_EQ(d.count(), 42);
  }
}

}  // namespace
}  // namespace kiln

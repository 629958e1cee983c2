// Fuzz target: the cron parser (CronSchedule::Parse) and, for every
// expression it accepts, the fire-time search (Next) in UTC and in zones
// with DST rules and a half-hour gap.
//
// Checks: a refusal is one line quoting the expression; an accepted
// expression parses again from its text(); Next returns fire times strictly
// after the start and increasing, and (cron.h) finds one for any parsed
// schedule in UTC, where re-asking from just before a fire time finds it
// again. The work per input is bounded: a few Next calls from a few starts.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "host/calendar/cron.h"
#include "host/calendar/zone.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using kiln::CronSchedule;
using kiln::Status;
using kiln::SysSeconds;
using std::chrono::seconds;

const date::time_zone* Zone(const char* name) {
  const date::time_zone* z = nullptr;
  Status s = kiln::FindTimeZone(name, &z);
  FUZZ_CHECK(s.ok(), s.message());
  return z;
}

SysSeconds At(int64_t unix_seconds) { return SysSeconds{seconds(unix_seconds)}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 512) return 0;  // a cron expression is a line; longer only slows the search
  static const date::time_zone* const kZones[] = {nullptr, Zone("America/New_York"), Zone("Australia/Lord_Howe"),
                                                  Zone("Europe/London")};
  static const SysSeconds kStarts[] = {
      At(0),           // 1970-01-01T00:00:00Z
      At(1741503599),  // 2025-03-09T06:59:59Z: just before the US spring-forward
      At(1762061400),  // 2025-11-02T05:30:00Z: inside the US repeated hour
      At(1743868800),  // 2025-04-05T16:00:00Z: Lord Howe's half-hour fall-back night
      At(4102444799),  // 2099-12-31T23:59:59Z
  };

  const std::string_view expr(reinterpret_cast<const char*>(data), size);
  CronSchedule cron;
  Status s = CronSchedule::Parse(expr, &cron);
  if (!s.ok()) {
    FUZZ_CHECK(s.message().rfind("cron '", 0) == 0, s.message());
    FUZZ_CHECK(kiln_fuzz::OneLine(s.message()), s.message());
    return 0;
  }
  CronSchedule again;
  Status s2 = CronSchedule::Parse(cron.text(), &again);
  FUZZ_CHECK(s2.ok(), s2.message());
  FUZZ_CHECK(again.periodic() == cron.periodic() && again.text() == cron.text(), cron.text());

  // One start per input (chosen by the input, so the corpus covers them all),
  // three fire times in each zone.
  const SysSeconds start = kStarts[size % std::size(kStarts)];
  for (const date::time_zone* zone : kZones) {
    SysSeconds t = start;
    for (int i = 0; i < 3; ++i) {
      SysSeconds next;
      Status n = cron.Next(t, zone, &next);
      if (!n.ok()) {
        // Only a periodic schedule whose every slot falls in DST gaps fires
        // nowhere, and UTC has no gaps.
        FUZZ_CHECK(zone != nullptr && cron.periodic(), cron.text() + ": " + n.message());
        FUZZ_CHECK(kiln_fuzz::OneLine(n.message()), n.message());
        break;
      }
      FUZZ_CHECK(next > t, cron.text());
      if (zone == nullptr) {
        SysSeconds same;
        FUZZ_CHECK(cron.Next(next - seconds(1), nullptr, &same).ok() && same == next, cron.text());
      }
      t = next;
    }
  }
  return 0;
}

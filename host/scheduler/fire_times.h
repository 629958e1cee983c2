// The fire times of one processor: its cron schedule or fixed interval, in
// its time zone, and the partition date each fire time runs for.
#ifndef KILN_HOST_SCHEDULER_FIRE_TIMES_H_
#define KILN_HOST_SCHEDULER_FIRE_TIMES_H_

#include <optional>

#include "host/base/date.h"
#include "host/config/config.h"
#include "host/scheduler/clock.h"

namespace kiln {

class FireTimes {
 public:
  explicit FireTimes(const ProcessorConfig& p);

  // False for a processor that only runs when asked.
  bool scheduled() const { return schedule_.has_value() || every_.has_value(); }

  // The first fire time strictly after `after`, if any. `every` intervals are
  // aligned to the Unix epoch, so "15m" fires at :00, :15, :30 and :45 and a
  // restart does not shift the grid.
  std::optional<SysMillis> Next(SysMillis after) const;

  // The date a run fired at `slot` processes: the slot's calendar date in
  // the processor's time zone (a 06:00 New York run on 2025-01-20 processes
  // 2025-01-20, whatever the date in UTC).
  Day PartitionFor(SysMillis slot) const;

 private:
  std::optional<CronSchedule> schedule_;
  std::optional<std::chrono::milliseconds> every_;
  const date::time_zone* zone_;
};

}  // namespace kiln

#endif  // KILN_HOST_SCHEDULER_FIRE_TIMES_H_

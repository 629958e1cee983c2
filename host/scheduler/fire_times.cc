#include "host/scheduler/fire_times.h"

namespace kiln {

FireTimes::FireTimes(const ProcessorConfig& p) : schedule_(p.schedule), every_(p.every), zone_(p.zone) {}

std::optional<SysMillis> FireTimes::Next(SysMillis after) const {
  if (every_) {
    const int64_t step = every_->count();
    const int64_t t = ToUnixMillis(after);
    // Floor division, so times before the epoch (tests) stay on the grid.
    int64_t k = t >= 0 ? t / step : -((-t + step - 1) / step);
    return FromUnixMillis((k + 1) * step);
  }
  if (schedule_) {
    // Cron works in whole seconds: the next fire strictly after `after` is
    // the next one strictly after the second `after` falls in.
    const auto sec = std::chrono::floor<std::chrono::seconds>(after);
    SysSeconds next;
    if (!schedule_->Next(sec, zone_, &next).ok()) return std::nullopt;
    return std::chrono::time_point_cast<std::chrono::milliseconds>(next);
  }
  return std::nullopt;
}

Day FireTimes::PartitionFor(SysMillis slot) const {
  const auto local = zone_ ? zone_->to_local(slot) : date::local_time<std::chrono::milliseconds>(slot.time_since_epoch());
  return Day(std::chrono::floor<date::days>(local).time_since_epoch());
}

}  // namespace kiln

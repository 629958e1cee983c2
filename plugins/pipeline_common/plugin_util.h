// Option checks and partition handling shared by the pipeline's plugins.
// Range and emptiness checks belong in configure: the host has already
// checked names and types against the option schema.
#ifndef KILN_PLUGINS_PIPELINE_COMMON_PLUGIN_UTIL_H_
#define KILN_PLUGINS_PIPELINE_COMMON_PLUGIN_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "kiln/processor.hpp"
#include "plugins/pipeline_common/civil_date.h"

namespace kiln::pipeline {

inline std::string NonEmpty(const kiln::Options& o, std::string_view name) {
  std::string v(o.string(name));
  if (v.empty()) throw kiln::Error("option '" + std::string(name) + "' must name a database file, found \"\"");
  return v;
}

inline int64_t IntInRange(const kiln::Options& o, std::string_view name, int64_t lo, int64_t hi,
                          std::string_view unit) {
  const int64_t v = o.integer(name);
  if (v < lo || v > hi) {
    throw kiln::Error("option '" + std::string(name) + "' must be between " + std::to_string(lo) + " and " +
                      std::to_string(hi) + " " + std::string(unit) + ", found " + std::to_string(v));
  }
  return v;
}

inline std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

// The run's partition date, as text and as a day number.
struct Partition {
  std::string date;
  int64_t day = 0;
};
inline Partition PartitionOf(const kiln::Run& run) {
  if (!run.partition()) throw kiln::Error("this processor is partitioned by date: the run has no partition");
  Partition p;
  p.date = std::string(*run.partition());
  const auto day = ParseDate(p.date);
  if (!day) throw kiln::Error("invalid partition date '" + p.date + "'");
  p.day = *day;
  return p;
}

// Fails init with a clear message when `db` lacks a table the plugin reads.
template <typename Db>
void RequireTables(Db& db, std::string_view what, std::initializer_list<const char*> tables, std::string_view hint) {
  for (const char* t : tables) {
    if (!db.HasTable(t)) {
      throw kiln::Error(db.path() + " is not a " + std::string(what) + ": it has no table '" + t + "' (" +
                        std::string(hint) + ")");
    }
  }
}

}  // namespace kiln::pipeline

#endif  // KILN_PLUGINS_PIPELINE_COMMON_PLUGIN_UTIL_H_

// Human output of the daemon commands: tables, times, durations, progress.
#ifndef KILN_TOOLS_KILNCTL_FORMAT_H_
#define KILN_TOOLS_KILNCTL_FORMAT_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tools/kilnctl/control_client.h"

namespace kiln::ctl {

// j[key] as text: strings as they are, numbers and booleans as JSON, null or
// missing as `missing`.
std::string Text(const Json& j, const char* key, const std::string& missing = "-");
// j[key] as an integer; 0 if missing or not a number.
int64_t Int(const Json& j, const char* key);
// j[key] as a number, nullopt if missing or null.
std::optional<double> Number(const Json& j, const char* key);

// "2025-01-20T06:00:00.000Z" -> "2025-01-20T06:00:00Z"; "-" for null.
std::string ShortTime(const Json& j, const char* key);
// Milliseconds since the epoch of an ISO 8601 UTC time; nullopt if not one.
std::optional<int64_t> ParseTimeMillis(const std::string& iso);

// 850 -> "850ms", 12300 -> "12.3s", 245000 -> "4m05s", 7380000 -> "2h03m",
// 273600000 -> "3d04h".
std::string FormatDuration(int64_t millis);
// ended_at - started_at, "-" if either is missing.
std::string RunDuration(const Json& run);
// An ETA in whole units: 45 -> "45s", 840 -> "14m", 7500 -> "2h05m".
std::string FormatEta(double seconds);

// "57/118 done, 2 failed, 2 running[, 59 pending][, 4.1/min][, ETA 14m]".
// done counts finished pairs (succeeded + failed).
std::string BackfillProgress(const Json& backfill, bool with_pending);
// "[#####.....] " + BackfillProgress(backfill, false).
std::string BackfillBar(const Json& backfill);
// "player_cache 2025-01-01..2025-04-28".
std::string BackfillSubject(const Json& backfill);

// Left-aligned columns two spaces apart, no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.size() == 1; }
  void Print(const std::string& indent = "") const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// `text` cut to `width` characters, "..." marking the cut.
std::string Truncate(const std::string& text, size_t width);

}  // namespace kiln::ctl

#endif  // KILN_TOOLS_KILNCTL_FORMAT_H_

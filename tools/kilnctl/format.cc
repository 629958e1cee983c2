#include "tools/kilnctl/format.h"

#include <algorithm>
#include <cmath>

#include <date/date.h>
#include <fmt/format.h>

namespace kiln::ctl {

std::string Text(const Json& j, const char* key, const std::string& missing) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return missing;
  const Json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

int64_t Int(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].is_number_float() ? static_cast<int64_t>(j[key].get<double>()) : j[key].get<int64_t>();
}

std::optional<double> Number(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::string ShortTime(const Json& j, const char* key) {
  std::string t = Text(j, key);
  const size_t dot = t.find('.');
  if (dot != std::string::npos && !t.empty() && t.back() == 'Z') t = t.substr(0, dot) + "Z";
  return t;
}

std::optional<int64_t> ParseTimeMillis(const std::string& iso) {
  int y, mo, d, h, mi, s, n = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19) {
    return std::nullopt;
  }
  int64_t millis = 0;
  size_t i = 19;
  if (i < iso.size() && iso[i] == '.') {
    int digits = 0;
    for (++i; i < iso.size() && iso[i] >= '0' && iso[i] <= '9'; ++i, ++digits) {
      if (digits < 3) millis = millis * 10 + (iso[i] - '0');
    }
    for (; digits < 3; ++digits) millis *= 10;
  }
  if (i != iso.size() - 1 || iso[i] != 'Z') return std::nullopt;
  const date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)),
                                 date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = date::sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi) * 60000 + int64_t{s} * 1000 + millis;
}

std::string FormatDuration(int64_t millis) {
  if (millis < 0) millis = 0;
  if (millis < 1000) return fmt::format("{}ms", millis);
  if (millis < 60000) return fmt::format("{:.1f}s", static_cast<double>(millis) / 1000);
  const int64_t s = millis / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string RunDuration(const Json& run) {
  const auto start = ParseTimeMillis(Text(run, "started_at"));
  const auto end = ParseTimeMillis(Text(run, "ended_at"));
  if (!start || !end) return "-";
  return FormatDuration(*end - *start);
}

std::string FormatEta(double seconds) {
  const int64_t s = std::max<int64_t>(0, std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m", (s + 30) / 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string BackfillProgress(const Json& b, bool with_pending) {
  const int64_t done = Int(b, "succeeded") + Int(b, "failed");
  std::string text = fmt::format("{}/{} done, {} failed, {} running", done, Int(b, "total"), Int(b, "failed"),
                                 Int(b, "running"));
  if (with_pending) text += fmt::format(", {} pending", Int(b, "pending"));
  if (auto rate = Number(b, "rate_per_min")) text += fmt::format(", {:.1f}/min", *rate);
  if (auto eta = Number(b, "eta_seconds"); eta && Text(b, "state") == "running") text += ", ETA " + FormatEta(*eta);
  return text;
}

std::string BackfillBar(const Json& b) {
  constexpr int64_t kWidth = 10;
  const int64_t total = Int(b, "total");
  const int64_t done = Int(b, "succeeded") + Int(b, "failed");
  int64_t filled = total > 0 ? std::llround(static_cast<double>(done) * kWidth / static_cast<double>(total)) : 0;
  if (done < total) filled = std::min(filled, kWidth - 1);  // full only when done
  filled = std::clamp<int64_t>(filled, 0, kWidth);
  return "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') +
         "] " + BackfillProgress(b, false);
}

std::string BackfillSubject(const Json& b) {
  return fmt::format("{} {}..{}", Text(b, "processor"), Text(b, "start_date"), Text(b, "end_date"));
}

void Table::Print(const std::string& indent) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    if (row.empty()) continue;  // a table without headers
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

std::string Truncate(const std::string& text, size_t width) {
  std::string one_line = text.substr(0, text.find('\n'));
  if (one_line.size() <= width && one_line.size() == text.size()) return one_line;
  if (one_line.size() + 3 <= width) return one_line + "...";
  size_t cut = width > 3 ? width - 3 : 0;
  // Do not split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(one_line[cut]) & 0xC0) == 0x80) --cut;
  return one_line.substr(0, cut) + "...";
}

}  // namespace kiln::ctl

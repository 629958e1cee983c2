#include "host/base/date.h"

#include <fmt/format.h>

namespace kiln {

Status ParseDay(std::string_view text, Day* out) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("invalid date '{}': {}", text, why));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad("expected YYYY-MM-DD");
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return bad("expected YYYY-MM-DD");
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const date::year y{num(0, 4)};
  const unsigned m = static_cast<unsigned>(num(5, 2));
  const unsigned d = static_cast<unsigned>(num(8, 2));
  if (m < 1 || m > 12) return bad(fmt::format("month {} does not exist", m));
  const auto last = date::year_month_day_last(y, date::month_day_last(date::month(m))).day();
  if (d < 1 || d > static_cast<unsigned>(last)) {
    static const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                    "July",    "August",   "September", "October", "November", "December"};
    return bad(fmt::format("{} {} has {} days", kMonths[m - 1], static_cast<int>(y),
                           static_cast<unsigned>(last)));
  }
  *out = date::sys_days(y / date::month(m) / date::day(d));
  return Status::OK();
}

std::string FormatDay(Day day) {
  const date::year_month_day ymd(day);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

}  // namespace kiln

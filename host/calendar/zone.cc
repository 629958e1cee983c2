// Time zone lookup, ISO 8601 formatting and parsing.
//
// The date library reports failures by throwing; nothing thrown here may
// leave this file, so every call into it that can throw is fenced.
#include "host/calendar/zone.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "host/calendar/quote.h"

namespace kiln {

using calendar_internal::Quote;
using calendar_internal::Trim;

Status FindTimeZone(std::string_view name, const date::time_zone** out) {
  // Load the database first so that a broken installation is reported as
  // such rather than as an unknown zone.
  try {
    (void)date::get_tzdb();
  } catch (const std::exception& e) {
    return Status::IOError(std::string("cannot read the time zone database: ") + e.what());
  } catch (...) {
    return Status::IOError("cannot read the time zone database");
  }
  try {
    *out = date::locate_zone(name);
    return Status::OK();
  } catch (...) {
    return Status::InvalidArgument("unknown time zone " + Quote(name));
  }
}

SysSeconds ResolveWallTime(date::local_seconds wall, const date::time_zone* zone) {
  SysSeconds as_utc{wall.time_since_epoch()};
  if (zone == nullptr) return as_utc;
  try {
    // For a unique time `first` is the only reading; for a time in a gap it
    // is the period before the gap; for a repeated time it is the earlier
    // period. In all three cases that is the reading RFC 5545 asks for.
    return as_utc - zone->get_info(wall).first.offset;
  } catch (...) {
    return as_utc;  // outside the database's range: treat as UTC
  }
}

std::string FormatIso8601(SysSeconds t, const date::time_zone* zone) {
  std::chrono::seconds offset{0};
  bool utc = zone == nullptr;
  if (!utc) {
    try {
      offset = zone->get_info(t).offset;
    } catch (...) {
      utc = true;
    }
  }
  SysSeconds wall = t + offset;
  auto day = date::floor<date::days>(wall);
  date::year_month_day ymd{day};
  date::hh_mm_ss<std::chrono::seconds> hms{wall - day};
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  std::string out(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (utc) return out + "Z";
  long long off = offset.count();
  char sign = off < 0 ? '-' : '+';
  off = std::llabs(off);
  if (off % 60 != 0) {
    n = std::snprintf(buf, sizeof buf, "%c%02lld:%02lld:%02lld", sign, off / 3600, off / 60 % 60, off % 60);
  } else {
    n = std::snprintf(buf, sizeof buf, "%c%02lld:%02lld", sign, off / 3600, off / 60 % 60);
  }
  return out + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

namespace {

// A forward-only reader over the text of a time.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool Peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++i_;
    return true;
  }
  bool EatAny(std::string_view set) {
    if (i_ < s_.size() && set.find(s_[i_]) != std::string_view::npos) {
      ++i_;
      return true;
    }
    return false;
  }
  // Exactly `n` decimal digits.
  bool Digits(int n, int* value) {
    if (s_.size() - i_ < static_cast<size_t>(n)) return false;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    *value = v;
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Status ParseTime(std::string_view text, const date::time_zone* zone, SysSeconds* out) {
  std::string_view s = Trim(text);
  auto bad = [&](const char* why) { return Status::InvalidArgument("bad time " + Quote(text) + ": " + why); };
  const char* kSyntax = "expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]";

  Reader r(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!r.Digits(4, &y) || !r.Eat('-') || !r.Digits(2, &mo) || !r.Eat('-') || !r.Digits(2, &d)) return bad(kSyntax);
  bool has_offset = false;
  std::chrono::seconds offset{0};
  if (!r.done()) {
    if (!r.EatAny("Tt ")) return bad(kSyntax);
    if (!r.Digits(2, &h) || !r.Eat(':') || !r.Digits(2, &mi)) return bad(kSyntax);
    if (r.Eat(':') && !r.Digits(2, &sec)) return bad(kSyntax);
    if (r.EatAny("Zz")) {
      has_offset = true;
    } else if (r.Peek('+') || r.Peek('-')) {
      int sign = r.Eat('-') ? -1 : (r.Eat('+'), 1);
      int oh = 0, om = 0;
      if (!r.Digits(2, &oh)) return bad(kSyntax);
      if (!r.done()) {
        r.Eat(':');
        if (!r.Digits(2, &om)) return bad(kSyntax);
      }
      if (oh > 23 || om > 59) return bad("offset out of range");
      has_offset = true;
      offset = sign * (std::chrono::hours(oh) + std::chrono::minutes(om));
    }
    if (!r.done()) return bad(kSyntax);
  }

  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || sec > 59) return bad("no such time of day");
  auto wall = date::local_days{ymd} + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(sec);
  if (has_offset) {
    *out = SysSeconds{wall.time_since_epoch()} - offset;
  } else {
    *out = ResolveWallTime(wall, zone);
  }
  return Status::OK();
}

}  // namespace kiln

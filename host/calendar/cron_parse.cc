// Parsing cron expressions into bit sets, and rejecting those that can never
// fire. Matching against the calendar lives in cron.cc.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "host/calendar/cron.h"
#include "host/calendar/quote.h"

namespace kiln {

using calendar_internal::Quote;
using calendar_internal::Trim;

namespace {

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;  // as it appears in messages
  int min;
  int max;
  int step_end;  // where '*' and 'n/s' stop: the max, except 6 for day-of-week
  const char* const* names;  // value names, or nullptr
  int names_count;
  int names_base;  // the value of names[0]
  bool allow_last;  // L (day-of-month)
  bool allow_nth;   // D#N (day-of-week)
};

const FieldSpec kSecond = {"second", 0, 59, 59, nullptr, 0, 0, false, false};
const FieldSpec kMinute = {"minute", 0, 59, 59, nullptr, 0, 0, false, false};
const FieldSpec kHour = {"hour", 0, 23, 23, nullptr, 0, 0, false, false};
const FieldSpec kDayOfMonth = {"day-of-month", 1, 31, 31, nullptr, 0, 0, true, false};
const FieldSpec kMonth = {"month", 1, 12, 12, kMonthNames, 12, 1, false, false};
const FieldSpec kDayOfWeek = {"day-of-week", 0, 7, 6, kDayNames, 7, 0, false, true};

// What one field allows.
struct FieldValue {
  uint64_t bits = 0;  // bit n: value n (day-of-week 7 is folded into 0)
  bool last = false;  // L
  uint8_t nth[7] = {};
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Parses a field of the expression. Errors are returned as the text that
// follows "<field>: " in the message; empty means success.
class FieldParser {
 public:
  FieldParser(const FieldSpec& spec, FieldValue* out) : spec_(spec), out_(out) {}

  std::string Parse(std::string_view text) {
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) return "empty item in " + Quote(text);
      std::string err = ParseItem(item);
      if (!err.empty()) return err;
      if (comma == std::string_view::npos) return "";
      start = comma + 1;
    }
  }

 private:
  std::string ParseItem(std::string_view item) {
    if (spec_.allow_last && EqualsIgnoreCase(item, "L")) {
      out_->last = true;
      return "";
    }
    if (size_t hash = item.find('#'); hash != std::string_view::npos && spec_.allow_nth) {
      int day = 0;
      std::string err = Value(item.substr(0, hash), item, &day);
      if (!err.empty()) return err;
      std::string_view n_text = item.substr(hash + 1);
      int n = 0;
      if (!Number(n_text, &n)) return "bad occurrence in " + Quote(item);
      if (n < 1 || n > 5) return "occurrence " + std::string(n_text) + " in " + Quote(item) + " out of range 1-5";
      out_->nth[day % 7] |= static_cast<uint8_t>(1u << n);
      return "";
    }

    std::string_view range = item;
    int step = 1;
    bool stepped = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      if (!Number(item.substr(slash + 1), &step)) return "bad step in " + Quote(item);
      if (step == 0) return "step must be at least 1 in " + Quote(item);
      stepped = true;
    }

    int lo = 0, hi = 0;
    if (range == "*") {
      lo = spec_.min;
      hi = spec_.step_end;
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      std::string err = Value(range.substr(0, dash), item, &lo);
      if (err.empty()) err = Value(range.substr(dash + 1), item, &hi);
      if (!err.empty()) return err;
      if (lo > hi) return "range " + std::string(range) + " is reversed";
    } else {
      std::string err = Value(range, item, &lo);
      if (!err.empty()) return err;
      // "n/s" runs from n to the end of the field.
      hi = stepped && lo < spec_.step_end ? spec_.step_end : lo;
    }
    // 64-bit: a step up to INT_MAX ("5/2147483647") must not overflow v.
    for (int64_t v = lo; v <= hi; v += step) out_->bits |= uint64_t{1} << (spec_.allow_nth ? v % 7 : v);
    return "";
  }

  // A value in range, by number or by name. `item` is quoted when the value
  // itself is empty ("-5").
  std::string Value(std::string_view text, std::string_view item, int* v) {
    if (AllDigits(text)) {
      if (!Number(text, v) || *v < spec_.min || *v > spec_.max) {
        return "value " + std::string(text) + " out of range " + std::to_string(spec_.min) + "-" +
               std::to_string(spec_.max);
      }
      return "";
    }
    for (int i = 0; i < spec_.names_count; ++i) {
      if (EqualsIgnoreCase(text, spec_.names[i])) {
        *v = spec_.names_base + i;
        return "";
      }
    }
    return "bad value " + Quote(text.empty() ? item : text);
  }

  // A plain decimal number that fits an int.
  static bool Number(std::string_view text, int* v) {
    if (!AllDigits(text)) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
    return ec == std::errc() && end == text.data() + text.size();
  }

  const FieldSpec& spec_;
  FieldValue* out_;
};

struct Macro {
  const char* name;
  const char* expansion;
};

const Macro kMacros[] = {
    {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
};

std::vector<std::string_view> SplitBlanks(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) fields.push_back(s.substr(start, i - start));
  }
  return fields;
}

unsigned DaysInMonth(unsigned month, bool leap) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap ? 29 : kDays[month - 1];
}

}  // namespace

class CronParser {
 public:
  // Whether any day in any year can match. Within one month, whether a day
  // matches depends only on the month's length and the weekday of its first
  // day, and over the 400-year Gregorian cycle every month begins on every
  // weekday, February also in leap years. So trying each month in the set
  // with each length it can have and each first weekday is exact.
  static bool CanFire(const CronSchedule& s) {
    for (unsigned m = 1; m <= 12; ++m) {
      if (!(s.months_ >> m & 1)) continue;
      for (bool leap : {false, true}) {
        unsigned len = DaysInMonth(m, leap);
        for (unsigned first = 0; first < 7; ++first) {
          for (unsigned d = 1; d <= len; ++d) {
            if (s.DayMatches(d, len, (first + d - 1) % 7)) return true;
          }
        }
      }
    }
    return false;
  }

  static Status Parse(std::string_view expr, CronSchedule* out) {
    std::string_view text = Trim(expr);
    std::string prefix = "cron " + Quote(text) + ": ";

    std::string_view body = text;
    if (!text.empty() && text.front() == '@') {
      body = {};
      for (const Macro& m : kMacros) {
        if (EqualsIgnoreCase(text, m.name)) body = m.expansion;
      }
      if (body.empty()) {
        return Status::InvalidArgument(prefix +
                                       "unknown macro; expected @hourly, @daily, @midnight, @weekly, "
                                       "@monthly, @yearly or @annually");
      }
    }

    std::vector<std::string_view> fields = SplitBlanks(body);
    if (fields.size() != 5 && fields.size() != 6) {
      return Status::InvalidArgument(prefix + "expected 5 or 6 fields, got " + std::to_string(fields.size()));
    }
    if (fields.size() == 5) fields.insert(fields.begin(), "0");

    const FieldSpec* specs[6] = {&kSecond, &kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
    FieldValue values[6];
    for (int i = 0; i < 6; ++i) {
      std::string err = FieldParser(*specs[i], &values[i]).Parse(fields[i]);
      if (!err.empty()) return Status::InvalidArgument(prefix + specs[i]->name + ": " + err);
    }

    CronSchedule s;
    s.text_ = std::string(text);
    s.periodic_ = fields[2].find_first_of("*/") != std::string_view::npos;
    s.seconds_ = values[0].bits;
    s.minutes_ = values[1].bits;
    s.hours_ = static_cast<uint32_t>(values[2].bits);
    s.days_ = static_cast<uint32_t>(values[3].bits);
    s.last_day_ = values[3].last;
    s.months_ = static_cast<uint16_t>(values[4].bits);
    s.weekdays_ = static_cast<uint8_t>(values[5].bits);
    for (int d = 0; d < 7; ++d) s.nth_[d] = values[5].nth[d];
    s.days_star_ = fields[3].front() == '*';
    s.weekdays_star_ = fields[5].front() == '*';

    if (!CanFire(s)) {
      std::string_view months = fields[4];
      std::string in = months == "*" ? std::string("any month")
                       : (months.find_first_of(",-/") == std::string_view::npos ? "month " : "months ") +
                             std::string(months);
      if (s.weekdays_star_ && s.weekdays_ == 0x7f) {
        return Status::InvalidArgument(prefix + "never fires: day-of-month " + std::string(fields[3]) +
                                       " never occurs in " + in);
      }
      return Status::InvalidArgument(prefix + "never fires: day-of-month " + std::string(fields[3]) +
                                     " and day-of-week " + std::string(fields[5]) + " never fall on the same day in " +
                                     in);
    }
    *out = std::move(s);
    return Status::OK();
  }
};

Status CronSchedule::Parse(std::string_view expr, CronSchedule* out) { return CronParser::Parse(expr, out); }

}  // namespace kiln

// ParseDuration: "1h30m" and friends.
#include "host/calendar/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "host/calendar/quote.h"

namespace kiln {

using calendar_internal::Quote;
using calendar_internal::Trim;

Status ParseDuration(std::string_view text, std::chrono::milliseconds* out) {
  std::string_view s = Trim(text);
  auto bad = [&](const char* why) { return Status::InvalidArgument("bad duration " + Quote(text) + ": " + why); };
  const char* kSyntax = "expected a number followed by ms, s, m, h or d";
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

  // A leading minus is a sign the user meant a negative span, so say why it
  // is refused rather than calling it garbage.
  if (!s.empty() && s.front() == '-') {
    std::chrono::milliseconds ignored;
    if (ParseDuration(s.substr(1), &ignored).ok()) return bad("must be greater than zero");
  }
  if (s.empty()) return bad(kSyntax);

  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    int64_t n = 0;
    size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      int d = s[i] - '0';
      if (n > (kMax - d) / 10) return bad("too large");
      n = n * 10 + d;
      ++i;
    }
    if (i == digits) return bad(kSyntax);
    int64_t unit = 0;
    if (s.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < s.size() && s[i] == 's') {
      unit = 1000;
      ++i;
    } else if (i < s.size() && s[i] == 'm') {
      unit = 60 * 1000;
      ++i;
    } else if (i < s.size() && s[i] == 'h') {
      unit = 3600 * 1000;
      ++i;
    } else if (i < s.size() && s[i] == 'd') {
      unit = 86400 * 1000;
      ++i;
    } else {
      return bad(kSyntax);
    }
    if (n > (kMax - total) / unit) return bad("too large");
    total += n * unit;
  }
  if (total == 0) return bad("must be greater than zero");
  *out = std::chrono::milliseconds(total);
  return Status::OK();
}

}  // namespace kiln

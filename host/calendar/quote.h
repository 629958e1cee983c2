// Quoting user text inside one-line error messages.
//
// Messages quote what the user wrote ("cron '61 * * * *': ..."). A control
// character in that text would break the one-line promise of Status, so each
// is shown as '?'. Internal to the calendar module.
#ifndef KILN_HOST_CALENDAR_QUOTE_H_
#define KILN_HOST_CALENDAR_QUOTE_H_

#include <string>
#include <string_view>

#include "host/base/printable.h"

namespace kiln {
namespace calendar_internal {

// 'text', with control characters replaced.
inline std::string Quote(std::string_view text) { return "'" + Printable(text) + "'"; }

// Leading and trailing ASCII blanks removed.
inline std::string_view Trim(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace calendar_internal
}  // namespace kiln

#endif  // KILN_HOST_CALENDAR_QUOTE_H_

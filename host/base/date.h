// Partition dates: the civil "YYYY-MM-DD" days a partitioned plugin runs for.
#ifndef KILN_HOST_BASE_DATE_H_
#define KILN_HOST_BASE_DATE_H_

#include <string>
#include <string_view>

#include <date/date.h>

#include "host/base/status.h"

namespace kiln {

using Day = date::sys_days;

// Strict "YYYY-MM-DD" with a real calendar day: "2025-02-30" is refused as
// "invalid date '2025-02-30': February 2025 has 28 days".
Status ParseDay(std::string_view text, Day* out);

std::string FormatDay(Day day);

}  // namespace kiln

#endif  // KILN_HOST_BASE_DATE_H_

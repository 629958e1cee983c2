// Logging: every host and plugin line goes through spdlog's "kiln" logger,
// tagged with the processor, run and partition it belongs to.
#ifndef KILN_HOST_BASE_LOG_H_
#define KILN_HOST_BASE_LOG_H_

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "host/base/status.h"

namespace kiln {

struct LogOptions {
  std::string level = "info";  // trace|debug|info|warn|error|off
  std::string format = "text"; // text|json
  std::string file;            // rotating file beside the console when set
};

// Where a line comes from; empty fields are left out.
struct LogFields {
  std::string plugin;
  std::string processor;
  std::string run_id;
  std::string partition;
};

// Replaces the process's logger. Errors name the option at fault.
Status InitLogging(const LogOptions& options);

// One line with fields. In json format: one JSON object per line with keys
// time, level, msg and each non-empty field.
void LogLine(spdlog::level::level_enum level, const LogFields& fields, std::string_view message);

spdlog::logger& Logger();

}  // namespace kiln

#endif  // KILN_HOST_BASE_LOG_H_

#include "host/base/log.h"

#include <fmt/chrono.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace kiln {
namespace {

bool g_json = false;

std::shared_ptr<spdlog::logger> MakeDefault() {
  auto logger = spdlog::stderr_color_mt("kiln");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  return logger;
}

std::shared_ptr<spdlog::logger>& Current() {
  static std::shared_ptr<spdlog::logger> logger = MakeDefault();
  return logger;
}

}  // namespace

spdlog::logger& Logger() { return *Current(); }

Status InitLogging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return Status::InvalidArgument("log_level '" + options.level +
                                   "': expected trace, debug, info, warn, error or off");
  }
  if (options.format != "text" && options.format != "json") {
    return Status::InvalidArgument("log_format '" + options.format + "': expected text or json");
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.file, 64 << 20, 5));
    } catch (const spdlog::spdlog_ex& e) {
      return Status::IOError("log file " + options.file + ": " + e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>("kiln", sinks.begin(), sinks.end());
  g_json = options.format == "json";
  // In json mode the whole line is built by LogLine, so the pattern is bare.
  logger->set_pattern(g_json ? "%v" : "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  Current() = logger;
  return Status::OK();
}

void LogLine(spdlog::level::level_enum level, const LogFields& fields, std::string_view message) {
  spdlog::logger& log = Logger();
  if (!log.should_log(level)) return;
  if (g_json) {
    nlohmann::json j;
    auto now = std::chrono::system_clock::now();
    j["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::floor<std::chrono::milliseconds>(now));
    j["level"] = spdlog::level::to_string_view(level).data();
    j["msg"] = message;
    if (!fields.plugin.empty()) j["plugin"] = fields.plugin;
    if (!fields.processor.empty()) j["processor"] = fields.processor;
    if (!fields.run_id.empty()) j["run"] = fields.run_id;
    if (!fields.partition.empty()) j["partition"] = fields.partition;
    // Invalid UTF-8 from a plugin is replaced, never thrown.
    log.log(level, "{}", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  std::string tags;
  if (!fields.processor.empty()) tags += "processor=" + fields.processor + " ";
  if (!fields.run_id.empty()) tags += "run=" + fields.run_id + " ";
  if (!fields.partition.empty()) tags += "partition=" + fields.partition + " ";
  log.log(level, "{}{}", tags, message);
}

}  // namespace kiln

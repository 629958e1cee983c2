// The control protocol's framing: parsing request lines and writing reply
// lines (docs/control.md). No I/O here, so it can be tested and fuzzed alone.
#ifndef KILN_HOST_CONTROL_PROTOCOL_H_
#define KILN_HOST_CONTROL_PROTOCOL_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln {

inline constexpr int kControlProtocolVersion = 1;
inline constexpr size_t kMaxRequestBytes = 1 << 20;
// Deepest nesting of arrays and objects a request may have. Copying,
// comparing or printing a JSON value recurses once per level, so a request
// of a megabyte of '[' would overflow the stack of whatever handled it.
inline constexpr int kMaxRequestDepth = 64;

struct ControlRequest {
  std::string method;
  nlohmann::json params = nlohmann::json::object();
};

struct ControlReply {
  bool ok = true;
  nlohmann::json result = nlohmann::json::object();
  std::string code;     // on error: malformed, unsupported_version, ...
  std::string message;  // on error: one line
  std::vector<std::string> details;

  static ControlReply Ok(nlohmann::json result);
  static ControlReply Error(std::string code, std::string message, std::vector<std::string> details = {});
};

// Parses one request line (without its newline). On failure *error is the
// reply to send.
bool ParseControlRequest(std::string_view line, ControlRequest* out, ControlReply* error);

// One reply line, newline included. Invalid UTF-8 in messages is replaced.
std::string FormatControlReply(const ControlReply& reply);

}  // namespace kiln

#endif  // KILN_HOST_CONTROL_PROTOCOL_H_

#include "host/control/protocol.h"

#include <fmt/format.h>

namespace kiln {
namespace {

// The deepest nesting of arrays and objects in `text`, which is valid JSON.
int JsonDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

ControlReply ControlReply::Ok(nlohmann::json result) {
  ControlReply r;
  r.result = std::move(result);
  return r;
}

ControlReply ControlReply::Error(std::string code, std::string message, std::vector<std::string> details) {
  ControlReply r;
  r.ok = false;
  r.code = std::move(code);
  r.message = std::move(message);
  r.details = std::move(details);
  return r;
}

bool ParseControlRequest(std::string_view line, ControlRequest* out, ControlReply* error) {
  if (line.size() > kMaxRequestBytes) {
    *error = ControlReply::Error("too_large", fmt::format("request of {} bytes exceeds {}", line.size(), kMaxRequestBytes));
    return false;
  }
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = ControlReply::Error("malformed", "request is not valid JSON");
    return false;
  }
  if (JsonDepth(line) > kMaxRequestDepth) {
    *error = ControlReply::Error("malformed", fmt::format("request nests deeper than {} levels", kMaxRequestDepth));
    return false;
  }
  if (!j.is_object()) {
    *error = ControlReply::Error("malformed", "request must be a JSON object");
    return false;
  }
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer()) {
    *error = ControlReply::Error("malformed", "request has no protocol version \"v\"");
    return false;
  }
  if (v->get<int64_t>() != kControlProtocolVersion) {
    *error = ControlReply::Error("unsupported_version",
                                 fmt::format("protocol version {} is not supported (kilnd speaks {})",
                                             v->dump(), kControlProtocolVersion));
    return false;
  }
  auto m = j.find("method");
  if (m == j.end() || !m->is_string() || m->get<std::string>().empty()) {
    *error = ControlReply::Error("malformed", "request has no \"method\" string");
    return false;
  }
  out->method = m->get<std::string>();
  auto p = j.find("params");
  if (p == j.end() || p->is_null()) {
    out->params = nlohmann::json::object();
  } else if (!p->is_object()) {
    *error = ControlReply::Error("malformed", "\"params\" must be an object");
    return false;
  } else {
    out->params = *p;
  }
  return true;
}

std::string FormatControlReply(const ControlReply& reply) {
  nlohmann::json j;
  j["v"] = kControlProtocolVersion;
  j["ok"] = reply.ok;
  if (reply.ok) {
    j["result"] = reply.result;
  } else {
    j["error"] = {{"code", reply.code}, {"message", reply.message}};
    if (!reply.details.empty()) j["error"]["details"] = reply.details;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace kiln

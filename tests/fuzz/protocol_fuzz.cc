// Fuzz target: the control protocol (host/control/protocol.h), on the bytes
// as one request line.
//
// Checks: ParseControlRequest either accepts (a non-empty method, params an
// object) or produces an error reply with a code; every reply
// FormatControlReply writes is one line of valid JSON ending in a newline
// that reads back to what was formatted (an accepted request's method and
// params round-trip through a result); a message of arbitrary bytes, invalid
// UTF-8 included, is still formatted as valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "host/control/protocol.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using kiln::ControlReply;

nlohmann::json ReadBack(const std::string& line) {
  FUZZ_CHECK(!line.empty() && line.back() == '\n', line);
  FUZZ_CHECK(line.find('\n') == line.size() - 1, line);
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!j.is_discarded() && j.is_object(), line);
  FUZZ_CHECK(j.value("v", 0) == kiln::kControlProtocolVersion, line);
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  kiln::ControlRequest request;
  ControlReply error;
  if (kiln::ParseControlRequest(line, &request, &error)) {
    FUZZ_CHECK(!request.method.empty());
    FUZZ_CHECK(request.params.is_object());
    nlohmann::json result = {{"method", request.method}, {"params", request.params}};
    nlohmann::json back = ReadBack(kiln::FormatControlReply(ControlReply::Ok(result)));
    FUZZ_CHECK(back.value("ok", false));
    FUZZ_CHECK(back["result"] == result, back.dump());
  } else {
    FUZZ_CHECK(!error.ok && !error.code.empty() && !error.message.empty());
    nlohmann::json back = ReadBack(kiln::FormatControlReply(error));
    FUZZ_CHECK(!back.value("ok", true));
    FUZZ_CHECK(back["error"]["code"] == error.code, back.dump());
    FUZZ_CHECK(back["error"]["message"] == error.message, back.dump());
  }
  // Messages and details carry text from anywhere (plugin errors, paths):
  // arbitrary bytes must still make one valid line.
  const std::string raw(line.substr(0, 4096));
  ReadBack(kiln::FormatControlReply(ControlReply::Error("internal", raw, {raw, "detail"})));
  return 0;
}

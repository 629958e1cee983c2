#include "host/base/status.h"

namespace kiln {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not_found";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kIOError: return "io_error";
    case Code::kRefused: return "refused";
    case Code::kFailed: return "failed";
    case Code::kCancelled: return "cancelled";
    case Code::kCorruption: return "corruption";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace kiln

// Status: the one error type that carries failures through the host.
//
// As in LevelDB, a Status is either OK or a code plus a one-line message that
// is already fit to show a user: it names the file, line, plugin or option at
// fault. Functions that can fail return a Status and write results through
// out-parameters; nothing in the host throws across a module boundary.
#ifndef KILN_HOST_BASE_STATUS_H_
#define KILN_HOST_BASE_STATUS_H_

#include <string>
#include <utility>

namespace kiln {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,         // a file, plugin, processor or run that does not exist
    kInvalidArgument,  // bad input from a user: option, date, config
    kIOError,          // the operating system refused
    kRefused,          // a plugin failed a load-time check
    kFailed,           // a run or a phase failed
    kCancelled,        // stopped on request
    kCorruption,       // stored state is damaged
    kInternal,         // a bug in Kiln
  };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Refused(std::string msg) { return Status(Code::kRefused, std::move(msg)); }
  static Status Failed(std::string msg) { return Status(Code::kFailed, std::move(msg)); }
  static Status Cancelled(std::string msg) { return Status(Code::kCancelled, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK", or the message prefixed by nothing: messages are written for users.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }

  // The code's stable lowercase name, as used in JSON output ("refused").
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace kiln

#endif  // KILN_HOST_BASE_STATUS_H_

// Configured option values bound to a plugin's schema.
//
// Inputs come from a config file (typed TOML values) or the command line
// (text). Binding checks each one against the schema, fills defaults, and
// lays the result out as the kiln_option_value_t array configure receives.
#ifndef KILN_HOST_RUN_OPTION_VALUES_H_
#define KILN_HOST_RUN_OPTION_VALUES_H_

#include <optional>
#include <string>
#include <vector>

#include "host/base/status.h"
#include "host/loader/option_schema.h"
#include "kiln/plugin.h"

namespace kiln {

struct OptionInput {
  std::string name;
  OptionValue value;  // a std::string from the command line is parsed per schema type
  bool is_text = false;
};

// Parses "key=value" from the command line.
Status ParseOptionAssignment(std::string_view text, OptionInput* out);

class BoundOptions {
 public:
  BoundOptions() = default;
  BoundOptions(const BoundOptions& other) { *this = other; }
  BoundOptions& operator=(const BoundOptions& other);

  // Checks `inputs` against `schema` for plugin `plugin`. Every problem is
  // reported, one per line, in `*errors` when given; the Status carries the
  // first. Messages: "plugin 'x': unknown option 'windw' (did you mean
  // 'window'?)", "plugin 'x': option 'window': expected int, found 'abc'",
  // "plugin 'x': missing required option 'db'".
  static Status Bind(const std::string& plugin, const std::vector<OptionSpec>& schema,
                     const std::vector<OptionInput>& inputs, BoundOptions* out,
                     std::vector<std::string>* errors = nullptr);

  const kiln_option_value_t* data() const { return abi_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(abi_.size()); }
  const std::vector<std::pair<std::string, OptionValue>>& values() const { return values_; }

 private:
  void BuildAbi(const std::vector<int32_t>& types);

  std::vector<std::pair<std::string, OptionValue>> values_;  // owns the strings
  std::vector<int32_t> types_;
  std::vector<kiln_option_value_t> abi_;                     // points into values_
};

}  // namespace kiln

#endif  // KILN_HOST_RUN_OPTION_VALUES_H_

// A plugin's option schema, copied out of its descriptor and checked.
//
// The host, not the plugin, validates configured options: a typo in a config
// file is reported with the file and line before any plugin code runs.
#ifndef KILN_HOST_LOADER_OPTION_SCHEMA_H_
#define KILN_HOST_LOADER_OPTION_SCHEMA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "host/base/status.h"
#include "kiln/plugin.h"

namespace kiln {

// A typed option value. DATE values are kept as their "YYYY-MM-DD" text.
using OptionValue = std::variant<std::string, int64_t, double, bool>;

struct OptionSpec {
  std::string name;
  int32_t type = 0;  // KILN_OPTION_*
  bool required = false;
  std::optional<OptionValue> default_value;  // parsed; absent when required
  std::string default_text;                  // as the plugin wrote it
  std::string doc;
};

// "string", "int", "float", "bool", "date"; "unknown" otherwise.
const char* OptionTypeName(int32_t type);

// Parses `text` as an option of `type`. The error says what was expected and
// what was found: "expected int, found 'abc'".
Status ParseOptionText(int32_t type, std::string_view text, OptionValue* out);

// Copies and checks the schema of a descriptor: names are identifiers and
// unique, types known, docs present, required XOR default, defaults parse.
// Errors read "option schema: option 2 'window': <problem>".
Status ReadOptionSchema(const kiln_option_spec_t* specs, uint32_t count,
                        std::vector<OptionSpec>* out);

// Renders a value for humans and for ledger records.
std::string FormatOptionValue(const OptionValue& value);

}  // namespace kiln

#endif  // KILN_HOST_LOADER_OPTION_SCHEMA_H_

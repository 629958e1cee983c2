#include "host/run/option_values.h"

#include <algorithm>

#include <fmt/format.h>

#include "host/base/suggest.h"

namespace kiln {

Status ParseOptionAssignment(std::string_view text, OptionInput* out) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument(fmt::format("--option '{}': expected key=value", text));
  }
  out->name = std::string(text.substr(0, eq));
  out->value = std::string(text.substr(eq + 1));
  out->is_text = true;
  return Status::OK();
}

BoundOptions& BoundOptions::operator=(const BoundOptions& other) {
  if (this != &other) {
    values_ = other.values_;
    types_ = other.types_;
    BuildAbi(types_);
  }
  return *this;
}

void BoundOptions::BuildAbi(const std::vector<int32_t>& types) {
  abi_.assign(values_.size(), kiln_option_value_t{});
  for (size_t i = 0; i < values_.size(); ++i) {
    kiln_option_value_t& v = abi_[i];
    v.name = values_[i].first.c_str();
    v.type = types[i];
    const OptionValue& value = values_[i].second;
    switch (types[i]) {
      case KILN_OPTION_STRING:
      case KILN_OPTION_DATE: v.as.s = std::get<std::string>(value).c_str(); break;
      case KILN_OPTION_INT: v.as.i = std::get<int64_t>(value); break;
      case KILN_OPTION_FLOAT: v.as.f = std::get<double>(value); break;
      case KILN_OPTION_BOOL: v.as.b = std::get<bool>(value) ? 1 : 0; break;
    }
  }
}

namespace {

// Converts a typed input to the schema's type; TOML integers are accepted
// where a float is expected.
Status Coerce(const OptionSpec& spec, const OptionInput& in, OptionValue* out) {
  if (in.is_text) return ParseOptionText(spec.type, std::get<std::string>(in.value), out);
  const OptionValue& v = in.value;
  auto found = [&] {
    struct Visitor {
      std::string operator()(const std::string& s) const { return fmt::format("string \"{}\"", s); }
      std::string operator()(int64_t i) const { return fmt::format("int {}", i); }
      std::string operator()(double d) const { return fmt::format("float {}", d); }
      std::string operator()(bool b) const { return fmt::format("bool {}", b); }
    };
    return Status::InvalidArgument(
        fmt::format("expected {}, found {}", OptionTypeName(spec.type), std::visit(Visitor{}, v)));
  };
  switch (spec.type) {
    case KILN_OPTION_STRING:
      if (!std::holds_alternative<std::string>(v)) return found();
      *out = v;
      return Status::OK();
    case KILN_OPTION_DATE:
      if (!std::holds_alternative<std::string>(v)) return found();
      return ParseOptionText(spec.type, std::get<std::string>(v), out);
    case KILN_OPTION_INT:
      if (!std::holds_alternative<int64_t>(v)) return found();
      *out = v;
      return Status::OK();
    case KILN_OPTION_FLOAT:
      if (std::holds_alternative<int64_t>(v)) *out = static_cast<double>(std::get<int64_t>(v));
      else if (std::holds_alternative<double>(v)) *out = v;
      else return found();
      return Status::OK();
    case KILN_OPTION_BOOL:
      if (!std::holds_alternative<bool>(v)) return found();
      *out = v;
      return Status::OK();
  }
  return Status::Internal("unknown option type");
}

}  // namespace

Status BoundOptions::Bind(const std::string& plugin, const std::vector<OptionSpec>& schema,
                          const std::vector<OptionInput>& inputs, BoundOptions* out,
                          std::vector<std::string>* errors) {
  std::vector<std::string> problems;
  std::vector<std::optional<OptionValue>> chosen(schema.size());
  std::vector<std::string> names;
  for (const OptionSpec& spec : schema) names.push_back(spec.name);

  for (const OptionInput& in : inputs) {
    auto it = std::find(names.begin(), names.end(), in.name);
    if (it == names.end()) {
      std::string msg = fmt::format("plugin '{}': unknown option '{}'", plugin, in.name);
      if (auto s = Suggest(in.name, names)) msg += fmt::format(" (did you mean '{}'?)", *s);
      else if (names.empty()) msg += " (it takes no options)";
      problems.push_back(std::move(msg));
      continue;
    }
    const size_t i = static_cast<size_t>(it - names.begin());
    OptionValue value;
    Status s = Coerce(schema[i], in, &value);
    if (!s.ok()) {
      problems.push_back(fmt::format("plugin '{}': option '{}': {}", plugin, in.name, s.message()));
      continue;
    }
    chosen[i] = std::move(value);  // a later input overrides an earlier one
  }

  BoundOptions bound;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (!chosen[i]) {
      if (schema[i].required) {
        problems.push_back(fmt::format("plugin '{}': missing required option '{}'", plugin, schema[i].name));
        continue;
      }
      chosen[i] = schema[i].default_value;
    }
    bound.values_.emplace_back(schema[i].name, *chosen[i]);
    bound.types_.push_back(schema[i].type);
  }
  if (errors) *errors = problems;
  if (!problems.empty()) return Status::InvalidArgument(problems.front());
  *out = bound;  // copying lays out the ABI array
  return Status::OK();
}

}  // namespace kiln

#include "host/loader/option_schema.h"

#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "host/base/date.h"
#include "host/base/printable.h"

namespace kiln {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

const char* OptionTypeName(int32_t type) {
  switch (type) {
    case KILN_OPTION_STRING: return "string";
    case KILN_OPTION_INT: return "int";
    case KILN_OPTION_FLOAT: return "float";
    case KILN_OPTION_BOOL: return "bool";
    case KILN_OPTION_DATE: return "date";
    default: return "unknown";
  }
}

Status ParseOptionText(int32_t type, std::string_view text, OptionValue* out) {
  auto mismatch = [&] {
    return Status::InvalidArgument(
        fmt::format("expected {}, found '{}'", OptionTypeName(type), Printable(text)));
  };
  const std::string s(text);
  switch (type) {
    case KILN_OPTION_STRING:
      *out = s;
      return Status::OK();
    case KILN_OPTION_INT: {
      if (s.empty()) return mismatch();
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (errno != 0 || *end != '\0' || std::isspace(static_cast<unsigned char>(s[0]))) return mismatch();
      *out = static_cast<int64_t>(v);
      return Status::OK();
    }
    case KILN_OPTION_FLOAT: {
      if (s.empty()) return mismatch();
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(s.c_str(), &end);
      if (errno != 0 || *end != '\0' || !std::isfinite(v) || std::isspace(static_cast<unsigned char>(s[0]))) {
        return mismatch();
      }
      *out = v;
      return Status::OK();
    }
    case KILN_OPTION_BOOL:
      if (s == "true") *out = true;
      else if (s == "false") *out = false;
      else return Status::InvalidArgument(fmt::format("expected bool (true or false), found '{}'", Printable(text)));
      return Status::OK();
    case KILN_OPTION_DATE: {
      Day day;
      Status st = ParseDay(text, &day);
      if (!st.ok()) return Status::InvalidArgument(Printable(st.message()));
      *out = s;
      return Status::OK();
    }
    default:
      return Status::InvalidArgument(fmt::format("unknown option type {}", type));
  }
}

Status ReadOptionSchema(const kiln_option_spec_t* specs, uint32_t count,
                        std::vector<OptionSpec>* out) {
  out->clear();
  if (count > 0 && specs == nullptr) {
    return Status::Refused(fmt::format("option schema: {} options declared but the table is NULL", count));
  }
  if (count > 256) {
    return Status::Refused(fmt::format("option schema: expected at most 256 options, found {}", count));
  }
  std::set<std::string, std::less<>> seen;
  for (uint32_t i = 0; i < count; ++i) {
    const kiln_option_spec_t& spec = specs[i];
    const std::string name = spec.name ? spec.name : "";
    auto bad = [&](const std::string& why) {
      return Status::Refused(Printable(fmt::format("option schema: option {} '{}': {}", i, name, why)));
    };
    if (!IsIdentifier(name)) return bad("invalid name, expected [a-z][a-z0-9_]{0,63}");
    if (!seen.insert(name).second) return bad("duplicate name");
    if (std::string(OptionTypeName(spec.type)) == "unknown") {
      return bad(fmt::format("unknown type {}", spec.type));
    }
    if (spec.doc == nullptr || spec.doc[0] == '\0') return bad("missing doc");
    if (spec.required != 0 && spec.required != 1) {
      return bad(fmt::format("required must be 0 or 1, found {}", spec.required));
    }
    OptionSpec o;
    o.name = name;
    o.type = spec.type;
    o.required = spec.required == 1;
    o.doc = spec.doc;
    if (o.required && spec.default_value != nullptr) return bad("required option has a default");
    if (!o.required) {
      if (spec.default_value == nullptr) return bad("optional option has no default");
      o.default_text = spec.default_value;
      OptionValue v;
      Status st = ParseOptionText(o.type, o.default_text, &v);
      if (!st.ok()) return bad("default: " + st.message());
      o.default_value = std::move(v);
    }
    out->push_back(std::move(o));
  }
  return Status::OK();
}

std::string FormatOptionValue(const OptionValue& value) {
  struct Visitor {
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
  };
  return std::visit(Visitor{}, value);
}

}  // namespace kiln

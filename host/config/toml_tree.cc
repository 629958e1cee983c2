// The one translation unit that includes toml++.
#include "host/config/toml_tree.h"

#include <algorithm>
#include <exception>
#include <sstream>
#include <string_view>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "host/base/printable.h"

namespace kiln {
namespace {

template <typename T>
std::string Print(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

void Convert(const toml::node& node, TomlNode* out) {
  out->line = static_cast<int>(node.source().begin.line);
  out->column = static_cast<int>(node.source().begin.column);
  switch (node.type()) {
    case toml::node_type::table: {
      out->kind = TomlNode::Kind::kTable;
      for (auto&& [key, value] : *node.as_table()) {
        TomlEntry& e = out->entries.emplace_back();
        e.key = std::string(key.str());
        e.line = static_cast<int>(key.source().begin.line);
        e.column = static_cast<int>(key.source().begin.column);
        Convert(value, &e.value);
      }
      // toml++ keeps keys sorted by name; validators want them as written,
      // so that "the second of two conflicting keys" means what it says.
      std::stable_sort(out->entries.begin(), out->entries.end(), [](const TomlEntry& a, const TomlEntry& b) {
        return a.line != b.line ? a.line < b.line : a.column < b.column;
      });
      break;
    }
    case toml::node_type::array:
      out->kind = TomlNode::Kind::kArray;
      for (const toml::node& item : *node.as_array()) Convert(item, &out->items.emplace_back());
      break;
    case toml::node_type::string:
      out->kind = TomlNode::Kind::kString;
      out->text = node.as_string()->get();
      break;
    case toml::node_type::integer:
      out->kind = TomlNode::Kind::kInteger;
      out->integer = node.as_integer()->get();
      break;
    case toml::node_type::floating_point:
      out->kind = TomlNode::Kind::kFloat;
      out->real = node.as_floating_point()->get();
      break;
    case toml::node_type::boolean:
      out->kind = TomlNode::Kind::kBoolean;
      out->boolean = node.as_boolean()->get();
      break;
    case toml::node_type::date: {
      out->kind = TomlNode::Kind::kDate;
      const toml::date& d = node.as_date()->get();
      out->text = fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
      break;
    }
    case toml::node_type::time:
      out->kind = TomlNode::Kind::kTime;
      out->text = Print(node.as_time()->get());
      break;
    case toml::node_type::date_time:
      out->kind = TomlNode::Kind::kDateTime;
      out->text = Print(node.as_date_time()->get());
      break;
    case toml::node_type::none:
      break;
  }
}

}  // namespace

const char* TomlKindName(TomlNode::Kind kind) {
  switch (kind) {
    case TomlNode::Kind::kString: return "a string";
    case TomlNode::Kind::kInteger: return "an integer";
    case TomlNode::Kind::kFloat: return "a float";
    case TomlNode::Kind::kBoolean: return "a boolean";
    case TomlNode::Kind::kDate: return "a date";
    case TomlNode::Kind::kTime: return "a time";
    case TomlNode::Kind::kDateTime: return "a date-time";
    case TomlNode::Kind::kArray: return "an array";
    case TomlNode::Kind::kTable: return "a table";
  }
  return "a value";
}

Status ParseToml(const std::string& text, TomlNode* root, int* line, int* column) {
  // toml++ reports syntax errors by throwing; nothing may leave the host's
  // modules as an exception, so every throw ends here as a Status.
  try {
    toml::table table = toml::parse(std::string_view(text), std::string_view());
    *root = TomlNode();
    Convert(table, root);
    root->line = 1;
    root->column = 1;
    return Status::OK();
  } catch (const toml::parse_error& e) {
    *line = static_cast<int>(e.source().begin.line);
    *column = static_cast<int>(e.source().begin.column);
    // toml++ quotes what it saw, which can be a raw newline or other
    // control character; the message must stay one line.
    return Status::InvalidArgument(Printable(e.description()));
  } catch (const std::exception& e) {
    *line = 1;
    *column = 1;
    return Status::Internal(fmt::format("reading TOML failed: {}", e.what()));
  } catch (...) {
    *line = 1;
    *column = 1;
    return Status::Internal("reading TOML failed");
  }
}

}  // namespace kiln

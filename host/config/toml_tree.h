// A parsed TOML document as a small plain tree.
//
// toml++ is a large header; only toml_tree.cc includes it. Everything else in
// the config library reads this tree, which keeps what the validators need
// (values, kinds and where each key and value was written) and nothing else.
#ifndef KILN_HOST_CONFIG_TOML_TREE_H_
#define KILN_HOST_CONFIG_TOML_TREE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "host/base/status.h"

namespace kiln {

struct TomlEntry;

struct TomlNode {
  enum class Kind { kString, kInteger, kFloat, kBoolean, kDate, kTime, kDateTime, kArray, kTable };

  Kind kind = Kind::kTable;
  int line = 0;    // where the value begins (for a table: its header)
  int column = 0;
  std::string text;     // kString; kDate as "YYYY-MM-DD"; kTime, kDateTime as TOML writes them
  int64_t integer = 0;  // kInteger
  double real = 0;      // kFloat
  bool boolean = false; // kBoolean
  std::vector<TomlNode> items;     // kArray
  std::vector<TomlEntry> entries;  // kTable, in the order they were written
};

struct TomlEntry {
  std::string key;
  int line = 0;  // where the key was written
  int column = 0;
  TomlNode value;
};

// "a string", "an integer", "an array", ...: for "expected X, found Y".
const char* TomlKindName(TomlNode::Kind kind);

// Parses `text`. On a syntax error returns InvalidArgument with the message
// alone and sets *line and *column to where it was found.
Status ParseToml(const std::string& text, TomlNode* root, int* line, int* column);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_TOML_TREE_H_

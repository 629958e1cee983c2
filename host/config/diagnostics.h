// The problems found in one config file, each tied to where it was written.
//
// Validation goes on after a problem so that a user sees every mistake at
// once. Problems are found section by section (the dependency checks only
// at the end), so they are sorted by position before they are shown.
#ifndef KILN_HOST_CONFIG_DIAGNOSTICS_H_
#define KILN_HOST_CONFIG_DIAGNOSTICS_H_

#include <string>
#include <vector>

#include "host/config/toml_tree.h"

namespace kiln {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void Add(int line, int column, std::string message);
  // At a value (a bad value) or at a key (a key that should not be there).
  void At(const TomlNode& value, std::string message) { Add(value.line, value.column, std::move(message)); }
  void AtKey(const TomlEntry& entry, std::string message) { Add(entry.line, entry.column, std::move(message)); }

  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }
  const std::string& file() const { return file_; }

  // "file:line:col: message" for each problem, in file order; problems at
  // the same place keep the order they were found in.
  std::vector<std::string> Lines() const;

 private:
  struct Problem {
    int line;
    int column;
    std::string message;
  };
  std::string file_;
  std::vector<Problem> problems_;
};

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_DIAGNOSTICS_H_

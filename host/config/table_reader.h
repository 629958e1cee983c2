// Typed, checked access to the keys of one TOML table.
//
// Each getter reports its own problems (wrong type, out of range, bad
// duration, unknown choice) to the Diagnostics, at the value's position, and
// returns true only for a value that is present and good. A missing key is
// not a problem here: defaults and required keys are the caller's business.
#ifndef KILN_HOST_CONFIG_TABLE_READER_H_
#define KILN_HOST_CONFIG_TABLE_READER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/config/diagnostics.h"
#include "host/config/toml_tree.h"

namespace kiln {

class TableReader {
 public:
  // Reports every key of `table` not in `known` as
  //   unknown key 'schedul' in [[processor]] (did you mean 'schedule'?)
  // where `where` is "in [[processor]]", "in [daemon]" or "at the top level".
  TableReader(const TomlNode& table, std::string_view where, const std::vector<std::string>& known,
              Diagnostics* diag);

  // The entry for `key`, or nullptr.
  const TomlEntry* Find(std::string_view key) const;

  bool String(std::string_view key, std::string* out) const;
  bool Boolean(std::string_view key, bool* out) const;
  // An integer in lo..hi: "workers: 0 is out of range 1..256".
  bool Integer(std::string_view key, int64_t lo, int64_t hi, int* out) const;
  // A string read by ParseDuration: "timeout: bad duration '5x': ...".
  bool Duration(std::string_view key, std::chrono::milliseconds* out) const;
  // A string that must be one of `choices`; *index is its position there:
  //   concurrency 'sometimes': expected forbid, allow or replace
  bool Choice(std::string_view key, const std::vector<std::string>& choices, int* index) const;
  // An array of strings; each good element is returned with its node, for
  // its position. Bad elements are reported and left out.
  bool StringArray(std::string_view key, std::vector<const TomlNode*>* out) const;

  // Reports "<key>: expected <what>, found <kind>" unless `node` is `kind`.
  bool Expect(std::string_view key, const TomlNode& node, TomlNode::Kind kind) const;

  Diagnostics* diag() const { return diag_; }

 private:
  const TomlNode& table_;
  Diagnostics* diag_;
};

// "a", "a or b", "a, b or c".
std::string OrList(const std::vector<std::string>& words);

}  // namespace kiln

#endif  // KILN_HOST_CONFIG_TABLE_READER_H_

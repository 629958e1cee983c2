#include "host/config/diagnostics.h"

#include <algorithm>

#include <fmt/format.h>

#include "host/base/printable.h"

namespace kiln {

void Diagnostics::Add(int line, int column, std::string message) {
  // One line per problem, whatever the config quoted: TOML strings and keys
  // can hold any control character ("a\nb"), shown here as '?'.
  problems_.push_back(Problem{line, column, Printable(message)});
}

std::vector<std::string> Diagnostics::Lines() const {
  std::vector<Problem> sorted = problems_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  std::vector<std::string> lines;
  lines.reserve(sorted.size());
  for (const Problem& p : sorted) lines.push_back(fmt::format("{}:{}:{}: {}", file_, p.line, p.column, p.message));
  return lines;
}

}  // namespace kiln

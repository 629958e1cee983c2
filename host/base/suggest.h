// "Did you mean": the closest known word to a misspelt one.
#ifndef KILN_HOST_BASE_SUGGEST_H_
#define KILN_HOST_BASE_SUGGEST_H_

#include <optional>
#include <string>
#include <vector>

namespace kiln {

// The candidate nearest to `word` by edit distance, if within 2 edits.
std::optional<std::string> Suggest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kiln

#endif  // KILN_HOST_BASE_SUGGEST_H_

// Checks and ordering across processors: depends_on must name processors
// that exist, must not loop, and must join like with like (partitioned by
// date or not), since a downstream run for date D waits for its upstream's
// run for D.
#include <map>
#include <set>

#include <fmt/format.h>

#include "host/base/suggest.h"
#include "host/config/sections.h"

namespace kiln {
namespace {

// The first draft of each valid name; later duplicates were reported already.
std::map<std::string, size_t, std::less<>> IndexByName(const std::vector<ProcessorDraft>& drafts) {
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (drafts[i].named) index.emplace(drafts[i].config.name, i);
  }
  return index;
}

class CycleFinder {
 public:
  CycleFinder(const std::vector<ProcessorDraft>& drafts, const std::map<std::string, size_t, std::less<>>& index,
              Diagnostics* diag)
      : drafts_(drafts), index_(index), diag_(diag), color_(drafts.size(), kWhite) {}

  void Run() {
    for (size_t i = 0; i < drafts_.size(); ++i) {
      if (IsFirstOfName(i) && color_[i] == kWhite) Visit(i);
    }
  }

 private:
  enum Color { kWhite, kGray, kBlack };

  bool IsFirstOfName(size_t i) const {
    if (!drafts_[i].named) return false;
    auto it = index_.find(drafts_[i].config.name);
    return it != index_.end() && it->second == i;
  }

  // Depth-first; a dependency on a processor still on the stack closes a
  // cycle, reported at the depends_on entry that closes it. Configs are
  // small, so recursion depth is not a concern.
  void Visit(size_t u) {
    color_[u] = kGray;
    stack_.push_back(u);
    for (const ProcessorDraft::Dependency& d : drafts_[u].depends_on) {
      auto it = index_.find(d.name);
      if (it == index_.end()) continue;  // unknown: reported elsewhere
      const size_t v = it->second;
      if (color_[v] == kGray) {
        std::string path;
        size_t start = 0;
        while (stack_[start] != v) ++start;
        for (size_t k = start; k < stack_.size(); ++k) path += drafts_[stack_[k]].config.name + " -> ";
        path += drafts_[v].config.name;
        diag_->Add(d.line, d.column, fmt::format("dependency cycle: {}", path));
      } else if (color_[v] == kWhite) {
        Visit(v);
      }
    }
    stack_.pop_back();
    color_[u] = kBlack;
  }

  const std::vector<ProcessorDraft>& drafts_;
  const std::map<std::string, size_t, std::less<>>& index_;
  Diagnostics* diag_;
  std::vector<Color> color_;
  std::vector<size_t> stack_;
};

}  // namespace

void CheckDependencies(const std::vector<ProcessorDraft>& drafts, Diagnostics* diag) {
  const auto index = IndexByName(drafts);
  std::vector<std::string> names;
  for (const auto& [name, i] : index) names.push_back(name);

  for (const ProcessorDraft& draft : drafts) {
    for (const ProcessorDraft::Dependency& d : draft.depends_on) {
      auto it = index.find(d.name);
      if (it == index.end()) {
        std::string msg = fmt::format("depends_on: unknown processor '{}'", d.name);
        if (auto s = Suggest(d.name, names)) msg += fmt::format(" (did you mean '{}'?)", *s);
        diag->Add(d.line, d.column, std::move(msg));
        continue;
      }
      const ProcessorConfig& up = drafts[it->second].config;
      const ProcessorConfig& down = draft.config;
      // Only plugins that loaded say whether they are partitioned.
      if (!up.loaded || !down.loaded || up.partitioned == down.partitioned) continue;
      const std::string& partitioned = up.partitioned ? up.name : down.name;
      const std::string& unpartitioned = up.partitioned ? down.name : up.name;
      diag->Add(d.line, d.column,
                fmt::format("depends_on: '{}' is partitioned by date but '{}' is not; a dependency must join "
                            "two partitioned processors, since a run for date D waits for its upstream's run for D",
                            partitioned, unpartitioned));
    }
  }
  CycleFinder(drafts, index, diag).Run();
}

std::vector<ProcessorConfig> OrderByDependencies(std::vector<ProcessorDraft> drafts) {
  // Kahn's algorithm, always taking the earliest ready processor in file
  // order, so that independent processors keep the order they were written in.
  const auto index = IndexByName(drafts);
  std::vector<size_t> waiting(drafts.size(), 0);
  std::vector<std::vector<size_t>> dependents(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    for (const ProcessorDraft::Dependency& d : drafts[i].depends_on) {
      auto it = index.find(d.name);
      if (it == index.end()) continue;
      ++waiting[i];
      dependents[it->second].push_back(i);
    }
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < drafts.size(); ++i) {
    if (waiting[i] == 0) ready.insert(i);
  }
  std::vector<ProcessorConfig> ordered;
  ordered.reserve(drafts.size());
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    ordered.push_back(std::move(drafts[i].config));
    for (size_t j : dependents[i]) {
      if (--waiting[j] == 0) ready.insert(j);
    }
  }
  return ordered;  // complete: the config was checked for cycles
}

}  // namespace kiln

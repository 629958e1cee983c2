#include "host/ledger/run_record.h"

namespace kiln {

namespace {

constexpr const char* kStatusNames[] = {
    "queued", "running", "succeeded", "failed", "timed_out", "cancelled", "abandoned",
};
constexpr const char* kTriggerNames[] = {
    "schedule", "manual", "backfill", "retry", "catchup",
};
constexpr const char* kPhaseNames[kPhaseCount] = {
    "configure", "init", "extract", "validate", "transform", "save", "post_process",
};

template <typename E, size_t N>
bool ParseName(const char* const (&names)[N], std::string_view name, E* out) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const char* RunStatusName(RunStatus s) { return kStatusNames[static_cast<size_t>(s)]; }
bool ParseRunStatus(std::string_view name, RunStatus* out) { return ParseName(kStatusNames, name, out); }
const char* TriggerName(Trigger t) { return kTriggerNames[static_cast<size_t>(t)]; }
bool ParseTrigger(std::string_view name, Trigger* out) { return ParseName(kTriggerNames, name, out); }
const char* PhaseName(Phase p) { return kPhaseNames[static_cast<size_t>(p)]; }

bool IsTerminal(RunStatus s) { return s != RunStatus::kQueued && s != RunStatus::kRunning; }

bool LooksLikePartition(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) return false;
  }
  int month = (s[5] - '0') * 10 + (s[6] - '0');
  int day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

}  // namespace kiln

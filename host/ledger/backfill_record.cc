#include "host/ledger/backfill_record.h"

namespace kiln {

namespace {

constexpr const char* kStateNames[] = {"running", "succeeded", "failed", "cancelled"};
constexpr const char* kReprocessNames[] = {"none", "failed", "all"};
constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error"};

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

}  // namespace

const char* BackfillStateName(BackfillState s) { return kStateNames[static_cast<size_t>(s)]; }
bool ParseBackfillState(std::string_view name, BackfillState* out) { return ParseName(kStateNames, name, out); }
const char* ReprocessName(Reprocess r) { return kReprocessNames[static_cast<size_t>(r)]; }
bool ParseReprocess(std::string_view name, Reprocess* out) { return ParseName(kReprocessNames, name, out); }

bool IsLogLevel(std::string_view level) {
  for (const char* name : kLevelNames) {
    if (level == name) return true;
  }
  return false;
}

}  // namespace kiln

// How ledger records and live state look on the control socket
// (docs/control.md, "Objects").
#ifndef KILN_HOST_DAEMON_JSON_VIEWS_H_
#define KILN_HOST_DAEMON_JSON_VIEWS_H_

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "host/backfill/backfill_manager.h"
#include "host/ledger/ledger.h"
#include "host/runner/runner.h"

namespace kiln {

// "2025-01-20T06:00:00.000Z"
std::string IsoUtc(int64_t unix_ms);
nlohmann::json OptionalTime(const std::optional<int64_t>& unix_ms);

nlohmann::json RunJson(const RunRecord& r);
nlohmann::json ActiveRunJson(const ActiveRun& a);
nlohmann::json BackfillJson(const BackfillProgress& p);
nlohmann::json LogLineJson(const LogLineRecord& l);

}  // namespace kiln

#endif  // KILN_HOST_DAEMON_JSON_VIEWS_H_

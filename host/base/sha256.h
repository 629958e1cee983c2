// SHA-256 of a file, as lowercase hex: how the ledger and `kilnctl status`
// identify exactly which plugin build ran.
#ifndef KILN_HOST_BASE_SHA256_H_
#define KILN_HOST_BASE_SHA256_H_

#include <string>

#include "host/base/status.h"

namespace kiln {

Status Sha256File(const std::string& path, std::string* hex);

}  // namespace kiln

#endif  // KILN_HOST_BASE_SHA256_H_

// Plugin members that need more than the loader does. Kept apart from
// loader.cc so a program that loads plugins but never hashes them (the
// kiln-worker) does not link the hashing library at all.
#include "host/base/sha256.h"
#include "host/loader/plugin.h"

namespace kiln {

const std::string& Plugin::file_hash() const {
  std::call_once(hash_once_, [this] {
    if (!Sha256File(info_.path, &hash_).ok()) hash_.clear();
  });
  return hash_;
}

}  // namespace kiln

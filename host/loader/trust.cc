#include "host/loader/trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

namespace kiln {
namespace {

std::string Owners() {
  const uid_t me = geteuid();
  return me == 0 ? "root" : fmt::format("root or uid {}", me);
}

// Every prefix of an absolute path, from "/" down to the path itself.
std::vector<std::string> Prefixes(const std::filesystem::path& path) {
  std::vector<std::string> out;
  std::filesystem::path at;
  for (const auto& part : path) {
    at /= part;
    out.push_back(at.string());
  }
  return out;
}

// Checks one object the lookup of the plugin passes through. `st` is its
// stat (links followed); `is_target` marks the plugin file itself.
Status CheckOne(const std::string& file, const std::string& name, const struct stat& st, bool is_target) {
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return Status::Refused(fmt::format("{}: refused: untrusted path: {} is owned by uid {}, expected {}", file,
                                       name, st.st_uid, Owners()));
  }
  if (is_target && !S_ISREG(st.st_mode)) {
    return Status::Refused(fmt::format("{}: refused: untrusted path: not a regular file", file));
  }
  const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir) {
    return Status::Refused(fmt::format("{}: refused: untrusted path: {} is {}-writable (mode {:04o})", file, name,
                                       (st.st_mode & S_IWOTH) ? "world" : "group", st.st_mode & 07777));
  }
  return Status::OK();
}

Status CheckChain(const std::string& file, const std::vector<std::string>& chain, bool lexical) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string& name = chain[i];
    struct stat st;
    // A link on the path as written can be re-pointed by its owner: it must
    // be owned as a directory would be. Its target is checked by stat below.
    if (lexical && lstat(name.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0 &&
        st.st_uid != geteuid()) {
      return Status::Refused(fmt::format("{}: refused: untrusted path: link {} is owned by uid {}, expected {}",
                                         file, name, st.st_uid, Owners()));
    }
    if (stat(name.c_str(), &st) != 0) {
      return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
    }
    if (Status s = CheckOne(file, name, st, i + 1 == chain.size()); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

Status CheckTrustedPath(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) return Status::IOError(fmt::format("{}: cannot check: {}", path, ec.message()));
  if (Status s = CheckChain(path, Prefixes(absolute), /*lexical=*/true); !s.ok()) return s;

  char resolved[PATH_MAX];
  if (realpath(absolute.c_str(), resolved) == nullptr) {
    return Status::IOError(fmt::format("{}: cannot check: {}", path, std::strerror(errno)));
  }
  if (absolute == resolved) return Status::OK();
  return CheckChain(path, Prefixes(resolved), /*lexical=*/false);
}

}  // namespace kiln

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

// Checks every prefix in `chain`. One lstat each: a prefix that is not a
// link is what the lookup passes through. A link must be owned like a
// directory (its owner can re-point it), and its target is checked too; then
// *through_link is set, since the file's real location differs from its
// spelling.
Status CheckChain(const std::string& file, const std::vector<std::string>& chain, bool* through_link) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string& name = chain[i];
    struct stat st;
    if (lstat(name.c_str(), &st) != 0) {
      return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
    }
    if (S_ISLNK(st.st_mode)) {
      if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return Status::Refused(fmt::format("{}: refused: untrusted path: link {} is owned by uid {}, expected {}",
                                           file, name, st.st_uid, Owners()));
      }
      *through_link = true;
      if (stat(name.c_str(), &st) != 0) {
        return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
      }
    }
    if (Status s = CheckOne(file, name, st, i + 1 == chain.size()); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

Status CheckTrustedPath(const std::string& path) {
  std::error_code ec;
  // As written, not normalised: "a/link/../b" is looked up through the link.
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot check: {}", path, ec.message()));
  bool indirect = false;
  for (const auto& part : absolute) indirect |= part == "." || part == "..";
  if (Status s = CheckChain(path, Prefixes(absolute), &indirect); !s.ok()) return s;
  // Through a link or a "..", the directories the file really lies in may
  // not be on the path as written: check the resolved path as well.
  if (!indirect) return Status::OK();
  char resolved[PATH_MAX];
  if (realpath(absolute.c_str(), resolved) == nullptr) {
    return Status::IOError(fmt::format("{}: cannot check: {}", path, std::strerror(errno)));
  }
  return CheckChain(path, Prefixes(resolved), &indirect);
}

}  // namespace kiln

#include "host/loader/trust.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
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

// Checks every object the kernel passes through to look up `path`: each
// prefix of the path as written, and, for each link met, every prefix of
// the link's target, recursively (a link's target may itself go through
// links in other directories). One lstat per prefix; a link must be owned
// like a directory (its owner can re-point it). `is_target`: `path` names
// the plugin file itself, which must be a regular file.
Status CheckWalk(const std::string& file, const std::filesystem::path& path, bool is_target, int depth) {
  if (depth > 40) {  // the kernel's own limit is 40 links per lookup
    return Status::IOError(fmt::format("{}: cannot check: too many levels of symbolic links", file));
  }
  const std::vector<std::string> chain = Prefixes(path);
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string& name = chain[i];
    const bool last = i + 1 == chain.size();
    struct stat st;
    if (lstat(name.c_str(), &st) != 0) {
      return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
    }
    if (S_ISLNK(st.st_mode)) {
      if (st.st_uid != 0 && st.st_uid != geteuid()) {
        return Status::Refused(fmt::format("{}: refused: untrusted path: link {} is owned by uid {}, expected {}",
                                           file, name, st.st_uid, Owners()));
      }
      char target[PATH_MAX];
      const ssize_t n = readlink(name.c_str(), target, sizeof(target) - 1);
      if (n < 0) return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
      target[n] = '\0';
      std::filesystem::path resolved(target);
      if (resolved.is_relative()) resolved = std::filesystem::path(name).parent_path() / resolved;
      if (Status s = CheckWalk(file, resolved, false, depth + 1); !s.ok()) return s;
      if (stat(name.c_str(), &st) != 0) {
        return Status::IOError(fmt::format("{}: cannot check: {}: {}", file, name, std::strerror(errno)));
      }
    }
    if (Status s = CheckOne(file, name, st, is_target && last); !s.ok()) return s;
  }
  return Status::OK();
}

}  // namespace

Status CheckTrustedPath(const std::string& path) {
  std::error_code ec;
  // As written, not normalised: "a/link/../b" is looked up through the link,
  // and lstat of each prefix sees what the kernel's lookup sees.
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  if (ec) return Status::IOError(fmt::format("{}: cannot check: {}", path, ec.message()));
  return CheckWalk(path, absolute, /*is_target=*/true, 0);
}

}  // namespace kiln

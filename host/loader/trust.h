// What a Kiln process trusts before it maps a plugin.
//
// A plugin runs with the privileges of the process that loads it, so whoever
// can replace its file, or rename any directory above it, can run code as
// kilnd. As sshd's StrictModes does for authorized_keys, CheckTrustedPath
// refuses a file unless it, and every directory on the way to it, is owned by
// root or by the process's effective user and is not writable by group or
// others.
//
// Two refinements keep that rule exact rather than merely strict:
//  - A directory writable by others but carrying the sticky bit (/tmp) is
//    accepted: there only an entry's owner may rename or remove it, and the
//    entry below it is checked in turn.
//  - Symbolic links are followed as the kernel follows them: a link must
//    itself be owned by root or the user, and every prefix of its target is
//    checked in turn, recursively, so every directory the lookup passes
//    through is covered, including those only a nested link reaches.
//
// Refusals are one line, naming the file and the first thing at fault:
//   /srv/p/x.so: refused: untrusted path: /srv/p is group-writable (mode 0775)
//   /srv/p/x.so: refused: untrusted path: /srv/p/x.so is owned by uid 1001, expected root
#ifndef KILN_HOST_LOADER_TRUST_H_
#define KILN_HOST_LOADER_TRUST_H_

#include <string>

#include "host/base/status.h"

namespace kiln {

// OK if `path` names a regular file that only root or the effective user can
// change, by the rule above. The file must exist.
Status CheckTrustedPath(const std::string& path);

}  // namespace kiln

#endif  // KILN_HOST_LOADER_TRUST_H_

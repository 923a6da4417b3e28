// ReadTrustedFile: reads a file that decides a node's fate (the agent's status file, which
// `slurm-healthcheck` turns into a drain or a resume as root) only when nobody but root, or the
// user this process runs as, can have written it.
//
// Rules, checked on what is actually opened (no check-then-open race):
//   * the file is opened with O_NOFOLLOW (a symbolic link is refused), O_NONBLOCK (a FIFO cannot
//     block), and must be a regular file of at most `max_bytes`;
//   * it is owned by root or by the effective user, and neither group nor others may write it;
//   * every directory from / down to it (after resolving symbolic links in the directory part)
//     is owned by root or by the effective user, and not writable by group or others unless its
//     sticky bit is set (/tmp: others cannot rename or remove what they do not own).
// This is OpenSSH's StrictModes idea for authorized_keys, applied to the whole path.
//
// Failure behaviour: every refusal is an Error saying which rule failed for which path; errno is
// kept (ENOENT for a missing file, so a caller can tell "no agent" from "untrusted").
//
// Thread safety: reentrant.
#pragma once

#include <cstddef>
#include <string>

#include "probes/util/expected.h"

namespace nodehealth::platform {

Expected<std::string> ReadTrustedFile(const std::string& path, std::size_t max_bytes);

// The directory rules above for `dir` itself and every directory above it: the check the agent
// makes of its state directory at start, so an operator learns of a directory that
// `slurm-healthcheck` will refuse when the agent starts, not when a drain is missed.
Expected<bool> CheckTrustedDirectory(const std::string& dir);

}  // namespace nodehealth::platform

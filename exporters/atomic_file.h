// Writes a file so that readers see either the old content or the new, never a half-written one:
// a temporary file in the same directory (".NAME.tmp.XXXXXX"), fsync, rename(2) over the target,
// then fsync of the directory so the rename survives a power loss. On failure the temporary file
// is removed and the target is untouched. A process killed in the middle (SIGKILL, OOM) leaves
// its temporary file behind: RemoveStaleTemporaries is for the next writer.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

// `mode`: the file's permissions (0644 for what other users and exporters read; 0600 for what only
// root may read, e.g. a repair record naming who made it).
Expected<bool> WriteFileAtomically(const std::string& path, std::string_view content,
                                   unsigned mode = 0644);

// Removes the temporary files WriteFileAtomically(path, ...) left behind, those last modified at
// least `min_age` ago (zero: all of them; only for a single writer that knows no other runs).
// Returns how many were removed; errors are ignored (nothing else depends on it).
int RemoveStaleTemporaries(const std::string& path, std::chrono::seconds min_age);

}  // namespace nodehealth

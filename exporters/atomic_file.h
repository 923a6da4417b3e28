// Writes a file so that readers see either the old content or the new, never a half-written one:
// a temporary file in the same directory, fsync, then rename(2) over the target. On failure the
// temporary file is removed and the target is untouched.
#pragma once

#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth {

Expected<bool> WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace nodehealth

// Reads "ttar" text archives, the format prometheus/node_exporter and prometheus/procfs keep their
// sysfs/procfs fixtures in (../shared/fixtures/peer/{node_exporter,procfs}):
//   Directory: <path>            then "Mode: <octal>"
//   Path: <path> / Lines: <n> / <n content lines> / Mode: <octal>
//   Path: <path> / SymlinkTo: <target>
//   "# ..." separator and comment lines
// A content line ending in the literal "EOF" marks a file without a trailing newline there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::testing {

struct TtarEntry {
  enum class Kind { kFile, kDirectory, kSymlink };
  Kind kind = Kind::kFile;
  std::string path;
  std::string content;  // kFile
  std::string target;   // kSymlink
};

// Errors name the line number; nothing is guessed.
Expected<std::vector<TtarEntry>> ParseTtar(std::string_view text);

}  // namespace nodehealth::testing

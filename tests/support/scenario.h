// Scenario files: small TOML descriptions of a test node (tests/fixtures/nodes/*.toml), read by
// the fixture builder (the files of the node) and by the fake NVML library (what NVML answers).
//
// `extends = "other.toml"` merges the named file first (tables merge key by key; any other value
// is replaced). In every string, ${PEER} expands to the peer-data directory
// (NODEHEALTH_PEER_FIXTURES in the environment, else the path CMake configured) and ${HERE} to
// the directory of the file that contains the string.
#pragma once

#include <toml++/toml.h>
#include <string>

#include "probes/util/expected.h"

namespace nodehealth::testing {

Expected<toml::table> LoadScenario(const std::string& path);

std::string PeerFixturesDir();

// Reads a whole file (captures can be a megabyte).
Expected<std::string> ReadWholeFile(const std::string& path);

}  // namespace nodehealth::testing

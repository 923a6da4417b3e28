// <state_dir>/round-memory.json: what the probes' round memories (probes/probe.h RoundMemory)
// have seen, so that a window of counter samples (link_downed, AER, replays) survives a restart
// of the agent. One line of JSON:
//
//   {"schema": "nodehealth-round-memory/1", "boot_id": "...", "probes": {"<probe>": "<text>"}}
//
// where each text is the probe's own RoundMemory::SaveHistory. The counters behind those samples
// restart at boot, so histories saved in another boot are dropped. The file is bounded in size
// (a larger one is an error), read only as a regular file (never a FIFO) and written atomically.
//
// Thread safety: pure functions plus whole-file reads and atomic writes.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "probes/util/expected.h"

namespace nodehealth::agent {

inline constexpr std::string_view kRoundMemoryFileName = "round-memory.json";
inline constexpr std::string_view kRoundMemorySchema = "nodehealth-round-memory/1";
inline constexpr std::size_t kRoundMemoryMaxBytes = 8u << 20;

// Probe name -> its SaveHistory text; empty texts are left out.
using RoundHistories = std::map<std::string, std::string>;

std::string SerializeRoundHistories(std::string_view boot_id, const RoundHistories& histories);

// The histories saved in boot `boot_id`: empty for text of another boot. Wrong JSON, another
// schema or a field of the wrong type is an Error.
Expected<RoundHistories> ParseRoundHistories(std::string_view text, std::string_view boot_id);

// As ParseRoundHistories on the file's content; a missing file yields no histories; any other
// problem is an Error whose message starts with the path.
Expected<RoundHistories> LoadRoundHistories(const std::string& path, std::string_view boot_id);

}  // namespace nodehealth::agent

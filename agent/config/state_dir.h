// Where the agent keeps its state (state.json, status.json) and `slurm-healthcheck` reads the
// agent's verdict and writes its own outcome: one resolution for both.
//
// Thread safety: reentrant (reads $STATE_DIRECTORY).
#pragma once

#include <optional>
#include <string>

#include "agent/config/config.h"
#include "probes/util/expected.h"

namespace nodehealth::agent {

inline constexpr const char* kDefaultStateDir = "/var/lib/nodehealth";

// The state directory: the command-line option, else the config's state_dir, else
// $STATE_DIRECTORY (systemd's StateDirectory=), else /var/lib/nodehealth. Shared by the agent and
// `slurm-healthcheck`, which reads the agent's status file there and writes its own beside it.
// Under --sysroot (a recorded node) it is the option, else SYSROOT/var/lib/nodehealth, and never
// the live node's (an Error): a fixture tried on a production node must not drain it.
Expected<std::string> ResolveStateDir(const std::optional<std::string>& option,
                                      const Config& config, const std::string& sysroot);

// True for "/" (and its spellings): the live node, not a recorded one.
bool IsLiveRoot(const std::string& sysroot);

}  // namespace nodehealth::agent

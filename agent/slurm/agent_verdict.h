// The agent's verdict as `slurm-healthcheck` takes it: from the agent's status file
// (agent/policy/status_file.h) in the agent's state directory, never from the network. The file
// counts only when
//   * platform::ReadTrustedFile accepts it: a regular file that only root (or this user) can have
//     written, in directories only root (or this user) can change;
//   * it is a "nodehealth-status/1" file for this node (host name) and this boot (boot id), so a
//     file left from before a reboot or copied from another node is refused;
//   * now is inside [updated_at - kClockSkewSeconds, valid_until]: an agent that died leaves a
//     file that expires (the fallback check takes over), and a file dated in the future is
//     refused rather than trusted for ever.
// Anything else is an Error saying which rule failed; the caller then runs its fallback check.
//
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "agent/slurm/health_view.h"
#include "probes/util/expected.h"

namespace nodehealth::slurm {

// The largest status file read (a node with hundreds of findings is a few hundred KiB).
inline constexpr std::size_t kMaxStatusFileBytes = 4u << 20;
inline constexpr double kClockSkewSeconds = 300;

struct AgentIdentity {
  std::string node;     // the host name the agent names its reports with (NodeName)
  std::string boot_id;  // /proc/sys/kernel/random/boot_id
};

// Parses and checks a status file's text (no file access).
Expected<HealthView> ParseAgentStatus(std::string_view text, const AgentIdentity& expected,
                                      double now);

// ReadTrustedFile(<state_dir>/status.json), then ParseAgentStatus.
Expected<HealthView> ReadAgentVerdict(const std::string& state_dir, const AgentIdentity& expected,
                                      double now);

}  // namespace nodehealth::slurm

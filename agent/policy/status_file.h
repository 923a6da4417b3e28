// The agent's status file, `<state_dir>/status.json`: the drain decision for people and scripts,
// and the channel through which the agent's verdict reaches `slurm-healthcheck`, which acts on it
// as root. It is written by the agent (root) into its state directory, atomically (temporary name,
// rename), at the end of every round, whenever the decision changes and when the agent stops;
// `slurm-healthcheck` reads it only through platform::ReadTrustedFile (owned by root, nobody else
// can write it or its directories) and only while it is valid for this node and this boot
// (agent/slurm/agent_verdict.h). An unprivileged TCP port is no such channel: anyone can listen
// on it while the agent is down.
//
// Schema "nodehealth-status/1" (fields were only ever added):
//   node, boot_id             the node (host name) and boot it describes
//   updated_at                RFC 3339, and updated_at_unix_seconds
//   valid_until_unix_seconds  after this the agent is presumed gone: nobody may act on the file
//   agent                     {pid, version, round_interval_seconds}
//   drain                     {recommended, action, reasons: [{code, entity, message, action}]}
//   decided_at, sticky, pending   the policy's view (policy_state.h PolicyStatusJson)
//   probes                    [{name, verdict, finished_at, findings: [{code, entity, action}]}]:
//                             the latest run of every probe, so that a resume can wait for the
//                             probe that reported the drain reason to pass again
//   state_error               why state.json could not be written last time ("" when it could)
//
// Thread safety: pure function over values.
#pragma once

#include <string>
#include <vector>

#include "agent/policy/drain_policy.h"

namespace nodehealth::agent {

inline constexpr std::string_view kStatusFileSchema = "nodehealth-status/1";
inline constexpr const char* kStatusFileName = "status.json";

struct StatusFileInput {
  std::string node;
  std::string boot_id;
  const PolicyState& state;
  const std::vector<ProbeSnapshot>& probes;  // latest run of each probe, catalogue order
  double updated_at = 0;                     // Unix seconds
  double valid_seconds = 0;                  // valid_until = updated_at + valid_seconds
  double round_interval_seconds = 0;
  std::string version;
  long pid = 0;
  std::string state_error;
};

std::string RenderStatusFile(const StatusFileInput& input);

}  // namespace nodehealth::agent

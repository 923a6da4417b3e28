// What the Slurm health check does to its node, decided from the node's Slurm state and the
// health verdict; a pure function, so every rule below is tested on values.
//
// Rules (docs/contract.md and docs/slurm.md):
//   * Nodes in a state other than IDLE/MIXED/ALLOCATED, or on their way somewhere (completing,
//     powering up or down, rebooting, not responding, failed), are left alone.
//   * A reason nodehealth did not write ("nodehealth:" prefix) is never overwritten or resumed.
//   * Drain recommended: drain with "nodehealth: <code> <entity>" (the first reason with the
//     highest action, plus " (+N more)"); a node already drained by nodehealth gets its reason
//     updated when the top reason changed.
//   * Not recommended: a node drained by nodehealth is resumed only when the agent says so and
//     the probe that reports the drain reason's code ran and passed again (pass or warn, the
//     finding gone). A one-shot `check` never resumes: it cannot see what the agent holds
//     (sticky faults until reboot, XID windows, noisy faults still counting).
//   * A node drained by nodehealth with the entity kFleetEntity ("nodehealth: <code> fleet",
//     written by `nodehealth slurm-drain` from a test across nodes) is never resumed by the
//     per-node check, which cannot tell alone that a fault found across nodes is gone: an
//     operator resumes it after the repair. A local drain recommendation keeps the fleet reason
//     ("already drained") instead of replacing it.
//   * DecideFleetDrain (`nodehealth slurm-drain`): the same state rules, a foreign reason is never
//     overwritten, a node already drained by nodehealth (for this reason or another) is left as
//     is, anything else is drained with "nodehealth: <code> fleet".
//   * Blast radius: a new drain is suppressed when the node's partitions already have as many
//     nodes drained by nodehealth as the limit allows (BlastRadius), because many nodes failing at
//     once is usually the fabric or a rollout, not the nodes.
//
// Thread safety: pure functions over values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/policy/drain_policy.h"
#include "agent/slurm/health_view.h"
#include "agent/slurm/slurm_node.h"

namespace nodehealth::slurm {

enum class SlurmActionKind { kNone, kDrain, kUpdateReason, kResume, kSuppressed };
std::string_view ToString(SlurmActionKind kind);  // none, drain, update_reason, resume, suppressed

struct SlurmDecision {
  SlurmActionKind kind = SlurmActionKind::kNone;
  std::string reason;  // the Slurm reason for kDrain, kUpdateReason and kSuppressed
  std::string why;     // one line for the log and the status file
};

// "nodehealth: <code> <entity>" of the most severe reason (first in report order among equals),
// with " (+N more)" when there are others. Empty when `view` has no reason.
std::string DrainReasonText(const HealthView& view);

// The entity of a drain found by a test across nodes (mpi-tests/slurm/pairwise.sh's suspects,
// drained by `nodehealth slurm-drain`): "nodehealth: <code> fleet".
inline constexpr std::string_view kFleetEntity = "fleet";

// "nodehealth: <code> fleet".
std::string FleetReasonText(std::string_view code);

struct NodehealthReason {
  std::string code;
  std::string entity;
};
// The code and entity of a reason nodehealth wrote; nullopt for any other text.
std::optional<NodehealthReason> ParseNodehealthReason(std::string_view reason);

// True when the probe(s) that report `code` ran and passed again in `view` and no probe reports
// `code` on `entity` any more; `why` says what was seen either way.
bool FailedProbePassesAgain(const HealthView& view, const NodehealthReason& failed,
                            std::string& why);

// For a `check` run (no agent): keep only the reasons that act on one failing run, as the
// agent's policy would on its first round (noisy codes wait for repeated failures there), with
// [drain.codes.<code>] applied: its rounds, and its action (a finding it lowers below drain is
// dropped, one it raises to drain becomes a reason). Most severe first.
HealthView OneRunView(const HealthView& view, const agent::DrainPolicyConfig& policy);

// `view` with the reasons of [drain.xid.<number>] windows (agent::XidWindowReasons over the
// kernel log's XIDs) added, as the agent's policy adds them: a (code, entity) already listed
// keeps the more severe action. Most severe first.
HealthView WithXidWindowReasons(HealthView view, const std::vector<DrainReason>& window_reasons);

SlurmDecision DecideSlurmAction(const SlurmNode& node, const HealthView& view);

// True when `node` is drained (DRAIN flag) with a nodehealth reason of the same code and entity
// as `reason` (a trailing " (+N more)" aside).
bool IsDrainedFor(const SlurmNode& node, std::string_view reason);

// What `nodehealth slurm-drain` does to `node` for `reason` (FleetReasonText): kDrain, or kNone
// with why not (a state nodehealth does not act on, a reason nodehealth did not set, already
// drained for this reason or, by nodehealth, for another). The blast radius is the caller's.
SlurmDecision DecideFleetDrain(const SlurmNode& node, std::string_view reason);

struct BlastRadiusLimits {
  double max_drained_fraction = 0.1;  // of the partition's nodes, at least one node (0 < f <= 1)
  int max_drained_nodes = 0;          // 0: no count limit
};

struct PartitionLoad {
  std::string partition;
  int nodes = 0;
  int drained_by_nodehealth = 0;  // other nodes drained (or down) with a nodehealth reason
  int limit = 0;                  // how many nodehealth may hold drained at once
};

// The first of `node`'s partitions where nodehealth already holds `limit` or more other nodes
// drained; nullopt when a new drain is allowed. `all` is every node `scontrol show node` lists.
std::optional<PartitionLoad> BlastRadius(const std::vector<SlurmNode>& all, const SlurmNode& node,
                                         const BlastRadiusLimits& limits);

}  // namespace nodehealth::slurm

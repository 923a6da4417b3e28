// The agent's drain policy: a pure function from what the agent knows (the latest result of every
// probe, the XID event history, the previous decision's state) to a drain decision with reasons.
// This is where hysteresis lives (GUIDE.md "How results flow"):
//
//   Which codes are hard and which noisy is the finding catalogue's (CatalogEntry::persistence,
//   probes/finding_catalog.cc); [drain.<code>] overrides it.
//   * hard faults act at once and are sticky: gpu_lost, gpu_row_remap_failure, and gpu_xid findings
//     whose action is reset_gpu or higher (XID 79, 48, 95, ...). A sticky fault stays a reason
//     until the node reboots (boot id changes) or the probe that reported it has decided again (a
//     newer run with a verdict other than error/skip) without reporting it. While the probe errors
//     or times out the fault is held: "cannot tell" never clears a hard fault. A fault that
//     reports an event from a log (gpu_xid: CatalogEntry::reports_event) is released by a reboot
//     only: the log's ring buffer wraps, so a later run that no longer sees the line proves
//     nothing.
//   * "newer run" compares run ids (ProbeSnapshot::run) that only grow, across agent restarts too:
//     PolicyState::last_run_id is persisted and the agent numbers its runs after it.
//   * noisy codes (bandwidth, error counters, probe_error/probe_timeout, thermal, clocks) drain
//     only after `rounds` failing runs of their probe in a row (default
//     DrainPolicyConfig::noisy_rounds); until then they are listed as pending.
//   * every other finding whose action implies draining acts at once and clears with the finding.
//   * XID windows: `count` XIDs of one number on one GPU inside `window_seconds` give `action`,
//     even when the single XID does not drain (XID 31 storms, say).
//   * per-code overrides from the config ([drain.codes.<code>]): action, rounds, sticky.
//
// Thread safety: pure functions over values. Cost: linear in findings plus XID history.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporters/report.h"
#include "probes/action.h"
#include "probes/probe_result.h"

namespace nodehealth {

// report.h's decision types compare by value here, so PolicyState's operator== (persisted state
// round trips, tests) has something to call.
inline bool operator==(const DrainReason& a, const DrainReason& b) {
  return a.code == b.code && a.entity == b.entity && a.message == b.message && a.action == b.action;
}
inline bool operator==(const DrainDecision& a, const DrainDecision& b) {
  return a.recommended == b.recommended && a.action == b.action && a.reasons == b.reasons;
}

}  // namespace nodehealth

namespace nodehealth::agent {

// One XID seen in the kernel log (or from NVML events), as kept in the event history.
struct XidEventRecord {
  std::string boot_id;    // /proc/sys/kernel/random/boot_id when it was seen
  uint64_t sequence = 0;  // kmsg sequence number; 0 when the source has none
  double time = 0;        // Unix time of the event, seconds
  std::string bus_id;     // "0000:19:00.0"; empty when the line names no GPU
  int xid = 0;

  bool operator==(const XidEventRecord&) const = default;
};

// [drain.codes.<code>] in nodehealth.toml.
struct CodeRule {
  std::optional<Action> action;  // replaces the finding's action
  std::optional<int> rounds;     // failing runs in a row before it drains (1 = at once)
  std::optional<bool> sticky;    // held until reboot or until its probe passes again

  bool operator==(const CodeRule&) const = default;
};

// [drain.xid.<number>] in nodehealth.toml.
struct XidWindowRule {
  int count = 1;
  double window_seconds = 3600;
  Action action = Action::kDrain;

  bool operator==(const XidWindowRule&) const = default;
};

struct DrainPolicyConfig {
  int noisy_rounds = 3;                   // [drain] noisy_rounds
  std::map<std::string, CodeRule> codes;  // by finding code
  std::map<int, XidWindowRule> xid_windows;
  double history_seconds = 7 * 24 * 3600;  // XID events older than this are forgotten
  std::size_t history_limit = 10000;       // and at most this many are kept (newest win)

  bool operator==(const DrainPolicyConfig&) const = default;
};

// How the policy treats a finding of `code` reported with `action`, once the config's
// [drain.codes.<code>] rule is applied: the action it drains with, the failing runs in a row it
// needs (noisy codes: noisy_rounds), and whether it is held until a reboot or a passing run.
struct Treatment {
  Action action = Action::kNone;
  int rounds = 1;
  bool sticky = false;
};
Treatment TreatFinding(const DrainPolicyConfig& config, std::string_view code, Action action);

// The default classes (before config overrides), exposed for the docs and the tests.
bool IsHardByDefault(const Finding& finding);
bool IsNoisyByDefault(std::string_view code);

// The latest result of one probe and the id of its run. Run ids only grow, across probes and
// across agent restarts (the agent starts numbering after HighestRunId of the state it loaded):
// an id above the one a fault remembers is a newer run; the same id is the same run evaluated
// again (evaluations also happen between rounds, when kernel-log events arrive).
struct ProbeSnapshot {
  ProbeResult result;
  uint64_t run = 0;
};

// A hard fault held by the policy.
struct StickyFault {
  std::string probe;
  std::string code;
  std::string entity;
  std::string message;
  Action action = Action::kNone;
  double since = 0;       // Unix time first seen
  uint64_t last_run = 0;  // the probe run that last reported it

  bool operator==(const StickyFault&) const = default;
};

// A noisy finding counted towards its threshold.
struct PendingFault {
  std::string probe;
  std::string code;
  std::string entity;
  int failing_runs = 0;   // consecutive runs of `probe` that reported it
  int needed_runs = 0;    // the threshold
  uint64_t last_run = 0;  // the probe run last counted

  bool operator==(const PendingFault&) const = default;
};

// A sticky fault an operator cleared with `nodehealth repair` (repair_record.h), as the agent
// applied it: who verified the node and when. Kept for people (status.json, /report).
struct AppliedRepair {
  std::string probe;
  std::string code;
  std::string entity;
  std::string by;    // the operator's login name
  uint32_t uid = 0;  // and uid
  double at = 0;     // Unix time of the repair (its verification)

  bool operator==(const AppliedRepair&) const = default;
};

// What the policy remembers between evaluations; persisted in the state directory
// (policy_state.h) so a restart neither forgets a hard fault nor counts old XIDs twice.
struct PolicyState {
  std::string boot_id;
  std::vector<StickyFault> sticky;
  std::vector<PendingFault> pending;
  std::vector<XidEventRecord> xid_history;  // oldest first
  uint64_t xid_sequence_seen = 0;  // the highest kmsg sequence of boot_id in xid_history so far
  DrainDecision decision;          // the last decision
  double decided_at = 0;           // Unix time the decision last changed; 0 never
  uint64_t last_run_id = 0;        // the highest run id evaluated so far
  // Per entity ("gpu/<bus id>"): XID events up to this Unix time were acknowledged by a repair.
  // They stay in the kernel log and in xid_history, but no longer make a gpu_xid fault nor count
  // in an XID window; a later XID does (see EvaluateDrainPolicy).
  std::map<std::string, double> xid_repaired_at;
  std::vector<AppliedRepair> repairs;  // the latest applied repairs, oldest first (bounded)

  bool operator==(const PolicyState&) const = default;
};

// The highest run id `state` knows of (last_run_id, or a fault's last_run in a state written
// before last_run_id existed): a restarted agent numbers its runs after it.
uint64_t HighestRunId(const PolicyState& state);

struct PolicyInput {
  std::vector<ProbeSnapshot> probes;     // latest result of each probe that ran
  std::vector<XidEventRecord> new_xids;  // events seen since the previous evaluation
  std::string boot_id;                   // the current boot
  double now = 0;                        // Unix time
};

struct PolicyOutput {
  DrainDecision decision;  // recommended, action, reasons (highest action first)
  double decided_at = 0;   // unchanged from the state when the decision did not change
  bool changed = false;    // recommended, action or the set of (code, entity) reasons changed
  PolicyState state;       // the state for the next evaluation
};

// The [drain.xid.<number>] rules applied to `events` at Unix time `now`: one gpu_xid reason per
// GPU with at least `count` events of the rule's XID since now - window_seconds, with the rule's
// action (rules whose action does not drain give none). Shared by the policy and by
// `slurm-healthcheck`'s fallback check, which reads the events from the kernel log itself.
std::vector<DrainReason> XidWindowReasons(const DrainPolicyConfig& config,
                                          const std::vector<XidEventRecord>& events, double now);

// Adds new_xids to the history (skipping replays: events of this boot whose non-zero kmsg
// sequence is not above xid_sequence_seen), forgets what is older than history_seconds and what
// is over history_limit (oldest first), clears sticky faults of another boot
// (an empty input.boot_id is "unknown" and clears nothing), counts noisy runs, and decides.
// Repairs (PolicyState::xid_repaired_at): a finding of an event code (gpu_xid) on an entity with a
// watermark is ignored unless xid_history holds an event of that entity (and of the finding's XID,
// when its evidence names one) after the watermark; XID windows count only such events there.
PolicyOutput EvaluateDrainPolicy(const DrainPolicyConfig& config, const PolicyInput& input,
                                 const PolicyState& previous);

}  // namespace nodehealth::agent

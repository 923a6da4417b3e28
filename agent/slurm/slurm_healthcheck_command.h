// `nodehealth slurm-healthcheck`: Slurm's HealthCheckProgram (docs/contract.md "Slurm").
//
// Slurm runs it as root, with only SLURMD_NODENAME in the environment and no PATH, and kills it
// after 60 s. It takes the running agent's drain decision from the agent's status file in the
// state directory, which only root can write (agent_verdict.h: never from the agent's TCP port,
// which any local user can listen on while the agent is down); when there is no valid status file
// it runs a bounded passive `check` (unless [slurm] fallback = "none"; its one-run view plus
// [drain.xid.<number>] windows over this boot's kernel log; a probe of it that cannot decide makes
// the run "could not evaluate", never "fit"), reads the node's
// state with scontrol, and drains, updates, resumes or leaves the node as
// slurm_decision.h decides. A new drain that would exceed the blast-radius limit is suppressed.
// Every run logs one line to syslog and stderr and writes `<state_dir>/slurm-healthcheck.json`
// (schema nodehealth-slurm-healthcheck/1, atomically), which the agent exports as metrics.
//
// `--idle-check` only answers whether Slurm has no job on the node (for the deep-check timer's
// ExecCondition=): exit 0 idle, 1 busy, 2 cannot tell; it never changes anything.
//
// Exit status: 0 the node is fit (nothing to do, or resumed); 1 a drain is recommended (drained,
// already drained, left alone because of a foreign reason or state, or suppressed); 2 could not
// evaluate (bad config, no scontrol, Slurm not answering, no agent and no fallback). Slurm only
// logs the status; the action is the scontrol update.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "agent/engine/check_run.h"
#include "probes/util/expected.h"

namespace nodehealth::slurm {

struct SlurmHealthcheckOptions {
  // --config, --profile, --sysroot, --nvml-library, --topology-xml: for the fallback check.
  CheckOptions check;
  std::optional<std::string> node;  // --node; else $SLURMD_NODENAME; else the short hostname
  // --state-dir; else config, $STATE_DIRECTORY, default (config/state_dir.h ResolveStateDir): where
  // the agent's status file is read and slurm-healthcheck.json written.
  std::optional<std::string> state_dir;
  bool dry_run = false;  // decide and report, but never call scontrol update
  bool idle_check = false;
};

struct SlurmHealthcheckResult {
  int exit_code = 0;
  bool must_exit_immediately = false;  // the fallback check left a probe thread behind
};

SlurmHealthcheckResult RunSlurmHealthcheck(const SlurmHealthcheckOptions& options,
                                           std::ostream& out);

// The last run as the agent exports it (docs/slurm.md, metrics), read back from the status file.
struct SlurmOutcomeSummary {
  double at_unix_seconds = 0;
  std::string action;  // none, drain, update_reason, resume, suppressed
  bool suppressed = false;
  bool evaluated = false;  // false when the run could not evaluate (exit 2)
};

inline constexpr const char* kSlurmOutcomeFile = "slurm-healthcheck.json";

// A missing file (the node does not run Slurm's health check) or one of another schema is an
// Error; so is anything unreadable.
Expected<SlurmOutcomeSummary> ReadSlurmOutcome(const std::string& path);

}  // namespace nodehealth::slurm

// What a run will do, decided before any probe starts: the config, the profile, and the probes
// with their timeouts. One plan for `check`, `burnin`, the Slurm fallback check and the agent's
// rounds, so that all of them read --config, --only/--skip, [probes] and the profile the same way.
//
// Selection (docs/contract.md): --only/--skip win over [probes] only/skip; a timeout is the probe's
// own unless [probes.timeout_seconds] names it.
//   * kCheck: passive probes, and active ones only when --only names them (on demand).
//   * kBurnin: every selected probe, passive ones first.
//   * kAgent: passive probes each round, each capped at --timeout; active probes only when
//     [agent] active_probes names them or is empty (then on SIGUSR1 only); a probe whose
//     agent_source is the kernel-log watch is not run but reported by the watch
//     (kernel_log_probe).
//
// Thread safety: pure apart from reading the config and profile files.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"
#include "agent/config/profile_selector.h"
#include "agent/engine/check_run.h"
#include "agent/engine/probe_runner.h"
#include "probes/util/expected.h"

namespace nodehealth {

inline constexpr std::string_view kDefaultNvmlLibrary = "libnvidia-ml.so.1";

enum class RunMode { kCheck, kBurnin, kAgent };

struct RunPlan {
  Config config;
  std::shared_ptr<const Profile> profile;  // null: observe-only
  std::string profile_requested;
  std::string profile_reason;
  std::vector<ScheduledProbe> passive;  // in catalogue order
  std::vector<ScheduledProbe> active;
  const Probe* kernel_log_probe = nullptr;  // kAgent only
};

// Errors (exit 2 for the commands): "invalid config: ...", "unknown probe \"x\" (known: ...)",
// "invalid profile: ...".
Expected<RunPlan> PlanRun(RunMode mode, const CheckOptions& options, const NodeFacts& facts);
// The same with the config already loaded (LoadRunConfig), for a caller that needed it first:
// the file is read once, so every setting of a run comes from the same version of it.
Expected<RunPlan> PlanRun(RunMode mode, const CheckOptions& options, Config config,
                          const NodeFacts& facts);

// The config a plan is made from (--config, else the default path, which need not exist).
Expected<Config> LoadRunConfig(const CheckOptions& options);

}  // namespace nodehealth

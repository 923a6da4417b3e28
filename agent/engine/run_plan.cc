#include "agent/engine/run_plan.h"

#include <algorithm>

#include "probes/all_probes.h"

namespace nodehealth {
namespace {

bool Listed(const std::vector<std::string>& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// The names in `only` and `skip` that name no probe, as an Error listing the known ones.
Expected<bool> CheckProbeNames(const std::vector<std::string>& only,
                               const std::vector<std::string>& skip) {
  for (const auto* list : {&only, &skip}) {
    for (const std::string& name : *list) {
      if (FindProbe(name) != nullptr) continue;
      std::string known;
      for (const auto& p : AllProbes()) {
        known += (known.empty() ? "" : ", ") + std::string(p->info().name);
      }
      return MakeError("unknown probe \"" + name + "\" (known: " + known + ")");
    }
  }
  return true;
}

std::chrono::milliseconds Seconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace

Expected<Config> LoadRunConfig(const CheckOptions& options) {
  Expected<Config> config = LoadConfig(options.config.value_or(std::string(kDefaultConfigPath)),
                                       /*optional=*/!options.config.has_value());
  if (!config) return MakeError("invalid config: " + config.error().message);
  return config;
}

Expected<RunPlan> PlanRun(RunMode mode, const CheckOptions& options, const NodeFacts& facts) {
  Expected<Config> config = LoadRunConfig(options);
  if (!config) return config.error();
  return PlanRun(mode, options, std::move(*config), facts);
}

Expected<RunPlan> PlanRun(RunMode mode, const CheckOptions& options, Config loaded,
                          const NodeFacts& facts) {
  const Config* config = &loaded;
  RunPlan plan;
  const std::vector<std::string> only = options.only.empty() ? config->only : options.only;
  const std::vector<std::string> skip = options.skip.empty() ? config->skip : options.skip;
  if (Expected<bool> known = CheckProbeNames(only, skip); !known) return known.error();

  const std::string requested = options.profile.value_or(config->profile.value_or("auto"));
  Expected<ProfileChoice> choice = ChooseProfile(requested, facts, ProfileSearchPath());
  if (!choice) return MakeError("invalid profile: " + choice.error().message);
  if (choice->profile) plan.profile = std::make_shared<const Profile>(std::move(*choice->profile));
  plan.profile_requested = choice->requested;
  plan.profile_reason = choice->reason;

  const std::vector<std::string>& agent_active = config->agent.active_probes;
  for (const auto& probe : AllProbes()) {
    const ProbeInfo& info = probe->info();
    const bool named = Listed(only, info.name);
    if (!(only.empty() ? !Listed(skip, info.name) : named)) continue;
    std::chrono::milliseconds timeout = info.timeout;
    if (auto it = config->probe_timeout_seconds.find(std::string(info.name));
        it != config->probe_timeout_seconds.end()) {
      timeout = Seconds(it->second);
    }
    const ScheduledProbe scheduled{probe.get(), timeout};
    if (mode == RunMode::kAgent && info.agent_source == AgentSource::kKernelLogWatch) {
      plan.kernel_log_probe = probe.get();  // the watch stands for it
    } else if (info.kind == ProbeKind::kPassive) {
      plan.passive.push_back(scheduled);
      // --timeout caps each of the agent's passive probes: a round never takes longer.
      if (mode == RunMode::kAgent) {
        plan.passive.back().timeout = std::min(timeout, Seconds(options.timeout_seconds));
      }
    } else if (mode == RunMode::kBurnin || (mode == RunMode::kCheck && named) ||
               (mode == RunMode::kAgent &&
                (agent_active.empty() || Listed(agent_active, info.name)))) {
      // Active probes load the hardware: `check` runs them on demand only, the agent on SIGUSR1
      // or every active_interval_seconds when the config names them.
      plan.active.push_back(scheduled);
    }
  }
  plan.config = std::move(loaded);
  return plan;
}

}  // namespace nodehealth

#include "agent/engine/check_run.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <memory>

#include "agent/config/config.h"
#include "agent/config/profile_selector.h"
#include "agent/engine/probe_runner.h"
#include "agent/policy/report_support.h"
#include "probes/all_probes.h"
#include "probes/platform/nvml_runtime.h"

#ifndef NODEHEALTH_VERSION
#define NODEHEALTH_VERSION "0.0.0"
#endif

namespace nodehealth {
namespace {

constexpr std::string_view kDefaultNvmlLibrary = "libnvidia-ml.so.1";

// What the probes of one run read. Heap-held so that a run with an abandoned probe thread can
// keep it alive until the process ends (the header's ownership rule).
struct CheckEnvironment {
  explicit CheckEnvironment(const std::string& sysroot, const std::string& nvml_library)
      : fs(sysroot), nvml(nvml_library) {}
  platform::RootedFileSystem fs;
  platform::NvmlRuntime nvml;
  NodeInventory inventory;
  std::optional<Profile> profile;
};

// One line for people: what the node has, in the terms the probes judged it.
std::string Summary(const NodeInventory& inventory, const Profile* profile, const Report& report) {
  std::string out;
  const bool gpu_probe_ran =
      std::any_of(report.probes.begin(), report.probes.end(), [](const ProbeResult& p) {
        const Probe* probe = FindProbe(p.name);
        return probe && probe->info().subject == ProbeSubject::kGpu &&
               p.verdict != ProbeVerdict::kSkip;
      });
  if (!inventory.HasNvidiaSigns() && !gpu_probe_ran) {
    const int expected = profile ? profile->gpu.count.value_or(0) : 0;
    out =
        "No NVIDIA GPU found on this node (no NVIDIA display device on PCI, no nvidia module, "
        "no /dev/nvidia*)";
    out += expected > 0 ? ", but the profile expects " + std::to_string(expected) + "."
                        : ", and the profile expects none: nothing GPU-related to check.";
  } else {
    const std::size_t gpus = inventory.PciGpus().size();
    out = std::to_string(gpus) + " NVIDIA GPU" + (gpus == 1 ? "" : "s") + " on PCI.";
  }
  for (const ProbeResult& result : report.probes) {
    const Probe* probe = FindProbe(result.name);
    if (probe == nullptr) continue;
    if (const std::string sentence = probe->Summarize(result); !sentence.empty()) {
      out.append(" ").append(sentence);
    }
  }
  return out;
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

// The probes this run runs, with their timeouts: `check` runs active probes only when --only
// names them (on demand); `burnin` runs them all.
std::vector<ProbeRun> SelectRuns(const CheckOptions& options, const Config& config,
                                 const std::vector<std::string>& only,
                                 const std::vector<std::string>& skip) {
  std::vector<ProbeRun> runs;
  for (const auto& probe : AllProbes()) {
    const ProbeInfo& info = probe->info();
    const std::string name(info.name);
    const bool named = std::find(only.begin(), only.end(), name) != only.end();
    const bool selected =
        only.empty() ? std::find(skip.begin(), skip.end(), name) == skip.end() : named;
    if (!selected || (info.kind == ProbeKind::kActive && options.mode == "check" && !named)) {
      continue;
    }
    std::chrono::milliseconds timeout = info.timeout;
    if (auto it = config.probe_timeout_seconds.find(name);
        it != config.probe_timeout_seconds.end()) {
      timeout = std::chrono::milliseconds(static_cast<int64_t>(it->second * 1000));
    }
    runs.push_back({probe.get(), timeout});
  }
  return runs;
}

}  // namespace

Expected<CheckRun> RunCheckOnce(const CheckOptions& options) {
  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  double timeout_seconds = options.timeout_seconds;

  Expected<Config> config = LoadConfig(options.config.value_or(std::string(kDefaultConfigPath)),
                                       /*optional=*/!options.config.has_value());
  if (!config) return MakeError("invalid config: " + config.error().message);

  // Probe selection: command line over config.
  const std::vector<std::string> only = options.only.empty() ? config->only : options.only;
  const std::vector<std::string> skip = options.skip.empty() ? config->skip : options.skip;
  if (Expected<bool> known = CheckProbeNames(only, skip); !known) return known.error();

  auto environment = std::make_shared<CheckEnvironment>(
      options.sysroot, options.nvml_library.value_or(
                           config->nvml_library.value_or(std::string(kDefaultNvmlLibrary))));
  environment->inventory = GatherNodeInventory(environment->fs);
  const NodeFacts facts = GatherNodeFacts(environment->fs, environment->inventory);
  const std::string requested = options.profile.value_or(config->profile.value_or("auto"));
  Expected<ProfileChoice> choice = ChooseProfile(requested, facts, ProfileSearchPath());
  if (!choice) return MakeError("invalid profile: " + choice.error().message);
  environment->profile = std::move(choice->profile);
  const Profile* profile = environment->profile ? &*environment->profile : nullptr;

  // A burn-in without --timeout runs within the profile's budget.
  if (options.mode == "burnin" && !options.timeout_given && profile &&
      profile->burnin.timeout_seconds) {
    timeout_seconds = *profile->burnin.timeout_seconds;
  }
  if (options.arm_hard_deadline) options.arm_hard_deadline(timeout_seconds + 4);
  const platform::Deadline run_deadline = platform::Deadline::At(
      started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(timeout_seconds)));

  ProbeContext context{.fs = environment->fs,
                       .nvml = &environment->nvml,
                       .profile = profile,
                       .inventory = environment->inventory,
                       .deadline = run_deadline,
                       .topology_xml = options.topology_xml.value_or(""),
                       .topology_baseline = config->topology_baseline.value_or(""),
                       .mpi_allreduce_ranks = config->mpi_allreduce_ranks};
  // Passive probes first, active ones after them: a burn-in judges a node's load tests only once
  // its inventory is known, and load never distorts a passive reading.
  std::vector<ProbeRun> passive, active;
  for (const ProbeRun& r : SelectRuns(options, *config, only, skip)) {
    (r.probe->info().kind == ProbeKind::kPassive ? passive : active).push_back(r);
  }
  RunOutcome run = RunProbes(passive, context);
  if (!active.empty()) {
    RunOutcome second = RunProbes(active, context);
    std::move(second.results.begin(), second.results.end(), std::back_inserter(run.results));
    run.abandoned += second.abandoned;
  }
  ApplyActionOverrides(config->action_overrides, run.results);

  CheckRun result;
  Report& report = result.report;
  report.node = NodeName(environment->fs);
  report.mode = options.mode;
  if (profile) report.profile = profile->name;
  report.profile_requested = choice->requested;
  report.profile_reason = choice->reason;
  report.started_at = started_wall;
  report.probes = std::move(run.results);
  report.version = NODEHEALTH_VERSION;
  Decide(report);
  report.summary = Summary(environment->inventory, profile, report);
  report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.must_exit_immediately = run.abandoned > 0 || environment->nvml.wedged();
  if (result.must_exit_immediately) {
    // A probe thread or NVML call still uses the environment: never destroyed (header).
    new std::shared_ptr<CheckEnvironment>(environment);
  }
  return result;
}

}  // namespace nodehealth

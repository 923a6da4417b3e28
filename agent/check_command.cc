#include "agent/check_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ostream>
#include <set>

#include "agent/config.h"
#include "agent/probe_runner.h"
#include "agent/profile_selector.h"
#include "agent/report_support.h"
#include "exporters/atomic_file.h"
#include "exporters/json_report.h"
#include "exporters/prometheus_text.h"
#include "exporters/table_report.h"
#include "probes/all_probes.h"
#include "probes/platform/sysfs_values.h"

#ifndef NODEHEALTH_VERSION
#define NODEHEALTH_VERSION "0.0.0"
#endif

namespace nodehealth {
namespace {

constexpr std::string_view kDefaultNvmlLibrary = "libnvidia-ml.so.1";

// One line for people: what the node has, in the terms the probes judged it.
std::string Summary(const NodeInventory& inventory, const Profile* profile, const Report& report) {
  const bool gpu_probe_ran =
      std::any_of(report.probes.begin(), report.probes.end(), [](const ProbeResult& p) {
        return p.name.starts_with("gpu_") && p.verdict != ProbeVerdict::kSkip;
      });
  std::string out;
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
  for (const ProbeResult& probe : report.probes) {
    if (probe.name != "ib_ports" || probe.verdict == ProbeVerdict::kSkip) continue;
    int ports = 0;
    for (const Measurement& m : probe.measurements) ports += m.name == "ib_port_info" ? 1 : 0;
    for (const Measurement& m : probe.measurements) {
      if (m.name == "ib_rails_active") {
        // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict, GCC bug 105329)
        // about `" " + std::to_string(...)`.
        out += ' ';
        out += std::to_string(ports) + " RDMA port" + (ports == 1 ? "" : "s") + ", " +
               std::to_string(static_cast<int>(m.value)) + " active rail" +
               (m.value == 1 ? "" : "s") + ".";
      }
    }
  }
  return out;
}

}  // namespace

CheckResult RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  CheckResult outcome;
  const auto started_wall = std::chrono::system_clock::now();
  const auto started = std::chrono::steady_clock::now();
  double timeout_seconds = options.timeout_seconds;

  Expected<Config> config = LoadConfig(options.config.value_or(std::string(kDefaultConfigPath)),
                                       /*optional=*/!options.config.has_value());
  if (!config) {
    err << "nodehealth: invalid config: " << config.error().message << "\n";
    outcome.exit_code = 2;
    return outcome;
  }

  // Probe selection: command line over config.
  std::vector<std::string> only = options.only.empty() ? config->only : options.only;
  std::vector<std::string> skip = options.skip.empty() ? config->skip : options.skip;
  for (const auto* list : {&only, &skip}) {
    for (const std::string& name : *list) {
      if (FindProbe(name) == nullptr) {
        std::string known;
        for (const auto& p : AllProbes())
          known += (known.empty() ? "" : ", ") + std::string(p->info().name);
        err << "nodehealth: unknown probe \"" << name << "\" (known: " << known << ")\n";
        outcome.exit_code = 2;
        return outcome;
      }
    }
  }

  platform::RootedFileSystem fs(options.sysroot);
  const NodeInventory inventory = GatherNodeInventory(fs);
  const NodeFacts facts = GatherNodeFacts(fs, inventory);
  const std::string requested = options.profile.value_or(config->profile.value_or("auto"));
  Expected<ProfileChoice> choice = ChooseProfile(requested, facts, ProfileSearchPath());
  if (!choice) {
    err << "nodehealth: invalid profile: " << choice.error().message << "\n";
    outcome.exit_code = 2;
    return outcome;
  }

  // A burn-in without --timeout runs within the profile's budget.
  if (options.mode == "burnin" && !options.timeout_given && choice->profile &&
      choice->profile->burnin.timeout_seconds) {
    timeout_seconds = *choice->profile->burnin.timeout_seconds;
  }
  if (options.arm_hard_deadline) options.arm_hard_deadline(timeout_seconds + 4);
  const platform::Deadline run_deadline = platform::Deadline::At(
      started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(timeout_seconds)));

  platform::NvmlRuntime nvml(options.nvml_library.value_or(
      config->nvml_library.value_or(std::string(kDefaultNvmlLibrary))));
  std::vector<ProbeRun> runs;
  for (const auto& probe : AllProbes()) {
    const ProbeInfo& info = probe->info();
    const std::string name(info.name);
    const bool selected = only.empty() ? std::find(skip.begin(), skip.end(), name) == skip.end()
                                       : std::find(only.begin(), only.end(), name) != only.end();
    // `check` runs active probes only when --only names them (on demand); `burnin` runs them all.
    const bool named = std::find(only.begin(), only.end(), name) != only.end();
    if (!selected || (info.kind == ProbeKind::kActive && options.mode == "check" && !named)) {
      continue;
    }
    std::chrono::milliseconds timeout = info.timeout;
    if (auto it = config->probe_timeout_seconds.find(name);
        it != config->probe_timeout_seconds.end()) {
      timeout = std::chrono::milliseconds(static_cast<int64_t>(it->second * 1000));
    }
    runs.push_back({probe.get(), timeout});
  }

  const Profile* profile = choice->profile ? &*choice->profile : nullptr;
  ProbeContext context{.fs = fs,
                       .nvml = &nvml,
                       .profile = profile,
                       .inventory = inventory,
                       .deadline = run_deadline,
                       .topology_xml = options.topology_xml.value_or(""),
                       .topology_baseline = config->topology_baseline.value_or(""),
                       .mpi_allreduce_ranks = config->mpi_allreduce_ranks};
  // Passive probes first, active ones after them: a burn-in judges a node's load tests only once
  // its inventory is known, and load never distorts a passive reading.
  std::vector<ProbeRun> passive, active;
  for (const ProbeRun& r : runs) {
    (r.probe->info().kind == ProbeKind::kPassive ? passive : active).push_back(r);
  }
  RunOutcome run = RunProbes(passive, context);
  if (!active.empty()) {
    RunOutcome second = RunProbes(active, context);
    std::move(second.results.begin(), second.results.end(), std::back_inserter(run.results));
    run.abandoned += second.abandoned;
  }
  ApplyActionOverrides(config->action_overrides, run.results);

  Report report;
  report.node = NodeName(fs);
  report.mode = options.mode;
  if (profile) report.profile = profile->name;
  report.profile_requested = choice->requested;
  report.profile_reason = choice->reason;
  report.started_at = started_wall;
  report.probes = std::move(run.results);
  report.version = NODEHEALTH_VERSION;
  Decide(report);
  report.summary = Summary(inventory, profile, report);
  report.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const std::string json = RenderJsonReport(report);
  std::string format = options.format;
  if (format.empty()) format = ::isatty(STDOUT_FILENO) ? "table" : "json";
  out << (format == "json" ? json : RenderTableReport(report));
  out.flush();

  outcome.exit_code = report.drain.recommended ? 1 : 0;
  // A run killed mid-write (SIGKILL, OOM, a node rebooted under a burn-in) leaves its temporary
  // beside the target; a file untouched for a minute belongs to no live writer.
  constexpr std::chrono::seconds kStaleTemporaryAge(60);
  if (options.output) {
    RemoveStaleTemporaries(*options.output, kStaleTemporaryAge);
    Expected<bool> written = WriteFileAtomically(*options.output, json);
    if (!written) {
      err << "nodehealth: " << written.error().message << "\n";
      // A drain recommendation outranks the I/O failure: scripts act on 1 first.
      if (outcome.exit_code == 0) outcome.exit_code = 2;
    }
  }
  if (options.textfile_dir) {
    // Written to a temporary name in the directory and renamed: the collector never reads half.
    const std::string path = *options.textfile_dir + "/" + kBurninTextfileName;
    // node_exporter skips a killed run's temporary (its name does not end in ".prom"), but
    // without this it would stay in the collector's directory forever.
    RemoveStaleTemporaries(path, kStaleTemporaryAge);
    Expected<bool> written = WriteFileAtomically(path, RenderPrometheusText(report));
    if (!written) {
      err << "nodehealth: " << written.error().message << "\n";
      if (outcome.exit_code == 0) outcome.exit_code = 2;
    }
  }
  outcome.must_exit_immediately = run.abandoned > 0 || nvml.wedged();
  return outcome;
}

}  // namespace nodehealth

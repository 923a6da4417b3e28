#include "agent/engine/report_assembly.h"

#include <algorithm>

#include "probes/all_probes.h"

#ifndef NODEHEALTH_VERSION
#define NODEHEALTH_VERSION "0.0.0"
#endif

namespace nodehealth {

std::string_view NodehealthVersion() { return NODEHEALTH_VERSION; }

Report AssembleReport(const ReportHeading& heading, std::vector<ProbeResult> probes) {
  Report report;
  report.node = heading.node;
  report.mode = heading.mode;
  if (heading.plan.profile) report.profile = heading.plan.profile->name;
  report.profile_requested = heading.plan.profile_requested;
  report.profile_reason = heading.plan.profile_reason;
  report.started_at = heading.started_at;
  report.duration_seconds = heading.duration_seconds;
  report.version = std::string(NodehealthVersion());
  report.probes = std::move(probes);
  Decide(report);
  return report;
}

std::string SummarizeNode(const NodeInventory& inventory, const Profile* profile,
                          const Report& report) {
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

}  // namespace nodehealth

#include "agent/bundle/bundle_summary.h"

#include <set>

#include "agent/policy/policy_state.h"

namespace nodehealth::bundle {
namespace {

std::string CloudLine(const CloudIdentity& cloud) {
  if (cloud.provider.empty()) return "Cloud: none answered (not a cloud VM, or metadata off)\n";
  // The keys support uses to find the VM, in the order their consoles show them.
  const std::vector<const char*> keys =
      cloud.provider == "azure"
          ? std::vector<const char*>{"vmId",
                                     "vmSize",
                                     "subscriptionId",
                                     "resourceGroupName",
                                     "name",
                                     "location",
                                     "zone"}
          : std::vector<const char*>{"project-id", "zone", "id", "name", "machine-type"};
  std::string line = cloud.provider == "azure" ? "Cloud: Azure" : "Cloud: Google Cloud";
  for (const char* key : keys) {
    const auto it = cloud.fields.find(key);
    if (it != cloud.fields.end() && !it->second.empty()) line += " " + it->first + "=" + it->second;
  }
  return line + "\n";
}

const GpuIdentity* FindGpu(const std::vector<GpuIdentity>& gpus, std::string_view bus_id) {
  for (const GpuIdentity& gpu : gpus) {
    if (gpu.bus_id == bus_id) return &gpu;
  }
  return nullptr;
}

std::string OrUnknown(const std::string& value) { return value.empty() ? "(unknown)" : value; }

}  // namespace

std::string RenderSummary(const SummaryInput& in) {
  std::string out = "nodehealth support bundle\n";
  out += "Node: " + in.node + "\n";
  out += "Created: " + in.created_at + " by nodehealth " + in.version + "\n";
  out += CloudLine(in.cloud);

  std::set<std::string> gpu_entities;
  if (in.report != nullptr) {
    const Report& r = *in.report;
    out += "Verdict: " + std::string(ToString(r.verdict)) + "\n";
    out += "Drain: " +
           (r.drain.recommended ? "recommended, action " + std::string(ToString(r.drain.action))
                                : std::string("not recommended")) +
           "\n";
    if (!r.drain.reasons.empty()) out += "Drain reasons:\n";
    for (const DrainReason& reason : r.drain.reasons) {
      out += "  - " + reason.code + " " + reason.entity + ": " + reason.message + "\n";
      if (reason.entity.starts_with("gpu/")) gpu_entities.insert(reason.entity);
    }
  } else {
    out += "Verdict: unknown (the check could not run: " + in.check_error + ")\n";
  }
  for (const agent::StickyFault& fault : in.sticky) {
    if (fault.entity.starts_with("gpu/")) gpu_entities.insert(fault.entity);
  }
  if (!gpu_entities.empty()) out += "Affected GPUs:\n";
  for (const std::string& entity : gpu_entities) {
    const std::string bus_id = entity.substr(4);
    out += "  - " + entity;
    if (const GpuIdentity* gpu = FindGpu(in.gpus, bus_id)) {
      out += " serial " + OrUnknown(gpu->serial) + " uuid " + OrUnknown(gpu->uuid) + " " +
             OrUnknown(gpu->name);
    } else {
      out += " (not seen by NVML)";
    }
    out += "\n";
  }

  out += "Kernel: " + OrUnknown(in.versions.kernel) + "\n";
  std::string driver = in.versions.driver_nvml;
  if (driver.empty()) driver = in.versions.driver_module;
  out += "NVIDIA driver: " + OrUnknown(driver) + "\n";
  out += "CUDA (driver): " + OrUnknown(in.versions.cuda) + "\n";

  if (in.sticky.empty()) {
    out += "First seen: " + (in.state_note.empty() ? "no fault held by the agent" : in.state_note) +
           "\n";
  } else {
    out += "First seen (agent state):\n";
    for (const agent::StickyFault& fault : in.sticky) {
      out += "  - " + fault.code + " " + fault.entity + " since " +
             agent::UnixRfc3339(fault.since) + "\n";
    }
  }
  return out;
}

}  // namespace nodehealth::bundle

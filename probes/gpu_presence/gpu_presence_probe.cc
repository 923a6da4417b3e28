#include "probes/gpu_presence/gpu_presence_probe.h"

#include <algorithm>
#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/gpu_common/gpu_models.h"
#include "probes/gpu_presence/source_sets.h"

namespace nodehealth {
namespace {

namespace nvml = platform::nvml;
using platform::PciDevice;

constexpr std::string_view kPciSource = "/sys/bus/pci/devices";

Measurement GpuCount(std::string_view source, double value) {
  return {"gpus", {{"source", std::string(source)}}, value};
}

// NVML's checks: every PCI GPU opened by NVML, every NVML GPU on PCI, every NVML GPU with its
// device node.
void CompareWithNvml(const NodeInventory& inventory, const std::vector<PciDevice>& pci_gpus,
                     const GpuPresenceNvmlView& view, ProbeResult& result) {
  const NvmlGpuList& list = view.list;
  if (list.count_return != nvml::kSuccess) {
    MarkUndecided(
        result, codes::kProbeError, "node",
        "nvmlDeviceGetCount failed: " + DescribeNvmlReturn(list.count_return),
        {{"nvml", "nvmlDeviceGetCount: " + DescribeNvmlReturn(list.count_return), "NVML_SUCCESS"}});
    return;
  }
  const auto opened = std::count_if(list.gpus.begin(), list.gpus.end(),
                                    [](const NvmlGpu& g) { return g.opened(); });
  result.measurements.push_back(GpuCount("nvml", static_cast<double>(opened)));

  // PCI GPUs NVML did not list by index. An index NVML could not open is most likely one of them,
  // already named by its bus id; only indices beyond that count are reported on their own.
  int named_by_bus_id = 0;
  std::set<std::string> pci_ids;
  for (const PciDevice& device : pci_gpus) {
    pci_ids.insert(device.bus_id);
    if (list.FindByBusId(device.bus_id) != nullptr) continue;
    const auto lookup = view.pci_lookup.find(device.bus_id);
    const nvml::Return r = lookup == view.pci_lookup.end() ? nvml::kErrorNotFound : lookup->second;
    if (r == nvml::kSuccess) continue;  // opened by bus id though not by index: present
    ++named_by_bus_id;
    const std::string call =
        "nvmlDeviceGetHandleByPciBusId(" + device.bus_id + "): " + DescribeNvmlReturn(r);
    if (r == nvml::kErrorGpuIsLost) {
      result.findings.push_back(MakeFinding(
          codes::kGpuLost, GpuEntity(device.bus_id),
          "NVML reports GPU " + device.bus_id + " lost (fallen off the bus)",
          {{"nvml", call, "NVML_SUCCESS"}, {std::string(kPciSource), "present", "present"}}));
    } else {
      result.findings.push_back(
          MakeFinding(codes::kGpuMissing, GpuEntity(device.bus_id),
                      "GPU " + device.bus_id + " is on PCI but NVML cannot open it",
                      {{std::string(kPciSource),
                        "present (" + GpuModelNameOrId(device.device) + ")", "present"},
                       {"nvml", call, "NVML_SUCCESS"}}));
    }
  }

  for (const NvmlGpu& gpu : list.gpus) {
    const std::string index = "NVML index " + std::to_string(gpu.index);
    if (!gpu.opened()) {
      if (named_by_bus_id > 0) {
        --named_by_bus_id;
        continue;
      }
      const bool lost = gpu.handle_return == nvml::kErrorGpuIsLost;
      result.findings.push_back(
          MakeFinding(lost ? codes::kGpuLost : codes::kGpuMissing, "node",
                      index + " cannot be opened: " + DescribeNvmlReturn(gpu.handle_return),
                      {{"nvml",
                        "nvmlDeviceGetHandleByIndex(" + std::to_string(gpu.index) +
                            "): " + DescribeNvmlReturn(gpu.handle_return),
                        "NVML_SUCCESS"}}));
      continue;
    }
    if (gpu.identity_return == nvml::kErrorGpuIsLost) {
      result.findings.push_back(MakeFinding(
          codes::kGpuLost, gpu.bus_id.empty() ? "node" : GpuEntity(gpu.bus_id),
          "NVML reports " + (gpu.bus_id.empty() ? index : "GPU " + gpu.bus_id) + " lost",
          {{"nvml", "identity query: " + DescribeNvmlReturn(gpu.identity_return),
            "NVML_SUCCESS"}}));
      continue;
    }
    if (gpu.bus_id.empty()) continue;
    // An NVIDIA function whose class could not be read may be this GPU: probe_error covers it.
    const bool unclassified =
        inventory.nvidia_pci &&
        std::any_of(
            inventory.nvidia_pci->devices.begin(), inventory.nvidia_pci->devices.end(),
            [&](const PciDevice& d) { return d.bus_id == gpu.bus_id && d.class_code == 0; });
    if (inventory.nvidia_pci && inventory.nvidia_pci->unreadable.empty() && !unclassified &&
        !pci_ids.contains(gpu.bus_id)) {
      result.findings.push_back(
          MakeFinding(codes::kGpuMissing, GpuEntity(gpu.bus_id),
                      "NVML reports GPU " + gpu.bus_id + " but it is not on PCI (sysfs)",
                      {{"nvml", gpu.name + " at " + gpu.bus_id, ""},
                       {std::string(kPciSource), "absent", "present"}}));
    }
    if (gpu.minor && inventory.dev_minors) {
      const auto& minors = *inventory.dev_minors;
      if (std::find(minors.begin(), minors.end(), *gpu.minor) == minors.end()) {
        const std::string node = "/dev/nvidia" + std::to_string(*gpu.minor);
        result.findings.push_back(MakeFinding(
            codes::kGpuMissing, GpuEntity(gpu.bus_id),
            "GPU " + gpu.bus_id + " has no device node " + node + ": jobs cannot open it",
            {{node, "absent", "present (NVML minor number " + std::to_string(*gpu.minor) + ")"}}));
      }
    }
  }
}

// The profile's count of GPUs of its model, against PCI.
void CompareWithProfile(const std::vector<PciDevice>& pci_gpus,
                        const std::optional<GpuPresenceNvmlView>& nvml, const GpuExpectations& gpu,
                        ProbeResult& result) {
  std::vector<std::string> matching;
  std::vector<std::string> other_models;
  for (const PciDevice& device : pci_gpus) {
    std::string name = GpuModelNameOrId(device.device);
    if (nvml && nvml->startup.ready()) {
      if (const NvmlGpu* g = nvml->list.FindByBusId(device.bus_id); g && !g->name.empty()) {
        name = g->name;
      }
    }
    if (!gpu.model || name.find(*gpu.model) != std::string::npos) {
      matching.push_back(device.bus_id);
    } else {
      other_models.push_back(device.bus_id + " " + name);
    }
  }
  const int expected = *gpu.count;
  if (static_cast<int>(matching.size()) >= expected) return;
  const std::string what = gpu.model ? *gpu.model + " GPUs" : "GPUs";
  std::string message = "expected " + std::to_string(expected) + " " + what + ", found " +
                        std::to_string(matching.size()) + " on PCI";
  if (!other_models.empty())
    message += " (other models present: " + JoinLimited(other_models) + ")";
  result.findings.push_back(MakeFinding(
      codes::kGpuMissing, "node", std::move(message),
      {{std::string(kPciSource),
        std::to_string(matching.size()) + (matching.empty() ? "" : ": " + JoinLimited(matching)),
        std::to_string(expected) + (gpu.model ? " x " + *gpu.model : "")}}));
}

}  // namespace

ProbeResult EvaluateGpuPresence(const NodeInventory& inventory, const Profile* profile,
                                const std::optional<GpuPresenceNvmlView>& nvml) {
  ProbeResult result;
  result.name = "gpu_presence";
  if (!inventory.nvidia_pci) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot scan PCI devices: " + inventory.nvidia_pci.error().message,
                  {{std::string(kPciSource), inventory.nvidia_pci.error().message, "readable"}});
    return result;
  }
  const std::vector<PciDevice> pci_gpus = inventory.PciGpus();
  // -1: the profile says nothing about the count (std::optional trips GCC 12's
  // -Wmaybe-uninitialized here).
  const int expected = profile && profile->gpu.count ? *profile->gpu.count : -1;
  for (const std::string& unreadable : inventory.nvidia_pci->unreadable) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot tell whether a PCI device is a GPU: " + unreadable,
                  {{std::string(kPciSource), unreadable, "a readable vendor id"}});
  }
  for (const PciDevice& device : inventory.nvidia_pci->devices) {
    if (device.class_code == 0 && !device.problems.empty()) {
      MarkUndecided(result, codes::kProbeError, GpuEntity(device.bus_id),
                    "cannot tell whether NVIDIA device " + device.bus_id +
                        " is a GPU: " + device.problems.front(),
                    {{std::string(kPciSource) + "/" + device.bus_id + "/class",
                      device.problems.front(), "a PCI class code"}});
    }
  }

  result.measurements.push_back(GpuCount("pci", static_cast<double>(pci_gpus.size())));
  if (inventory.dev_minors) {
    result.measurements.push_back(
        GpuCount("devnode", static_cast<double>(inventory.dev_minors->size())));
  }
  if (expected >= 0) {
    result.measurements.push_back({"gpus_expected", {}, static_cast<double>(expected)});
  }

  if (pci_gpus.empty() && expected <= 0 && !inventory.HasNvidiaSigns() &&
      result.verdict != ProbeVerdict::kError) {
    MarkSkipped(result, "no NVIDIA GPU on PCI and the profile expects none");
    return result;
  }

  if (nvml) {
    if (nvml->status != platform::NvmlCallStatus::kOk) {
      MarkNvmlTimeout(result, nvml->status, nvml->stuck_in);
    } else if (!nvml->startup.ready()) {
      result.notes.push_back("NVML unavailable (" + DescribeNvmlStartup(nvml->startup) +
                             "): PCI compared with the profile only; gpu_driver reports why");
    } else {
      CompareWithNvml(inventory, pci_gpus, *nvml, result);
    }
  }
  if (expected >= 0) CompareWithProfile(pci_gpus, nvml, profile->gpu, result);
  const bool nvml_listed = nvml && nvml->status == platform::NvmlCallStatus::kOk &&
                           nvml->startup.ready() && nvml->list.count_return == nvml::kSuccess;
  CompareGpuSources(inventory, pci_gpus, nvml_listed ? &nvml->list : nullptr, result);
  FinalizeVerdict(result);
  return result;
}

const ProbeInfo& GpuPresenceProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_presence",
      .kind = ProbeKind::kPassive,
      .summary =
          "GPUs on PCI, in NVML, in the driver and in /dev against each other and the "
          "profile",
      .reads = {"/sys/bus/pci/devices/*/{vendor,device,class}", "/dev/nvidia*",
                "/proc/driver/nvidia/gpus/*/information",
                "NVML: count, handles, PCI info, minor numbers"},
      .codes = {codes::kGpuMissing, codes::kGpuLost, codes::kSourceDisagreement,
                codes::kProbeTimeout, codes::kProbeError},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("gpus", "",
                               "NVIDIA GPUs found, by source: pci (display devices on PCI), nvml "
                               "(NVML's device count), devnode (/dev/nvidia<N>), driver "
                               "(/proc/driver/nvidia/gpus)",
                               {"source"}),
              GaugeMeasurement("gpus_expected", "", "NVIDIA GPUs the node's profile expects"),
          },
      .subject = ProbeSubject::kGpu,
  };
  return kInfo;
}

ProbeResult GpuPresenceProbe::Run(const ProbeContext& context) const {
  const NodeInventory& inventory = context.inventory;
  std::optional<GpuPresenceNvmlView> view;
  const bool expects_gpus = context.profile && context.profile->gpu.count.value_or(0) > 0;
  if (context.nvml != nullptr && (inventory.HasNvidiaSigns() || expects_gpus)) {
    std::vector<std::string> pci_ids;
    for (const PciDevice& device : inventory.PciGpus()) pci_ids.push_back(device.bus_id);
    auto outcome = context.nvml->Run<GpuPresenceNvmlView>(
        context.deadline, [pci_ids](platform::NvmlSession& session) {
          GpuPresenceNvmlView v;
          v.startup = session.startup();
          if (!v.startup.ready()) return v;
          platform::NvmlLibrary& library = *session.library();
          v.list = ListNvmlGpus(library);
          if (v.list.count_return != nvml::kSuccess) return v;
          for (const std::string& bus_id : pci_ids) {
            if (v.list.FindByBusId(bus_id) != nullptr) continue;
            nvml::Device device = nullptr;
            v.pci_lookup[bus_id] = library.DeviceGetHandleByPciBusId(bus_id, &device);
          }
          return v;
        });
    if (outcome.status == platform::NvmlCallStatus::kOk) {
      view = std::move(outcome.value);
    } else {
      view.emplace();
      view->status = outcome.status;
      view->stuck_in = outcome.stuck_in;
    }
  }
  return EvaluateGpuPresence(inventory, context.profile, view);
}

}  // namespace nodehealth

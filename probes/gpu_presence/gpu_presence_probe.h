// gpu_presence: are all the GPUs there?
//
// Checks:  NVIDIA GPUs on PCI (vendor 0x10de, display class; NVSwitch bridges are not GPUs)
//          against NVML's GPUs, the /dev/nvidia<N> nodes and the profile's count and model. A GPU
//          one source sees and another does not is named by its PCI bus id. The remaining
//          mismatches between PCI, NVML, /proc/driver/nvidia/gpus and /dev/nvidia<N> are
//          source_disagreement (rules in source_sets.h).
// Reads:   /sys/bus/pci/devices/*/{vendor,device,class}, /dev, /proc/driver/nvidia/gpus (shared
//          inventory), NVML (count, handle by index and by PCI bus id, PCI info, name, UUID,
//          minor number).
// Findings: gpu_missing, gpu_lost, source_disagreement, probe_timeout, probe_error.
// Measurements: gpus{source=pci|nvml|devnode|driver}, gpus_expected.
// Cost: no file reads of its own; about five NVML calls per GPU.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "probes/gpu_common/gpu_inventory.h"
#include "probes/probe.h"

namespace nodehealth {

// What NVML said, as gathered on the NVML thread.
struct GpuPresenceNvmlView {
  platform::NvmlCallStatus status = platform::NvmlCallStatus::kOk;
  std::string stuck_in;
  platform::NvmlStartup startup;
  NvmlGpuList list;
  // For PCI GPUs absent from `list`: what nvmlDeviceGetHandleByPciBusId returned.
  std::map<std::string, platform::nvml::Return> pci_lookup;
};

// The decision, separated from the gathering so it can be tested on plain values.
ProbeResult EvaluateGpuPresence(const NodeInventory& inventory, const Profile* profile,
                                const std::optional<GpuPresenceNvmlView>& nvml);

class GpuPresenceProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth

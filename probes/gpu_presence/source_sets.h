// source_disagreement for GPUs: the sets of GPUs that PCI, NVML, the nvidia driver's
// /proc/driver/nvidia/gpus and the /dev/nvidia<N> nodes show, against each other.
//
// Rules (each one explainable from the evidence, which lists every source's set):
//  * driver vs PCI: a bus id in /proc/driver/nvidia/gpus that PCI does not show, or a PCI GPU the
//    driver did not register -> entity gpu/<bus id>.
//  * minor numbers: a GPU whose minor number (NVML's, else the driver's) has no /dev/nvidia<N> ->
//    entity gpu/<bus id>. /dev/nvidia<N> nodes that no known GPU owns, against the PCI GPUs whose
//    minor is unknown: when every minor is known the spare nodes are named, otherwise only the
//    counts compare; a difference -> entity node.
//  * A GPU that gpu_missing or gpu_lost already names is not reported again (NVML vs PCI and an
//    NVML GPU without its device node are gpu_missing; see gpu_presence_probe.cc); in the count
//    comparison such a GPU may lack its node, and an NVML index that could not be opened (and is
//    not one of them) may own one.
//  * A source that is absent (NVML not ready, no /proc/driver/nvidia/gpus in a VM) is not
//    compared; the evidence says so when another source disagrees. Without the nvidia module
//    loaded nothing is compared: gpu_driver reports gpu_driver_not_loaded. An incomplete PCI scan
//    (unreadable functions) compares nothing: probe_error already says the probe cannot tell.
#pragma once

#include <vector>

#include "probes/gpu_common/gpu_inventory.h"
#include "probes/gpu_common/node_inventory.h"
#include "probes/probe_result.h"

namespace nodehealth {

// `nvml` is null when NVML's list is not available (not ready, timed out, count failed). Appends
// source_disagreement findings to `result` (after the gpu_missing/gpu_lost checks ran) and the
// measurement gpus{source=driver}.
void CompareGpuSources(const NodeInventory& inventory,
                       const std::vector<platform::PciDevice>& pci_gpus, const NvmlGpuList* nvml,
                       ProbeResult& result);

// "nvidia0..nvidia7 (8)", "nvidia0 nvidia2 (2)", "none (0)": a set of /dev/nvidia<N> minors.
std::string DescribeDevMinors(std::vector<unsigned> minors);

}  // namespace nodehealth

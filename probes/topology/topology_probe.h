// topology: does the node look the way NCCL needs it to, and the way it did before? hwloc's view
// (topology_discovery.h) against the profile and against the node's saved baseline
// (fingerprint.h), plus the kernel's own NUMA lists.
//
// Checks:  CPU NUMA nodes, GPUs and HCAs per NUMA node, each GPU's path class to its nearest HCA
//          (nvidia-smi topo -m terms) against the profile; every difference from the configured
//          baseline; NUMA nodes the kernel lists with overlapping CPUs (a firmware SRAT error) or
//          possible but offline.
// Reads:   hwloc (live, HWLOC_FSROOT = --sysroot, or --topology-xml), /sys/devices/system/node,
//          the baseline file, NVIDIA and Mellanox functions in /sys/bus/pci/devices.
// Findings: topology_mismatch (node, gpu/<bus id>, hca/<name>/1, pci/<bus id>),
//          pcie_link_degraded (a non-GPU device slower than in the baseline),
//          source_disagreement (gpu/<bus id>, hca/<name>/1, pci/<bus id>: hwloc's topology and the
//          PCI scan see different GPUs or InfiniBand functions; see CompareTopologyWithPci),
//          probe_error.
// Measurements: topology_packages, topology_cores, topology_cpu_numa_nodes,
//          topology_devices{kind, numa}, topology_gpu_hca_path_class{gpu, hca} (1 PIX .. 5 SYS),
//          topology_discovery_seconds.
// Cost: hwloc discovery (tens of ms live, see bench/README.md) is cached for an hour per source;
//          the checks themselves take well under a millisecond.
#pragma once

#include <chrono>

#include "probes/gpu_common/node_inventory.h"
#include "probes/platform/pci_devices.h"
#include "probes/probe.h"
#include "probes/topology/topology_model.h"

namespace nodehealth {

// The decision on plain values: `kernel_numa` are the checks of /sys/devices/system/node
// (findings already made), `baseline` the loaded baseline when one is configured.
ProbeResult EvaluateTopology(const topo::Topology& topology, const Profile* profile,
                             const topo::Topology* baseline, const std::string& baseline_path);

// Findings about the kernel's NUMA lists: overlapping CPU lists, possible but offline nodes.
std::vector<Finding> CheckKernelNuma(const platform::FileSystem& fs, bool numa_expected);

// source_disagreement: the GPUs (NVIDIA display controllers) and the Mellanox InfiniBand-class
// functions (0x0207, 0x0c06) of hwloc's topology against the PCI scan of the same tree (the node
// inventory's NVIDIA scan, `mellanox` for the HCAs). A GPU or HCA only one of them shows ->
// entity gpu/<bus id> (an HCA: hca/<name>/1 when hwloc names it, else pci/<bus id>); the evidence
// lists both sets. A scan that failed, has unreadable functions or unclassified devices compares
// nothing for its kind (gpu_presence and ib_ports say why); bus ids in 32-bit PCI domains (Intel
// VMD), which hwloc 2.x leaves out, are not compared; nor is anything when the topology has no
// device at all (hwloc's I/O discovery did not run).
// The probe compares only a topology discovered from the node itself (live or --sysroot): an
// hwloc XML (--topology-xml) describes another moment or machine, and the baseline is compared by
// topology_mismatch instead. A cached discovery that disagrees is redone, and a difference is
// reported only when a PCI scan after the discovery confirms it (a device that came or went
// during the run is not a disagreement of sources).
void CompareTopologyWithPci(const topo::Topology& topology, const NodeInventory& inventory,
                            const Expected<platform::PciScan>& mellanox, ProbeResult& result);

class TopologyProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth

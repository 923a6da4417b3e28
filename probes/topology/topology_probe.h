// topology: does the node look the way NCCL needs it to, and the way it did before? hwloc's view
// (topology_discovery.h) against the profile and against the node's saved baseline
// (fingerprint.h), plus the kernel's own NUMA lists.
//
// Checks:  CPU NUMA nodes, GPUs and HCAs per NUMA node, each GPU's path class to its nearest HCA
//          (nvidia-smi topo -m terms) against the profile; every difference from the configured
//          baseline; NUMA nodes the kernel lists with overlapping CPUs (a firmware SRAT error) or
//          possible but offline.
// Reads:   hwloc (live, HWLOC_FSROOT = --sysroot, or --topology-xml), /sys/devices/system/node,
//          the baseline file.
// Findings: topology_mismatch (node, gpu/<bus id>, hca/<name>/1, pci/<bus id>),
//          pcie_link_degraded (a non-GPU device slower than in the baseline), probe_error.
// Measurements: topology_packages, topology_cores, topology_cpu_numa_nodes,
//          topology_devices{kind, numa}, topology_gpu_hca_path_class{gpu, hca} (1 PIX .. 5 SYS),
//          topology_discovery_seconds.
// Cost: hwloc discovery (tens of ms live, see bench/README.md) is cached for an hour per source;
//          the checks themselves take well under a millisecond.
#pragma once

#include <chrono>

#include "probes/probe.h"
#include "probes/topology/topology_model.h"

namespace nodehealth {

// The decision on plain values: `kernel_numa` are the checks of /sys/devices/system/node
// (findings already made), `baseline` the loaded baseline when one is configured.
ProbeResult EvaluateTopology(const topo::Topology& topology, const Profile* profile,
                             const topo::Topology* baseline, const std::string& baseline_path);

// Findings about the kernel's NUMA lists: overlapping CPU lists, possible but offline nodes.
std::vector<Finding> CheckKernelNuma(const platform::FileSystem& fs, bool numa_expected);

class TopologyProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth

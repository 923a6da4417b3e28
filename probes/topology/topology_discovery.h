// Topology discovery through hwloc 2.x (Debian 12: 2.9) with I/O objects: from the live system,
// from a recorded /sys+/proc tree (hwloc's HWLOC_FSROOT, which --sysroot sets), or from an hwloc
// XML file (--topology-xml). hwloc's GPU-vendor plugins (nvml, cuda, opencl, rsmi, levelzero, gl)
// are turned off: GPUs are recognised by PCI class, and nodehealth talks to NVML itself.
//
// GPU memory that hwloc shows as NUMA nodes (POWER9 + V100, subtype "GPUMemory") is not a CPU
// NUMA node and is left out of numa_nodes.
//
// Thread safety: hwloc reads HWLOC_FSROOT from the environment during the load; DiscoverTopology
// serialises loads behind one mutex and sets the variable only when it differs (main() sets it
// before any thread starts, so a running agent never writes the environment).
#pragma once

#include <cstddef>
#include <string>

#include "probes/topology/topology_model.h"
#include "probes/util/expected.h"

namespace nodehealth::topo {

struct TopologySource {
  std::string fsroot = "/";  // --sysroot
  std::string xml_path;      // --topology-xml; wins over fsroot when set
};

// hwloc's recorded machines are under 400 KB; a node with thousands of CPUs and devices stays far
// below this.
inline constexpr std::size_t kMaxXmlBytes = 64u << 20;

// Error when hwloc cannot load (unreadable XML, XML version too new, broken tree), and when the
// XML is not a regular file, is larger than kMaxXmlBytes or nests deeper than kMaxXmlDepth.
Expected<Topology> DiscoverTopology(const TopologySource& source);

// Sets HWLOC_FSROOT for `sysroot` ("/" clears it). For main(), before threads start.
void PrepareHwlocEnvironment(const std::string& sysroot);

}  // namespace nodehealth::topo

// The topology baseline: a canonical JSON fingerprint of a node (`nodehealth topology save FILE`)
// and the comparison of a later discovery with it. The fingerprint holds what should not change
// on a healthy node: packages, cores, CPU NUMA nodes and distances, and for each GPU, NVSwitch,
// HCA and NVMe its bus id, NUMA node, PCIe path and link, plus each GPU's nearest HCA and path
// class. Keys are sorted and devices ordered by bus id, so two saves of one node are identical.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "probes/probe_result.h"
#include "probes/topology/topology_model.h"
#include "probes/util/expected.h"

namespace nodehealth::topo {

// A fingerprint is about 400 bytes per device: 16 MiB is tens of thousands of devices.
inline constexpr std::size_t kMaxFingerprintBytes = 16u << 20;

std::string WriteFingerprint(const Topology& topology);
// Error names what is wrong ("not a nodehealth topology fingerprint", a missing key, JSON nested
// deeper than kMaxJsonDepth), never an exception.
Expected<Topology> ReadFingerprint(std::string_view text, const std::string& origin);

// One finding per difference: topology_mismatch for placement (a device gone, moved to another
// NUMA node or behind another bridge, a worse GPU-to-HCA path, CPU and NUMA changes),
// pcie_link_degraded for a non-GPU device whose link is slower than in the baseline. A device
// that is new is reported as a warning (nothing was lost). GPU links are not compared: an idle
// GPU lowers its link speed (gpu_health judges GPU links).
std::vector<Finding> CompareWithBaseline(const Topology& baseline, const Topology& current,
                                         const std::string& baseline_path);

}  // namespace nodehealth::topo

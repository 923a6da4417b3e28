// What nodehealth knows about a node's topology: CPU packages, cores, CPU NUMA nodes and their
// distances, and the PCI devices that matter for jobs (GPUs, NVSwitches, HCAs, NVMe) with their
// NUMA locality, PCIe path to the host bridge and link. Built from hwloc (topology_discovery.h) or
// read back from a saved baseline (fingerprint.h); compared by plain code.
//
// Thread safety: value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::topo {

// The path between two PCI devices in the terms of `nvidia-smi topo -m` (and NCCL), best first.
enum class PathClass {
  kSelf = 0,  // X
  kPix = 1,   // at most one PCIe switch (or both devices on one bridge)
  kPxb = 2,   // several PCIe bridges, not through the host bridge
  kPhb = 3,   // through a PCIe host bridge (the CPU's root complex)
  kNode = 4,  // between host bridges within one NUMA node
  kSys = 5,   // across the interconnect between NUMA nodes (UPI, Infinity Fabric, X-Bus)
};
std::string_view ToString(PathClass path);
std::optional<PathClass> ParsePathClass(std::string_view text);  // "PIX", "pix", ...

enum class DeviceKind { kGpu, kNvSwitch, kHca, kNvme };
std::string_view ToString(DeviceKind kind);

struct Device {
  DeviceKind kind = DeviceKind::kGpu;
  std::string bus_id = {};  // "0000:19:00.0"
  uint32_t vendor = 0;
  uint32_t device_id = 0;
  uint32_t class_code = 0;           // 16-bit PCI class: 0x0302 3D controller, 0x0207 InfiniBand
  std::string name = {};             // OS device name: "mlx5_0" for an HCA, "nvme0n1", may be empty
  std::vector<int> numa_nodes = {};  // CPU NUMA nodes (OS indexes) it is local to
  int package = -1;           // CPU package (OS index) it hangs under, -1 when several / none
  std::string cpu_list = {};  // CPUs local to it, "0-47" (nvidia-smi's "CPU Affinity")
  // Bridges from the device up: PCI bridges by bus id, then the host bridge as "host:<domain>:<bus
  // range>". Empty when hwloc shows no bridge (virtual machines, POWER9).
  std::vector<std::string> pci_path = {};
  double link_gbytes_per_second = 0;  // hwloc's linkspeed: generation x width, 0 when unknown
};

struct NumaNode {
  int os_index = 0;
  int cpus = 0;               // PUs
  uint64_t memory_bytes = 0;  // local memory
};

struct Topology {
  int packages = 0;
  int cores = 0;
  int pus = 0;
  std::vector<NumaNode> numa_nodes;  // CPU NUMA nodes only (no GPU or CXL memory nodes)
  std::map<std::pair<int, int>, uint64_t> numa_distances;  // (from, to) OS index -> latency
  std::vector<Device> devices;                             // sorted by bus id
  double discovery_seconds = 0;  // how long hwloc took (0 for a loaded baseline)
  std::string source;            // "live", "fsroot DIR", "xml FILE", "baseline FILE"

  std::vector<const Device*> OfKind(DeviceKind kind) const;
};

// The path class between two devices of one topology.
PathClass ClassifyPath(const Device& a, const Device& b);

// For a GPU: the HCA with the best path class (lowest bus id on ties), or nullptr without HCAs.
struct NearestHca {
  const Device* hca = nullptr;
  PathClass path = PathClass::kSys;
};
NearestHca FindNearestHca(const Topology& topology, const Device& gpu);

// The entity findings use for a device: gpu/<bus id>, hca/<name>/1, pci/<bus id>.
std::string DeviceEntity(const Device& device);

}  // namespace nodehealth::topo

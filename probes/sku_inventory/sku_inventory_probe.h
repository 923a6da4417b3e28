// sku_inventory: is this the machine the profile describes? Memory, CPUs and local NVMe, the
// "SKU inventory" that Azure's NHC checks with check_hw_physmem, check_hw_cpuinfo (LBNL NHC) and
// check_nvme_count. A DIMM the firmware disabled, a VM deployed at the wrong size or an NVMe drive
// that dropped off its bus show here.
//
// Checks:  MemTotal against the profile's memory_kib within memory_tolerance_percent of it;
//          sockets, cores and threads against cpu_sockets, cpu_cores, cpu_threads (each exact);
//          NVMe controllers against nvme_count (a minimum). Keys the profile leaves out are only
//          measured; without a profile the probe measures and passes.
// Counts:  sockets: distinct physical_package_id of the online CPUs; cores: distinct (package,
//          die_id, core_id), since core_id repeats across packages and, on some multi-die parts,
//          across dies; threads: the CPUs in /sys/devices/system/cpu/online. NVMe: every
//          /sys/class/nvme/nvme<N> the kernel registered, whatever its transport (PCIe, a VM's
//          paravirtual or remote disk, NVMe over TCP, RDMA or FC, loop) and state; a multipath
//          subsystem (/sys/class/nvme-subsystem) is not counted apart from its controllers. So a
//          remote NVMe OS disk counts towards the minimum; Azure's check_nvme_count counts the
//          /dev/nvme*n1 namespaces instead and wants an exact number.
// Reads:   /proc/meminfo, /sys/devices/system/cpu/online,
//          /sys/devices/system/cpu/cpu<N>/topology/{physical_package_id,die_id,core_id},
//          /sys/class/nvme.
// Findings: node_memory_mismatch, cpu_count_mismatch, nvme_missing (entity node), probe_error
//          when a value the profile expects cannot be read (missing, malformed, too large);
//          probe_timeout when the deadline passes while reading the CPUs.
// Measurements: node_memory_bytes, node_cpu_sockets, node_cpu_cores, node_cpu_threads,
//          node_nvme_controllers; each only when read.
// Cost: 2 + 3 per online CPU file reads and one directory listing.
//
// Thread safety: Run is const and keeps no state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/probe.h"
#include "probes/sku_inventory/sku_values.h"

namespace nodehealth {

// What could not be read: the node path and why.
struct SkuReadProblem {
  std::string source;
  std::string what;
};

// What the probe read, gathered apart from the judgement so that it can be tested on plain values.
struct SkuFacts {
  std::optional<uint64_t> memory_kib;
  std::optional<SkuReadProblem> memory_problem;

  std::string cpu_online;  // the online list as read, trimmed ("0-95")
  std::optional<int> cpu_threads;
  std::optional<sku::CpuCounts> cpus;  // sockets and cores (and threads again), when all were read
  std::optional<SkuReadProblem> cpu_problem;
  bool timed_out = false;  // the deadline passed while reading the CPUs

  std::optional<std::vector<std::string>> nvme_controllers;  // sorted names
  bool nvme_class_absent = false;  // /sys/class/nvme does not exist: no controller registered
  std::optional<SkuReadProblem> nvme_problem;
};

SkuFacts GatherSkuFacts(const platform::FileSystem& fs, platform::Deadline deadline);

// The findings, measurements and notes for `facts` against `profile` (null: observe-only).
ProbeResult EvaluateSkuInventory(const SkuFacts& facts, const Profile* profile);

class SkuInventoryProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth

// Pure parsers and arithmetic of the sku_inventory probe: MemTotal out of /proc/meminfo, NVMe
// controller names, the CPU counts from per-CPU topology ids, and the memory tolerance band. No
// I/O: tested on inline strings and fuzzed (tests/fuzz/sysfs_values_fuzz.cc). Text they do not
// understand is an Error naming it, never a zero that a comparison would take for a fact.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::sku {

// The largest MemTotal believed, in KiB (1 PiB). Larger is a malformed file, not a machine; the
// bound also keeps MemTotal in bytes far inside uint64_t and exact in a double.
inline constexpr uint64_t kMaxMemTotalKib = uint64_t{1} << 40;

// The "MemTotal:" line of /proc/meminfo ("MemTotal:       15666184 kB") -> 15666184 (KiB; the
// kernel's "kB" is 1024 bytes). An Error when the line is missing, is not "<digits> kB", is 0 or
// is above kMaxMemTotalKib. Only the first MemTotal line counts.
Expected<uint64_t> ParseMemTotalKib(std::string_view meminfo);

// True for the names the kernel gives NVMe controllers in /sys/class/nvme: "nvme" and a decimal
// number ("nvme0", "nvme12"). Anything else there (a future "nvme-fabrics" entry) is not one.
bool IsNvmeControllerName(std::string_view name);

// One online CPU's place, from /sys/devices/system/cpu/cpu<N>/topology.
struct CpuPlace {
  int64_t package = 0;  // physical_package_id (-1 where the platform does not know)
  int64_t die = 0;      // die_id; 0 where the kernel has no such file (before Linux 5.2)
  int64_t core = 0;     // core_id: unique within its package and die only
};

struct CpuCounts {
  int sockets = 0;  // distinct packages
  int cores = 0;    // distinct (package, die, core)
  int threads = 0;  // CPUs given
};

// Counts what LBNL NHC's check_hw_cpuinfo counts from /proc/cpuinfo (sockets, cores and threads
// of the whole node), from the topology ids of the online CPUs.
CpuCounts CountCpus(const std::vector<CpuPlace>& cpus);

// The band MemTotal must fall in: `expected_kib` plus or minus `percent` of it, the tolerance
// rounded down to whole KiB.
struct MemoryBand {
  uint64_t low_kib = 0;
  uint64_t high_kib = 0;
  bool Contains(uint64_t kib) const { return kib >= low_kib && kib <= high_kib; }
};
MemoryBand MemoryBandAround(uint64_t expected_kib, double percent);

}  // namespace nodehealth::sku

// The PCIe AER statistics files in sysfs
// (Documentation/ABI/testing/sysfs-bus-pci-devices-aer_stats, kernel 4.19+), as
// drivers/pci/pcie/aer.c prints them (macro aer_stats_dev_attr, Linux 6.1 and 6.12 alike):
//   aer_dev_correctable, aer_dev_fatal, aer_dev_nonfatal: one "%s %llu\n" line per error kind the
//     kernel names ("RxErr 0", "CmpltTO 2"), "dev_cor_errs_bit[%d] %llu" (resp. dev_fatal_errs_,
//     dev_nonfatal_errs_) for an unnamed bit that counted, then "TOTAL_ERR_COR %llu" (resp.
//     TOTAL_ERR_FATAL, TOTAL_ERR_NONFATAL), the number of error messages.
//   aer_rootport_total_err_cor|fatal|nonfatal (root ports only): "%llu\n".
// The set and spelling of kinds changes with the kernel (4.19-5.x printed "Receiver Error",
// 6.12 added "IDECheck" and others), so kinds are taken by name, never by position: a name runs
// to the last space on its line. Counters count since boot; TOTAL may differ from the sum of the
// kinds (one message may report several errors).
//
// Thread safety: pure functions. Bounded: at most kMaxAerLines lines, names of at most 64 bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probes/util/expected.h"

namespace nodehealth::pcie {

inline constexpr std::size_t kMaxAerLines = 128;  // 6.12 prints at most 33

struct AerKind {
  std::string name;  // "RxErr", "dev_cor_errs_bit[3]"
  uint64_t count = 0;
};

struct AerStats {
  std::vector<AerKind> kinds;  // in file order
  std::string total_name;      // "TOTAL_ERR_COR"
  uint64_t total = 0;
};

// Error (naming the line) for anything that is not that format: no TOTAL_ line, a line after it,
// a value that is not a decimal u64, a name with control characters, too many lines.
Expected<AerStats> ParseAerStats(std::string_view text);

// "0\n" -> 0. A root-port total file.
Expected<uint64_t> ParseAerRootportTotal(std::string_view text);

// The non-zero kinds as "CmpltTO 2, RxErr 1" (empty when none).
std::string DescribeNonZeroKinds(const AerStats& stats);

}  // namespace nodehealth::pcie

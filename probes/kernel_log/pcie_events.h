// PCIe lines in the kernel log: Advanced Error Reporting (AER) and pciehp link up/down. The
// message part (after ParseKernelLogLine removed the timestamp) starts with the device prefix the
// kernel's dev_printk adds, "<driver> <domain:bus:dev.fn>: ", then the subsystem's own prefix.
//
// Forms recognised, from drivers/pci/pcie/aer.c (Linux 6.1, Debian 12; checked against 6.12):
//   "pcieport 0000:00:01.0: AER: Corrected error message received from 0000:01:00.0"
//        aer_print_port_info: "%s%s error message received from %04x:%02x:%02x.%d" (first %s is
//        "Multiple " or ""); kernels before 6.0 print "%s%s error received: %04x:%02x:%02x.%d".
//   "nvidia 0000:1b:00.0: AER: PCIe Bus Error: severity=Corrected, type=Physical Layer,
//        (Receiver ID)"        aer_print_error, printed on the erring device; kernels before 5.0
//        lack the "AER: " prefix (dev_fmt was added then), so it is optional.
//   "nvidia 0000:1b:00.0: AER:    [ 0] RxErr                  (First)"  __aer_print_error: one
//        line per set status bit, "   [%2d] %-22s%s".
// Severity strings: "Corrected", "Uncorrected (Non-Fatal)", "Uncorrected (Fatal)" (6.1, 6.12) and
// the newer spelling "Correctable", "Uncorrectable (Non-Fatal)", "Uncorrectable (Fatal)".
// From drivers/pci/hotplug/pciehp_ctrl.c (6.1), with pciehp.h's dev_fmt "pciehp: ":
//   "pcieport 0000:00:03.0: pciehp: Slot(3): Link Down" / "Slot(3): Link Up"
//
// Newer kernels rate-limit the AER prints (aer.c cor_log_ratelimit), so the log undercounts; the
// sysfs counters (aer_stats.h) are the primary source.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nodehealth::pcie {

enum class AerSeverity { kCorrected, kNonFatal, kFatal };

std::string_view ToString(AerSeverity severity);  // "correctable", "nonfatal", "fatal"

enum class PcieLogKind {
  kAerReceived,  // a root port received an error message; `source` is the erring device
  kAerBusError,  // "PCIe Bus Error: severity=..." on the erring device itself
  kAerErrorBit,  // one "[nn] Name" line after a kAerBusError line of the same device
  kLinkDown,     // pciehp "Slot(N): Link Down"
  kLinkUp,       // pciehp "Slot(N): Link Up"
};

struct PcieLogEvent {
  PcieLogKind kind = PcieLogKind::kAerReceived;
  std::string device;  // normalized bus id of the line's "<driver> <bdf>:" prefix
  std::string source;  // kAerReceived: the erring device's normalized bus id
  AerSeverity severity = AerSeverity::kCorrected;  // kAerReceived, kAerBusError
  bool multiple = false;                           // kAerReceived: "Multiple ..."
  int bit = -1;                                    // kAerErrorBit: 0..31
  std::string name;                                // kAerErrorBit: "RxErr"; kLink*: the slot
};

// Lines longer than this are not parsed (a kernel line is at most 1024 bytes, printk's
// LOG_LINE_MAX / PRINTKRB_RECORD_MAX).
inline constexpr std::size_t kMaxPcieLogMessage = 4096;

// nullopt for any other line, and for garbage. Never throws; bounded work per line.
std::optional<PcieLogEvent> ParsePcieLogEvent(std::string_view message);

}  // namespace nodehealth::pcie

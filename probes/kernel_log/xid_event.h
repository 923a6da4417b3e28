// Recognises NVIDIA GPU error reports in a kernel-log message (after ParseKernelLogLine removed
// the prefixes). Pure; fuzzed by tests/fuzz/kernel_log_fuzz.cc.
//
// Forms accepted (examples from ../shared/fixtures/peer/gpud and the threads cited in the peer
// README, section 3):
//   NVRM: Xid (PCI:0000:19:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable ...
//   NVRM: Xid (PCI:0000:9b:00): 119, pid=2024380, name=nvidia-smi, Timeout after 6s ...
//   NVRM: Xid (PCI:0000:b3:00.0): 79, pid=..., GPU has fallen off the bus.
//   NVRM: Xid (0000:01:00): 31, Ch 0000005a, intr 10000000 ...   (old drivers: no "PCI:", no pid)
//   NVRM: Xid (PCI:0019:01:00): 149, ...                          (non-zero PCI domain, GB200)
//   NVRM: The NVIDIA GPU 0000:b3:00.0 (PCI ID: 10de:26b5) installed in this system has fallen
//         off the bus and is not responding to commands.            (no XID: counted as 79)
//   NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.            (open kernel modules)
// NVSwitch "SXid" lines are not GPU XIDs and are not matched.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nodehealth {

inline constexpr int kXidFallenOffBus = 79;

struct XidEvent {
  std::string bus_id;  // normalised "0000:19:00.0"; empty when the line names no GPU
  int xid = 0;
  bool fallen_off_bus_report = false;  // the XID-less "fallen off the bus" message
  std::optional<long> pid;             // absent for '<unknown>' and old formats
  std::string process;                 // empty for <unknown>
  std::string_view detail;             // the text after the XID header (views the message)
};

std::optional<XidEvent> ParseXidMessage(std::string_view message);

// XID 154 "GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)": the new
// action code (0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset).
std::optional<unsigned> ParseRecoveryActionChange(std::string_view detail);

// NVLink5 XIDs 144-150 carry a severity word ("Fatal" / "Nonfatal"): true when fatal.
std::optional<bool> ParseNvlinkFatal(std::string_view detail);

}  // namespace nodehealth

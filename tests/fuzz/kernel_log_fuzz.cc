// Kernel-log lines and the XID parsers behind them. Checks invariants as well as crashes: views
// stay inside the input, parsed bus ids are normalised.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/pcie_events.h"
#include "probes/kernel_log/xid_catalog.h"
#include "probes/kernel_log/xid_event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const nodehealth::KernelLogLine line = nodehealth::ParseKernelLogLine(input);
  if (!line.message.empty() &&
      (line.message.data() < input.data() ||
       line.message.data() + line.message.size() > input.data() + input.size())) {
    std::abort();  // the message must view the input
  }
  if (auto event = nodehealth::ParseXidMessage(line.message)) {
    if (event->xid <= 0) std::abort();
    if (!event->bus_id.empty() && event->bus_id.size() != 12 && event->bus_id.size() != 16) {
      std::abort();
    }
    nodehealth::ClassifyXid(event->xid, event->detail, true);
    nodehealth::ParseRecoveryActionChange(event->detail);
    nodehealth::ParseNvlinkFatal(event->detail);
  }
  if (auto pcie = nodehealth::pcie::ParsePcieLogEvent(line.message)) {
    // Bus ids come out normalised ("0000:17:01.0") or empty; error bits are 0..31.
    if (!pcie->device.empty() && pcie->device.size() != 12) std::abort();
    if (!pcie->source.empty() && pcie->source.size() != 12) std::abort();
    if (pcie->kind == nodehealth::pcie::PcieLogKind::kAerErrorBit &&
        (pcie->bit < 0 || pcie->bit > 31)) {
      std::abort();
    }
  }
  return 0;
}

// gpu_xid: XID errors the NVIDIA driver wrote to the kernel log since boot.
//
// Checks:  every XID line (all formats in kernel_log_line.h / xid_event.h) and the XID-less
//          "fallen off the bus" report (counted as XID 79), per GPU and XID, classified with
//          NVIDIA's XID catalogue (xid_catalog.h): application faults (13, 31, 43, ...) do not
//          drain; 48, 62, 64, 74, 79, 95, 109, 119, 120, 154 ... act as the catalogue says.
// Reads:   /dev/kmsg from its first record (or DIR/dev/kmsg under --sysroot, a regular file).
// Findings: gpu_xid (one per GPU and XID, with the count and the first and last line),
//          probe_error (log unreadable), probe_timeout (log not read to the end in time).
// Measurements: gpu_xid_events_total{gpu, xid}, kernel_log_lines, kernel_log_sequence_gaps.
// Cost: one pass over the kernel ring buffer (typically under 1 MB); lines without "NVRM" are
//          rejected with one substring search.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "probes/action.h"
#include "probes/probe.h"

namespace nodehealth {

// XID occurrences gathered from log lines: pure, so tests can feed lines directly.
class XidTally {
 public:
  // Feeds one raw log line (any supported format).
  void AddLine(std::string_view line);

  struct Entry {
    std::string bus_id;  // empty when the line names no GPU
    int xid = 0;
    uint64_t count = 0;
    std::string first_line;
    std::string last_line;
    std::string last_detail;  // XID 154 acts on its latest occurrence
    Action worst_action = Action::kNone;
    std::string worst_reason;
    bool fallen_off_bus_report = false;
  };

  // Keyed by (bus id, XID).
  const std::map<std::pair<std::string, int>, Entry>& entries() const { return entries_; }
  uint64_t lines() const { return lines_; }
  uint64_t sequence_gaps() const { return sequence_gaps_; }

 private:
  std::map<std::pair<std::string, int>, Entry> entries_;
  uint64_t lines_ = 0;
  uint64_t sequence_gaps_ = 0;
  std::optional<uint64_t> last_sequence_;
};

// Findings and measurements from a finished tally.
void ReportXids(const XidTally& tally, std::string_view source, ProbeResult& result);

class GpuXidProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
};

}  // namespace nodehealth

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
// The tally and its findings live in kernel_log/xid_tally.h, shared with the agent's kernel-log
// watch, whose tally this probe judges in the agent (AgentSource::kKernelLogWatch,
// FromKernelLogWatch) instead of reading the log each round.
// Cost: one pass over the kernel ring buffer (typically under 1 MB); lines without "NVRM" are
//          rejected with one substring search.
#pragma once

#include "probes/kernel_log/xid_tally.h"
#include "probes/probe.h"

namespace nodehealth {

class GpuXidProbe final : public Probe {
 public:
  const ProbeInfo& info() const override;
  ProbeResult Run(const ProbeContext& context) const override;
  // The agent's result: the same findings from the watch's tally; not followed is probe_error.
  ProbeResult FromKernelLogWatch(const KernelLogWatchState& watch, const Profile* profile,
                                 const NodeInventory& inventory) const override;
};

}  // namespace nodehealth

#include "probes/gpu_xid/gpu_xid_probe.h"

#include <set>

#include "probes/entity.h"
#include "probes/finding_catalog.h"
#include "probes/gpu_common/node_inventory.h"
#include "probes/kernel_log/kernel_log_line.h"
#include "probes/kernel_log/xid_catalog.h"
#include "probes/kernel_log/xid_event.h"
#include "probes/platform/kernel_log_source.h"
#include "probes/util/text.h"

namespace nodehealth {

const ProbeInfo& GpuXidProbe::info() const {
  static const ProbeInfo kInfo{
      .name = "gpu_xid",
      .kind = ProbeKind::kPassive,
      .summary = "XID errors in the kernel log since boot, classified by NVIDIA's XID catalogue",
      .reads = {"/dev/kmsg"},
      .codes = {codes::kGpuXid, codes::kProbeError, codes::kProbeTimeout},
      .timeout = std::chrono::seconds(10),
      .measurements =
          {
              GaugeMeasurement("kernel_log_lines", "", "kernel log records read for XIDs"),
              GaugeMeasurement("kernel_log_sequence_gaps", "",
                               "gaps in the kernel log's record numbers: records lost before they "
                               "were read"),
              CounterMeasurement("gpu_xid_events_total", "",
                                 "NVIDIA XID events in the kernel log this boot, by GPU and XID",
                                 {"gpu", "xid"}),
          },
      .subject = ProbeSubject::kGpu,
      .agent_source = AgentSource::kKernelLogWatch,
  };
  return kInfo;
}

namespace {

constexpr const char* kNoGpuHere =
    "no NVIDIA GPU or driver on this node and the profile expects none";

bool ExpectsGpus(const Profile* profile) {
  return profile != nullptr && profile->gpu.count.value_or(0) > 0;
}

}  // namespace

ProbeResult GpuXidProbe::Run(const ProbeContext& context) const {
  ProbeResult result;
  result.name = "gpu_xid";
  if (!context.inventory.HasNvidiaSigns() && !ExpectsGpus(context.profile)) {
    MarkSkipped(result, kNoGpuHere);
    return result;
  }
  XidTally tally;
  Expected<platform::KernelLogStats> stats = platform::ReadKernelLog(
      context.fs, context.deadline, [&tally](std::string_view line) { tally.AddLine(line); });
  if (!stats) {
    MarkUndecided(result, codes::kProbeError, "node",
                  "cannot read the kernel log: " + stats.error().message,
                  {{"/dev/kmsg", stats.error().message, "readable"}});
    return result;
  }
  // Evidence names the node's path; under --sysroot the file read lives elsewhere on the host.
  ReportXids(tally, "/dev/kmsg", result);
  if (stats->overwritten > 0) {
    result.notes.push_back(std::to_string(stats->overwritten) +
                           " kernel log records were overwritten while reading");
  }
  if (tally.sequence_gaps() > 0) {
    result.notes.push_back("the kernel log has " + std::to_string(tally.sequence_gaps()) +
                           " sequence gaps (records lost to ring-buffer wrap)");
  }
  if (!stats->complete) {
    MarkUndecided(result, codes::kProbeTimeout, "node",
                  "the kernel log was not read to the end before the deadline (" +
                      std::to_string(tally.lines()) + " lines read)");
    return result;
  }
  FinalizeVerdict(result);
  return result;
}

ProbeResult GpuXidProbe::FromKernelLogWatch(const KernelLogWatchState& watch,
                                            const Profile* profile,
                                            const NodeInventory& inventory) const {
  ProbeResult result;
  // An XID in the log says there is a GPU, whatever the inventory saw at start.
  if (watch.tally.entries().empty() && !inventory.HasNvidiaSigns() && !ExpectsGpus(profile)) {
    MarkSkipped(result, kNoGpuHere);
    return result;
  }
  ReportXids(watch.tally, "/dev/kmsg", result);
  if (!watch.following) {
    const std::string why = watch.error.empty() ? "cannot follow the kernel log" : watch.error;
    MarkUndecided(result, codes::kProbeError, "node", why,
                  {{"/dev/kmsg", why, "the kernel's records since boot"}});
    return result;
  }
  if (watch.overwritten > 0) {
    result.notes.push_back(std::to_string(watch.overwritten) +
                           " kernel log records were overwritten before they were read");
  }
  FinalizeVerdict(result);
  return result;
}

}  // namespace nodehealth
